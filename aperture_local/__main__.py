"""``pipenv run local``: start the whole of Aperture on this machine and serve its API."""

from __future__ import annotations

import argparse
import json
import signal
import sys
import threading
from pathlib import Path

from aperture.core.clock import ScaledClock, set_clock

from .endpoint import EndpointError
from .faults import FaultPlan
from .provision import ProvisionError
from .server import ApiServer
from .stack import ROOT, LocalStack
from .webapp import AppServer, WebAppError

STATE_FILE = ROOT / ".aperture" / "local.json"  # how ``pipenv run invoke`` finds a running stack


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="pipenv run local", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8000, help="API port (0 picks a free one)")
    parser.add_argument("--app-port", type=int, default=8001, help="web client's port (0 picks a free one)")
    parser.add_argument("--moto-port", type=int, default=5000, help="moto server port (0 picks one)")
    parser.add_argument(
        "--endpoint",
        metavar="URL",
        help="provision into an AWS-compatible endpoint you run (LocalStack, moto_server) instead of "
        "starting moto here; the functions still run in this process",
    )
    parser.add_argument("--stack-name", default="aperture-local", help="the CloudFormation stack's name")
    parser.add_argument("--speed", type=float, default=1.0, help="run the clock this many times faster")
    parser.add_argument(
        "--parameter",
        action="append",
        default=[],
        metavar="NAME=VALUE",
        help="override a template parameter, e.g. StoryLifetimeSeconds=120",
    )
    parser.add_argument(
        "--faults",
        type=Path,
        metavar="FILE",
        help="inject faults as the JSON plan in FILE says (see aperture_local/faults.py); none by default",
    )
    parser.add_argument("--template", type=Path, default=ROOT / "template.yaml")
    parser.add_argument("--state-file", type=Path, default=STATE_FILE, help=argparse.SUPPRESS)
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    stopping = threading.Event()  # set by Ctrl-C or SIGTERM, even while the stack is starting
    for signum in (signal.SIGINT, signal.SIGTERM):
        signal.signal(signum, lambda *_: stopping.set())
    parameters = dict(item.split("=", 1) for item in args.parameter)
    if args.speed != 1.0:
        set_clock(ScaledClock(args.speed))
    try:
        app = AppServer(args.host, args.app_port)  # bound first: the API and uploads allow its origin
    except (WebAppError, OSError) as error:
        print(f"cannot serve the web client: {error}", file=sys.stderr)
        return 2
    parameters.setdefault("AppOrigin", app.origin)
    stack = LocalStack(
        args.template,
        parameters=parameters,
        stack_name=args.stack_name,
        moto_port=args.moto_port,
        endpoint=args.endpoint,
        faults=FaultPlan.load(args.faults) if args.faults else None,
    )
    try:
        stack.start()
    except (EndpointError, ProvisionError) as error:
        print(f"cannot start the local stack: {error}", file=sys.stderr)
        return 2
    api = ApiServer(stack.api_function(), args.host, args.port, stack.api_cors())  # bound, not serving yet
    environment = stack.environment | {"MEDIA_BASE_URL": api.media_url}
    state = {
        "endpoint": stack.endpoint,
        "api": api.url,
        "media": api.media_url,
        "app": app.url,
        "environment": environment,
    }
    args.state_file.parent.mkdir(parents=True, exist_ok=True)
    partial = args.state_file.with_suffix(".partial")
    partial.write_text(json.dumps(state))
    partial.replace(args.state_file)  # atomic: `invoke` never reads half a file
    api.start()
    app.start(api.url, refresh_seconds=max(1.0, 30 / args.speed))  # Stories poll on the clock's scale

    print(f"{'endpoint' if args.endpoint else 'moto server':19}{stack.endpoint}")
    for kind, count in sorted(stack.resource_counts().items()):
        print(f"  {count:3d} x {kind}")
    for skipped in stack.template.not_emulated():
        print(f"  not emulated: {skipped}")
    print(f"clock              x{args.speed:g}")
    print("event sources")
    for worker in stack.workers:
        print(f"  {worker.name}")
    print(f"API                {api.url}")
    print(f"API document       {api.url}/docs")
    print(f"media (the CDN)    {api.media_url}")
    print(f"web app            {app.url}")
    print("Ctrl-C stops everything.", flush=True)

    stopping.wait()
    print("stopping...", flush=True)
    app.stop()
    api.stop()
    stack.stop()
    args.state_file.unlink(missing_ok=True)
    print("stopped.", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
