"""Put the web client into a deployed stack, where its CDN serves it at /app/.

    pipenv run publish-app aperture-dev        # your AWS credentials; prints the app's URL

Every file of ``web/app`` and the npm packages it imports go to the stack's WebAppBucket under
``app/``, with a ``config.json`` naming the stack's API and Cognito hosted UI (its outputs). The
entry points are revalidated on every load; the rest may be cached for five minutes.
"""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from aperture.core.aws import client
from aperture_local.webapp import app_files, content_type, install_packages

ALWAYS_REVALIDATED = {"index.html", "config.json"}


def config_from_outputs(outputs: dict[str, str]) -> dict[str, Any]:
    """What the app needs to know of a stack, from its CloudFormation outputs."""
    return {
        "api": outputs["ApiUrl"],
        "auth": {
            "kind": "cognito",
            "domain": f"https://{outputs['HostedUiDomain']}",
            "client_id": outputs["UserPoolClientId"],
        },
        "refresh_seconds": 30,
    }


def publish(bucket: str, config: dict[str, Any]) -> list[str]:
    """Uploads the app and its config; returns the keys written."""
    install_packages()
    s3, written = client("s3"), []
    files = {name: path.read_bytes() for name, path in app_files().items()}
    files["config.json"] = json.dumps(config).encode()
    for name, body in sorted(files.items()):
        key = f"app/{name}"
        cache = "no-cache" if name in ALWAYS_REVALIDATED else "public, max-age=300"
        s3.put_object(Bucket=bucket, Key=key, Body=body, ContentType=content_type(name), CacheControl=cache)
        written.append(key)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="pipenv run publish-app", description=__doc__.split("\n")[0])
    parser.add_argument("stack_name", help="the deployed stack (sam deploy's stack name)")
    args = parser.parse_args(argv)
    (stack,) = client("cloudformation").describe_stacks(StackName=args.stack_name)["Stacks"]
    outputs = {output["OutputKey"]: output["OutputValue"] for output in stack.get("Outputs", [])}
    keys = publish(outputs["WebAppBucketName"], config_from_outputs(outputs))
    print(f"{len(keys)} files in s3://{outputs['WebAppBucketName']}/app/")
    print(f"open {outputs['AppUrl']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
