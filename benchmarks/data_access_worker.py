"""One side of ``bench data_access``: a fixed mix of API calls, CPU time per call, printed as JSON.

Run as a script in a fresh process whose ``sys.path`` starts with the tree to measure (the current
one, or the yardstick's checkout), against a moto server in another process, so this process's CPU
time is the API function's and the data access code's alone. It uses only what both trees have: the
local stack and the API function, driven by API Gateway events like those in ``events/api/``.
"""

from __future__ import annotations

import copy
import json
import re
import statistics
import sys
import time
from pathlib import Path
from typing import Any

TREE, ENDPOINT, ROUNDS = Path(sys.argv[1]), sys.argv[2], int(sys.argv[3])
sys.path[:0] = [str(TREE), str(TREE / "layers/aperture")]

from aperture_local.stack import LocalStack  # noqa: E402  (from the tree being measured)

TEMPLATE = json.loads((Path(__file__).resolve().parent.parent / "events/api/health.json").read_text())


def _event(
    method: str, path: str, token: str | None, body: Any = None, key: str | None = None
) -> dict[str, Any]:
    """An API Gateway proxy event; ``path`` names its parameters as ``{name=value}``."""
    parameters = dict(part.split("=", 1) for part in re.findall(r"\{([^}]+)\}", path))
    resource = re.sub(r"\{([^=}]+)=[^}]+\}", r"{\1}", path)
    path = re.sub(r"\{[^=}]+=([^}]+)\}", r"\1", path)
    event = copy.deepcopy(TEMPLATE)
    event["requestContext"].update(resourcePath=resource, httpMethod=method, path=f"/Prod{path}")
    headers = {"Content-Type": "application/json"}
    if token:
        headers["Authorization"] = f"Bearer {token}"
    if key:
        headers["Idempotency-Key"] = key
    event.update(
        httpMethod=method,
        path=path,
        resource=resource,
        pathParameters=parameters or None,
        headers=headers,
        multiValueHeaders={k: [v] for k, v in headers.items()},
        body=None if body is None else json.dumps(body),
    )
    return event


def main() -> None:
    with LocalStack(
        endpoint=ENDPOINT, stack_name=f"data-access-{int(time.time())}", event_sources=False
    ) as stack:
        api = stack.function("api")

        def call(method: str, path: str, token: str | None, body: Any = None, key: str | None = None) -> Any:
            response = api.invoke(_event(method, path, token, body, key))
            assert response["statusCode"] < 300, (method, path, response["body"])
            return json.loads(response["body"])

        def token(user: str) -> str:
            return str(call("POST", "/auth/token", None, {"user_id": user})["id_token"])

        samples: dict[str, list[float]] = {}
        for round_ in range(ROUNDS):
            alice, bob = f"u_a{round_}", f"u_b{round_}"
            ta, tb = token(alice), token(bob)
            mix = [
                (
                    "create user",
                    lambda: call("POST", "/users", ta, {"username": f"alice{round_}"}, f"signup-{alice}"),
                ),
                (
                    "create user",
                    lambda: call("POST", "/users", tb, {"username": f"bob{round_}"}, f"signup-{bob}"),
                ),
                (
                    "follow",
                    lambda: call(
                        "PUT",
                        f"/users/{{user_id={bob}}}/following/{{followee_id={alice}}}",
                        tb,
                        {"following": True, "client_timestamp": 1},
                    ),
                ),
                ("create post", lambda: call("POST", "/posts", ta, {"caption": "hi"}, f"post-{alice}-1")),
                ("get user", lambda: call("GET", f"/users/{{user_id={alice}}}", tb)),
                ("followers", lambda: call("GET", f"/users/{{user_id={alice}}}/followers", tb)),
                (
                    "upload intent",
                    lambda: call(
                        "POST",
                        "/uploads",
                        ta,
                        {"content_type": "image/jpeg", "size": 1000},
                        f"upload-{alice}-1",
                    ),
                ),
                ("feed", lambda: call("GET", "/feed", tb)),
                ("stories tray", lambda: call("GET", "/stories/tray", tb)),
            ]
            post_id = None
            for name, request in mix:
                begun = time.process_time()
                reply = request()
                samples.setdefault(name, []).append((time.process_time() - begun) * 1000)
                post_id = reply.get("post_id", post_id)
            for name, request in [
                ("like", lambda: call("PUT", f"/posts/{{post_id={post_id}}}/like", tb)),
                ("get post", lambda: call("GET", f"/posts/{{post_id={post_id}}}", tb)),
                ("unlike", lambda: call("DELETE", f"/posts/{{post_id={post_id}}}/like", tb)),
            ]:
                begun = time.process_time()
                request()
                samples.setdefault(name, []).append((time.process_time() - begun) * 1000)
        print(json.dumps({name: statistics.mean(values[1:] or values) for name, values in samples.items()}))


if __name__ == "__main__":
    main()
