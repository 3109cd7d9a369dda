"""``pipenv run invoke FUNCTION EVENT_FILE``: run one handler on a sample event, as ``sam local invoke``.

With ``pipenv run local`` running, the handler talks to that stack; otherwise a stack of its own
is started for the one invocation and stopped after it. The handler's response is printed as JSON.

API events (``events/api/``) carry ``Authorization: Bearer <id-token:USER>``: here it is replaced by
a token the local stack's development issuer signs for USER; for ``sam local invoke -e`` against
AWS, put a Cognito ID token there instead.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
import urllib.request
from pathlib import Path
from typing import Any

from aperture.core.identity import DEV_SIGNING_KEY, DevIssuer

from .__main__ import STATE_FILE
from .runtime import FunctionError, InvocationLog, LocalFunction
from .stack import ROOT, LocalStack, use_endpoint
from .template import Template


def running_stack(state_file: Path = STATE_FILE) -> dict[str, Any] | None:
    """What ``pipenv run local`` recorded, while that stack still answers; None otherwise."""
    if not state_file.exists():
        return None
    state: dict[str, Any] = json.loads(state_file.read_text())
    try:
        urllib.request.urlopen(state["endpoint"], timeout=2).close()
    except OSError:
        return None
    return state


def attached(name: str, state: dict[str, Any]) -> LocalFunction:
    """A function of the running stack, run in this process against the stack's endpoint."""
    use_endpoint(state["endpoint"], state["environment"])
    for spec in Template(ROOT / "template.yaml").functions():
        if name in (spec.short_name, spec.logical_id):
            return LocalFunction(spec, f"local:{spec.logical_id}", spec.logical_id, InvocationLog())
    raise SystemExit(f"no function {name!r} in template.yaml")


_TOKEN_PLACEHOLDER = re.compile(r"<id-token:(?P<user>[^>]+)>")


def with_dev_tokens(event: Any) -> Any:
    """The event with each ``<id-token:USER>`` in its Authorization header signed for USER."""
    headers: dict[str, Any] = (event.get("headers") if isinstance(event, dict) else None) or {}
    authorization = headers.get("Authorization")
    if not isinstance(authorization, str) or not _TOKEN_PLACEHOLDER.search(authorization):
        return event
    issuer = DevIssuer(os.environ[DEV_SIGNING_KEY], os.environ["AUTH_ISSUER"], os.environ["AUTH_AUDIENCE"])
    signed = _TOKEN_PLACEHOLDER.sub(lambda match: issuer.issue(match["user"]), authorization)
    multi = {**(event.get("multiValueHeaders") or {}), "Authorization": [signed]}
    return {**event, "headers": {**headers, "Authorization": signed}, "multiValueHeaders": multi}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pipenv run invoke", description=__doc__)
    parser.add_argument("function", help="folder name (media_router) or logical id")
    parser.add_argument(
        "event",
        type=Path,
        help="a JSON event, e.g. events/media_router/s3_object_created.json or events/api/create_user.json",
    )
    parser.add_argument("--state-file", type=Path, default=STATE_FILE, help=argparse.SUPPRESS)
    args = parser.parse_args(sys.argv[1:] if argv is None else argv)
    event = json.loads(args.event.read_text())

    state = running_stack(args.state_file)
    stack = None if state else LocalStack(event_sources=False).start()
    try:
        function = attached(args.function, state) if state else stack.function(args.function)  # type: ignore[union-attr]
        try:
            response = function.invoke(with_dev_tokens(event))
        except FunctionError as error:
            print(
                json.dumps(
                    {"errorMessage": str(error.__cause__), "errorType": type(error.__cause__).__name__}
                )
            )
            return 1
        print(json.dumps(response, default=str, indent=2))
        return 0
    finally:
        if stack is not None:
            stack.stop()


if __name__ == "__main__":
    sys.exit(main())
