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

        def timed(
            name: str, method: str, path: str, token: str, *, body: Any = None, key: str | None = None
        ) -> Any:
            begun = time.process_time()
            reply = call(method, path, token, body, key)
            samples.setdefault(name, []).append((time.process_time() - begun) * 1000)
            return reply

        for n in range(ROUNDS):
            alice, bob = f"u_a{n}", f"u_b{n}"
            ta, tb = token(alice), token(bob)
            timed("create user", "POST", "/users", ta, body={"username": f"alice{n}"}, key=f"signup-{alice}")
            timed("create user", "POST", "/users", tb, body={"username": f"bob{n}"}, key=f"signup-{bob}")
            follow = {"following": True, "client_timestamp": 1}
            timed(
                "follow",
                "PUT",
                f"/users/{{user_id={bob}}}/following/{{followee_id={alice}}}",
                tb,
                body=follow,
            )
            post_id = timed(
                "create post", "POST", "/posts", ta, body={"caption": "hi"}, key=f"post-{alice}-1"
            )["post_id"]
            timed("get user", "GET", f"/users/{{user_id={alice}}}", tb)
            timed("followers", "GET", f"/users/{{user_id={alice}}}/followers", tb)
            intent = {"content_type": "image/jpeg", "size": 1000}
            timed("upload intent", "POST", "/uploads", ta, body=intent, key=f"upload-{alice}-1")
            timed("feed", "GET", "/feed", tb)
            timed("stories tray", "GET", "/stories/tray", tb)
            timed("like", "PUT", f"/posts/{{post_id={post_id}}}/like", tb)
            timed("get post", "GET", f"/posts/{{post_id={post_id}}}", tb)
            timed("unlike", "DELETE", f"/posts/{{post_id={post_id}}}/like", tb)
        print(json.dumps({name: statistics.mean(values[1:] or values) for name, values in samples.items()}))


if __name__ == "__main__":
    main()
