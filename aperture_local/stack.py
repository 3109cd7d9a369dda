"""The local stack: moto's server, the template's resources in it, and every function wired."""

from __future__ import annotations

import logging
import os
import sys
import urllib.request
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import moto.backends as moto_backends
from moto.server import ThreadedMotoServer

from aperture.core.aws import client
from aperture.core.config import settings
from aperture.core.identity import DEV_SIGNING_KEY, generate_dev_signing_key
from aperture.core.tables import rebind

from . import wakeups
from .endpoint import check as check_endpoint
from .faithful import serialize_dynamodb_writes
from .faults import FaultInjector, FaultPlan
from .provision import ACCOUNT_ID, Stack
from .runtime import InvocationLog, LocalFunction
from .sources import (
    OneTimeSchedules,
    RateSchedule,
    SqsMapping,
    StreamMapping,
    TtlDeletions,
    TtlEmulator,
    Worker,
)
from .template import Template

ROOT = Path(__file__).resolve().parent.parent
REGION = "us-east-1"

# What every process talking to the local stack needs: moto's endpoint and fake credentials.
LOCAL_ENVIRONMENT = {
    "AWS_DEFAULT_REGION": REGION,
    "AWS_REGION": REGION,
    "AWS_ACCESS_KEY_ID": "local",
    "AWS_SECRET_ACCESS_KEY": "local",
    "AWS_ACCOUNT_ID_ENDPOINT_MODE": "disabled",
    "POWERTOOLS_TRACE_DISABLED": "true",
    "POWERTOOLS_METRICS_DISABLED": "true",
}


# No Rekognition locally: moderation runs on the PDQ blocklist alone (see aperture.moderation.checks).
LOCAL_PARAMETERS = {"ModerationClassifier": "hash-only"}


def local_identity() -> dict[str, str]:
    """Stands in for the template's Cognito user pool: an issuer whose key is made at start."""
    return {
        "AUTH_ISSUER": "https://aperture.local/dev-issuer",
        "AUTH_AUDIENCE": "aperture-local",
        DEV_SIGNING_KEY: generate_dev_signing_key(),
    }


class ConfigurationError(RuntimeError):
    pass


def use_endpoint(endpoint: str, environment: dict[str, str] | None = None) -> None:
    """Point this process's AWS clients, and the functions' settings, at the local stack."""
    os.environ.update(LOCAL_ENVIRONMENT)
    os.environ["AWS_ENDPOINT_URL"] = endpoint
    os.environ.update(environment or {})
    rebind()
    settings.cache_clear()


def _list_backends_once() -> None:
    """moto's server finds each request's backend under one lock, first asking whether the host
    names one of its packages by listing its own folder and stat-ing all 170 entries: 0.8 ms of
    system calls a request, every request serialised behind them. The folder does not change."""
    names = frozenset(moto_backends.list_of_moto_modules())
    moto_backends.list_of_moto_modules = lambda: names


