"""The HTTP API: a Chalice app, which is also the api function's Lambda handler (``app.app``)."""

from __future__ import annotations

from typing import Any

from aws_lambda_powertools.metrics import MetricUnit
from chalice.app import Chalice

from aperture import clock
from aperture.observability import powertools

logger, tracer, metrics = powertools("api")
app = Chalice(app_name="aperture")


@app.middleware("http")
def observe(event: Any, get_response: Any) -> Any:
    """Correlate every log line with the API Gateway request id and count responses by class."""
    logger.set_correlation_id(event.context.get("requestId"))
    with tracer.provider.in_subsegment(f"## {event.method} {event.path}"):
        response = get_response(event)
    metrics.add_metric(name=f"Http{response.status_code // 100}xx", unit=MetricUnit.Count, value=1)
    metrics.flush_metrics()
    logger.info("request", extra={"method": event.method, "path": event.path, "status": response.status_code})
    return response


@app.route("/health")
def health() -> dict[str, Any]:
    return {"status": "ok", "server_time": clock.now()}
