"""Fault injection for the local stack: what AWS does to functions, which a quiet laptop never does.

Off unless asked for (``pipenv run local --faults FILE``, or ``LocalStack(faults=plan)``). A plan is
JSON, for example::

    {"seed": 7, "visibility_scale": 0.02,
     "functions": {"image_processor": {"errors": 0.2, "kills": 0.02, "duplicates": 0.05}},
     "outages": [{"dependency": "classifier", "starts_after": 30, "seconds": 120}]}

Per function, a share of invocations that
- **error**: one of its AWS calls fails as a dropped connection does (a Python exception the code
  sees and retries);
- are **killed**: it stops at one of its AWS calls and never returns, as a Lambda timeout or an
  out-of-memory kill does. Nothing after that point runs, not even ``finally`` blocks' AWS calls;
  the batch is not acknowledged and comes back after its queue's visibility timeout, shortened by
  ``visibility_scale`` so a local run drains in minutes;
- and a share of SQS messages **delivered twice**, as SQS's at-least-once delivery may.

Outages fail every call to a dependency for a window of wall time: ``dynamodb`` (throttling, as
on a hot partition) or ``classifier`` (the moderation classifier: Rekognition, or locally the
hash-only stand-in). Counts of what was injected are kept for the soak benchmark.
"""

from __future__ import annotations

import random
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

from botocore.exceptions import ClientError, EndpointConnectionError
from pydantic import BaseModel, ConfigDict, Field

from aperture.core.aws import client
from aperture.moderation import checks

SERVICES = ("dynamodb", "s3", "sqs", "scheduler", "cloudfront", "rekognition")


class FunctionFaults(BaseModel):
    model_config = ConfigDict(extra="forbid")
    errors: float = Field(default=0.0, ge=0.0, le=1.0)
    kills: float = Field(default=0.0, ge=0.0, le=1.0)
    duplicates: float = Field(default=0.0, ge=0.0, le=1.0)


class Outage(BaseModel):
    model_config = ConfigDict(extra="forbid")
    dependency: Literal["dynamodb", "classifier"]
    starts_after: float = Field(ge=0.0, description="seconds after the stack starts")
    seconds: float = Field(gt=0.0)


class FaultPlan(BaseModel):
    model_config = ConfigDict(extra="forbid")
    seed: int = 0
    visibility_scale: float = Field(default=1.0, gt=0.0, le=1.0)
    functions: dict[str, FunctionFaults] = {}
    outages: list[Outage] = []

    @classmethod
    def load(cls, path: Path) -> FaultPlan:
        return cls.model_validate_json(path.read_text())


class Killed(BaseException):
    """The invocation stopped where it stood: Lambda's timeout or out-of-memory kill."""


@dataclass
class _Fate:
    kind: Literal["error", "kill"]
    at_call: int  # the AWS call, counting from 1, at which it strikes
    calls: int = 0


_fate: ContextVar[_Fate | None] = ContextVar("fault_fate", default=None)


class FaultInjector:
    def __init__(self, plan: FaultPlan) -> None:
        self.plan = plan
        self.injected: Counter[str] = Counter()
        self._random = random.Random(plan.seed)
        self._lock = threading.Lock()
        self._started = time.monotonic()
        self._classifiers: dict[str, type[checks.Classifier]] = {}

    def install(self) -> None:
        """Hook this process's AWS clients and the classifier port, until ``uninstall``."""
        for service in SERVICES:
            client(service).meta.events.register("before-call.*.*", self._before_call, unique_id="faults")
        self._classifiers = dict(checks.CLASSIFIERS)
        for name, port in self._classifiers.items():
            checks.CLASSIFIERS[name] = _outage_aware(port, self)

    def uninstall(self) -> None:
        for service in SERVICES:
            client(service).meta.events.unregister("before-call.*.*", unique_id="faults")
        checks.CLASSIFIERS.update(self._classifiers)

    def _roll(self, share: float) -> bool:
        with self._lock:
            return share > 0 and self._random.random() < share

    @contextmanager
    def invocation(self, function: str) -> Iterator[None]:
        """Decide this invocation's fate, and let its AWS calls meet it."""
        faults = self.plan.functions.get(function)
        fate = None
        if faults and self._roll(faults.kills):
            fate = _Fate("kill", at_call=self._random.randint(1, 4))
        elif faults and self._roll(faults.errors):
            fate = _Fate("error", at_call=self._random.randint(1, 4))
        token = _fate.set(fate)
        try:
            yield
        finally:
            _fate.reset(token)

    def duplicate(self, function: str) -> bool:
        faults = self.plan.functions.get(function)
        hit = bool(faults and self._roll(faults.duplicates))
        if hit:
            self._count("duplicates")
        return hit

    def out(self, dependency: str) -> bool:
        elapsed = time.monotonic() - self._started
        return any(
            o.dependency == dependency and o.starts_after <= elapsed < o.starts_after + o.seconds
            for o in self.plan.outages
        )

    def _count(self, what: str) -> None:
        with self._lock:
            self.injected[what] += 1

    def _before_call(self, model: Any, **_: Any) -> None:
        if model.service_model.service_name == "dynamodb" and self.out("dynamodb"):
            self._count("dynamodb_throttles")
            raise ClientError(
                {"Error": {"Code": "ThrottlingException", "Message": "injected: DynamoDB is throttling"}},
                model.name,
            )
        fate = _fate.get()
        if fate is None:
            return
        fate.calls += 1
        if fate.calls != fate.at_call:
            return
        _fate.set(None)  # one fault per invocation
        if fate.kind == "kill":
            self._count("kills")
            raise Killed(f"killed at {model.service_model.service_name}.{model.name}")
        self._count("errors")
        raise EndpointConnectionError(endpoint_url="injected: the connection dropped")


class _OutageAware:
    """A classifier that is down while a ``classifier`` outage lasts."""

    injector: FaultInjector
    inner: type[checks.Classifier]

    def labels(self, image: bytes) -> list[dict[str, Any]]:
        if self.injector.out("classifier"):
            self.injector._count("classifier_outage_calls")
            raise ConnectionError("injected: the classifier is down")
        return self.inner().labels(image)


def _outage_aware(port: type[checks.Classifier], injector: FaultInjector) -> type[checks.Classifier]:
    return type(f"OutageAware{port.__name__}", (_OutageAware,), {"injector": injector, "inner": port})
