"""Runs a function's handler in-process, the way Lambda runs it in an execution environment."""

from __future__ import annotations

import importlib.util
import sys
import threading
import time
import uuid
from collections import deque
from contextlib import nullcontext
from dataclasses import dataclass, field
from pathlib import Path
from types import ModuleType
from typing import Any

from .faults import FaultInjector, Killed
from .template import FunctionSpec


class FunctionError(RuntimeError):
    """The handler raised: Lambda reports this as a function error to whatever invoked it."""


class FunctionKilled(FunctionError):
    """The invocation never returned (an injected kill: a timeout or out of memory in Lambda)."""


@dataclass
class LambdaContext:
    function_name: str
    function_version: str
    invoked_function_arn: str
    memory_limit_in_mb: int
    aws_request_id: str
    log_group_name: str
    log_stream_name: str
    deadline: float

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self.deadline - time.monotonic()) * 1000))


@dataclass(frozen=True)
class Invocation:
    function: str
    source: str
    event: Any
    response: Any
    error: str | None
    duration_ms: float
    finished_at: float = field(default_factory=time.monotonic)


class InvocationLog:
    """What each function was invoked with and what it answered: the local CloudWatch Logs."""

    def __init__(self, capacity: int = 10_000) -> None:
        self._entries: deque[Invocation] = deque(maxlen=capacity)
        self._lock = threading.Lock()

    def record(self, invocation: Invocation) -> None:
        with self._lock:
            self._entries.append(invocation)

    def of(self, function: str) -> list[Invocation]:
        with self._lock:
            return [entry for entry in self._entries if entry.function == function]


class LocalFunction:
    """One function of the template; invocations are serialised, as in one execution environment."""

    def __init__(self, spec: FunctionSpec, arn: str, name: str, log: InvocationLog) -> None:
        self.spec = spec
        self.arn = arn
        self.name = name
        self._log = log
        self._lock = threading.Lock()
        self._module: ModuleType | None = None
        self.faults: FaultInjector | None = None  # set by the stack when faults are injected

    def load(self) -> Any:
        """Import the handler's module (once) and return the handler."""
        module_file, _, attribute = self.spec.handler.rpartition(".")
        if self._module is None:
            path = self.spec.code_uri / f"{module_file.replace('.', '/')}.py"
            self._module = _import(path, self.spec.logical_id)
        return getattr(self._module, attribute)

    @property
    def handler(self) -> Any:
        return self.load()

    def invoke(self, event: Any, source: str = "invoke") -> Any:
        with self._lock:
            context = LambdaContext(
                function_name=self.name,
                function_version="$LATEST",
                invoked_function_arn=self.arn,
                memory_limit_in_mb=self.spec.memory_size,
                aws_request_id=str(uuid.uuid4()),
                log_group_name=f"/aws/lambda/{self.name}",
                log_stream_name=f"local/{threading.current_thread().name}",
                deadline=time.monotonic() + self.spec.timeout,
            )
            started = time.perf_counter()
            try:
                with self.faults.invocation(self.spec.short_name) if self.faults else nullcontext():
                    response = self.handler(event, context)
            except Killed as killed:
                self._log.record(
                    Invocation(self.spec.short_name, source, event, None, f"killed: {killed}", _ms(started))
                )
                raise FunctionKilled(f"{self.spec.short_name} was killed: {killed}") from None
            except Exception as error:
                self._log.record(
                    Invocation(self.spec.short_name, source, event, None, repr(error), _ms(started))
                )
                raise FunctionError(f"{self.spec.short_name} failed: {error!r}") from error
            self._log.record(Invocation(self.spec.short_name, source, event, response, None, _ms(started)))
            return response


def _ms(started: float) -> float:
    return (time.perf_counter() - started) * 1000


def _import(path: Path, logical_id: str) -> ModuleType:
    """Import a handler file under a name of its own: every function's module is ``app``."""
    name = f"aperture_functions.{logical_id}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise FunctionError(f"cannot import handler module {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module
    spec.loader.exec_module(module)
    return module
