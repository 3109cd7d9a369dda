"""``pipenv run local --endpoint URL``: the stack provisioned into a moto server someone else runs.

The moto server is a separate process here, as LocalStack or a shared moto would be; the functions,
event sources, TTL and schedule emulation still run in this process.
"""

from __future__ import annotations

import http.server
import threading
from collections.abc import Iterator

import pytest

from aperture.core.aws import client
from aperture_local.__main__ import main
from aperture_local.endpoint import EndpointError
from aperture_local.motoserver import free_port, moto_server_process
from aperture_local.stack import LocalStack
from tests.e2e.conftest import ApiStack, serving

# The same end-to-end upload test the embedded stack passes, collected here with this module's `api`
from tests.e2e.test_image_pipeline import (  # noqa: F401
    test_an_uploaded_photo_becomes_ready_with_every_rendition_on_the_cdn_bucket,
)

pytestmark = pytest.mark.slow(seconds=35)


@pytest.fixture(scope="module")
def moto_server() -> Iterator[str]:
    with moto_server_process() as url:
        yield url


@pytest.fixture(scope="module")
def api(moto_server: str) -> Iterator[ApiStack]:
    with LocalStack(endpoint=moto_server, stack_name="aperture-external") as stack, serving(stack) as served:
        yield served


def test_the_stack_lives_in_the_external_server_and_leaves_with_stop(moto_server: str) -> None:
    # Given a second stack started against the external server (its own stage: bucket names are global)
    visit = LocalStack(
        endpoint=moto_server, stack_name="aperture-visit", parameters={"Stage": "visit"}, event_sources=False
    )
    with visit as stack:
        # Then its tables are the external server's
        assert stack.endpoint == moto_server
        assert stack.environment["MEDIA_TABLE"] in client("dynamodb").list_tables()["TableNames"]
    # And when it stops, its CloudFormation stack is deleted from the server it borrowed
    statuses = {
        summary["StackName"]: summary["StackStatus"]
        for summary in client("cloudformation").list_stacks()["StackSummaries"]
    }
    assert statuses["aperture-visit"] == "DELETE_COMPLETE"


def test_an_unreachable_endpoint_is_named_and_the_command_exits_non_zero(
    capsys: pytest.CaptureFixture[str],
) -> None:
    # Given nothing listening on a port
    url = f"http://127.0.0.1:{free_port()}"

    # When the stack is started against it, then it says nothing answers there
    with pytest.raises(EndpointError, match=f"nothing answers at {url}"):
        LocalStack(endpoint=url).start()
    # And the command exits 2 with that message
    assert main(["--endpoint", url, "--port", "0"]) == 2
    assert f"nothing answers at {url}" in capsys.readouterr().err


class _NotAws(http.server.BaseHTTPRequestHandler):
    """Answers every request 404, as a web server that is not an AWS endpoint would."""

    def do_POST(self) -> None:
        self.send_response(404)
        self.send_header("Content-Length", "0")
        self.end_headers()

    do_GET = do_POST

    def log_message(self, *_: object) -> None:
        pass


def test_a_half_capable_endpoint_is_refused_with_each_service_it_lacks() -> None:
    # Given an HTTP server that answers, but no AWS API
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _NotAws)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"
    try:
        # When the stack is started against it, then every service it needs is named as missing
        with pytest.raises(EndpointError) as refused:
            LocalStack(endpoint=url).start()
    finally:
        server.shutdown()
    message = str(refused.value)
    assert message.startswith(f"{url} lacks what the local stack needs:")
    for call in (
        "sts get_caller_identity",
        "cloudformation list_stacks",
        "dynamodb list_tables",
        "sqs list_queues",
    ):
        assert call in message