class LocalStack:
    def __init__(
        self,
        template_path: Path = ROOT / "template.yaml",
        *,
        parameters: dict[str, str] | None = None,
        stack_name: str = "aperture-local",
        moto_port: int = 0,
        endpoint: str | None = None,
        event_sources: bool = True,
        faults: FaultPlan | None = None,
    ) -> None:
        """``endpoint``: provision into an AWS-compatible endpoint already running instead of
        starting moto here; the functions, event sources, TTL and schedules still run here.
        ``faults``: inject them (see ``faults``); none by default."""
        self.template = Template(template_path, parameters, local_defaults=LOCAL_PARAMETERS)
        self.stack_name = stack_name
        self.moto_port = moto_port
        self.external_endpoint = endpoint.rstrip("/") if endpoint else None
        self.event_sources = event_sources
        self.log = InvocationLog()
        self.functions: dict[str, LocalFunction] = {}
        self.workers: list[Worker] = []
        self.ttl: TtlEmulator | None = None
        self.environment: dict[str, str] = {}
        self._moto: ThreadedMotoServer | None = None
        self.faults = FaultInjector(faults) if faults else None

    # ---------------------------------------------------------------- lifecycle
    def start(self) -> LocalStack:
        if self.external_endpoint:
            os.environ.update(LOCAL_ENVIRONMENT)  # credentials and region for the probes
            account_id = check_endpoint(self.external_endpoint, REGION)
            self.endpoint = self.external_endpoint
            use_endpoint(self.endpoint)
        else:
            self.endpoint = self._start_moto()
            use_endpoint(self.endpoint)
            account_id = ACCOUNT_ID
        self.stack = Stack(self.template, self.stack_name, REGION, account_id).create()
        self.environment = self._resolve_environment()
        use_endpoint(self.endpoint, self.environment)
        for path in [*self.template.layer_paths()]:
            if str(path) not in sys.path:
                sys.path.insert(0, str(path))
        for spec in self.template.functions():
            function = LocalFunction(
                spec,
                self.stack.function_arn(spec.logical_id),
                self.stack.function_name(spec.logical_id),
                self.log,
            )
            function.load()  # a broken handler fails the start, not the first event
            function.faults = self.faults
            self.functions[spec.short_name] = function
        if self.faults:
            self.faults.install()
        if self.event_sources:
            self._wire()
            for worker in self.workers:
                worker.start()
        return self

    def _start_moto(self) -> str:
        logging.getLogger("werkzeug").setLevel(logging.WARNING)  # moto's per-request access log
        serialize_dynamodb_writes()
        wakeups.install()
        _list_backends_once()
        self._moto = ThreadedMotoServer(ip_address="127.0.0.1", port=self.moto_port, verbose=False)
        self._moto.start()
        host, port = self._moto.get_host_and_port()
        return f"http://{host}:{port}"

    def stop(self) -> None:
        for worker in self.workers:
            worker.stop()
        for worker in self.workers:
            worker.join(timeout=5)
        if self.faults:
            self.faults.uninstall()
        if self.external_endpoint and hasattr(self, "stack"):
            self.stack.delete()  # the endpoint is someone else's: leave it as it was
        if self._moto is not None:
            # moto's state is per process, not per server: leave nothing to the next stack.
            urllib.request.urlopen(
                urllib.request.Request(f"{self.endpoint}/moto-api/reset", method="POST")
            ).close()
            self._moto.stop()
            self._moto = None

    def __enter__(self) -> LocalStack:
        return self.start()

    def __exit__(self, *_: Any) -> None:
        self.stop()

    # ---------------------------------------------------------------- wiring
    def _resolve_environment(self) -> dict[str, str]:
        """Every function's variables, resolved; one name means one value stack-wide.

        All functions share this process's environment locally, so two functions giving one
        variable different values would silently see the wrong one: that is refused.
        """
        # moto's Cognito stands in for the pool's users, which an account's deletion deletes.
        pool = client("cognito-idp").create_user_pool(PoolName=self.stack_name)["UserPool"]["Id"]
        overrides = local_identity() | {"USER_POOL_ID": pool}
        merged: dict[str, str] = dict(overrides)
        for spec in self.template.functions():
            for name, expression in spec.environment.items():
                value = overrides[name] if name in overrides else str(self.stack.resolve(expression))
                if merged.setdefault(name, value) != value:
                    raise ConfigurationError(
                        f"{spec.logical_id} sets {name}={value!r} but another function sets {merged[name]!r}"
                    )
        return merged

    def _wire(self) -> None:
        woken = self._moto is not None  # moto in this process wakes the queue and stream pollers
        deletions = TtlDeletions()
        ttl_tables = {
            self.stack.physical_ids[logical_id]: props["TimeToLiveSpecification"]["AttributeName"]
            for logical_id, props in self.template.resource_properties("AWS::DynamoDB::Table").items()
            if props.get("TimeToLiveSpecification", {}).get("Enabled")
        }
        self.ttl = TtlEmulator(ttl_tables, deletions)
        self.workers.append(self.ttl)
        for function in self.functions.values():
            for source in function.spec.events:
                props = source.properties
                if source.type == "SQS":
                    self.workers.append(
                        SqsMapping(
                            function,
                            self.stack.resolve(props["Queue"]),
                            self.stack.resolve(props),
                            woken=woken,
                        )
                    )
                elif source.type == "DynamoDB":
                    on_failure = props.get("DestinationConfig", {}).get("OnFailure", {}).get("Destination")
                    self.workers.append(
                        StreamMapping(
                            function,
                            self.stack.resolve(props["Stream"]),
                            props,
                            deletions,
                            self.stack.resolve(on_failure) if on_failure else None,
                            woken=woken,
                        )
                    )
                elif source.type in ("Schedule", "ScheduleV2"):
                    expression = props.get("Schedule") or props["ScheduleExpression"]
                    self.workers.append(RateSchedule(function, source.name, expression))
        self.workers.append(OneTimeSchedules({f.arn: f for f in self.functions.values()}))

    # ---------------------------------------------------------------- what tests and tools ask
    def function(self, name: str) -> LocalFunction:
        """A function by its folder name (``media_router``) or logical id (``MediaRouterFunction``)."""
        for function in self.functions.values():
            if name in (function.spec.short_name, function.spec.logical_id):
                return function
        raise KeyError(f"no function {name!r}; the template has {', '.join(sorted(self.functions))}")

    def worker(self, name: str) -> Worker:
        return next(worker for worker in self.workers if worker.name == name)

    @contextmanager
    def paused(self, *prefixes: str) -> Iterator[None]:
        """Hold back every worker whose name starts with one of ``prefixes`` for the block."""
        with ExitStack() as held:
            for worker in self.workers:
                if worker.name.startswith(prefixes):
                    held.enter_context(worker.paused())
            yield

    def physical_id(self, logical_id: str) -> str:
        return self.stack.ref(logical_id)

    def api_cors(self) -> dict[str, str]:
        """The preflight answer API Gateway gives from the template's Api Cors (its values are
        quoted header literals there)."""
        apis = self.template.resource_properties("AWS::Serverless::Api")
        cors = self.stack.resolve(next(iter(apis.values())).get("Cors", {}))
        names = {
            "AllowOrigin": "Access-Control-Allow-Origin",
            "AllowHeaders": "Access-Control-Allow-Headers",
            "AllowMethods": "Access-Control-Allow-Methods",
            "MaxAge": "Access-Control-Max-Age",
        }
        return {names[name]: value.strip("'") for name, value in cors.items()}

    def api_function(self) -> LocalFunction:
        return next(f for f in self.functions.values() if any(e.type == "Api" for e in f.spec.events))

    def resource_counts(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for resource in client("cloudformation").describe_stack_resources(StackName=self.stack_name)[
            "StackResources"
        ]:
            counts[resource["ResourceType"]] = counts.get(resource["ResourceType"], 0) + 1
        return counts
