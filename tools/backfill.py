"""Give posts made before the ByDay index existed their day partition, so Explore's batches see them.

    pipenv run backfill                                                  # the local stack (aperture-local)
    pipenv run backfill --stack-name aperture-prod --endpoint ""         # AWS, your credentials

Run it once after deploying the index onto a stack that already holds posts: until then the daily
batch and the refresh read only posts created since. It scans the Posts table once and may be run
again (or stopped and restarted): a post that has its partition is left as it is.
"""

from __future__ import annotations

import argparse
import json
import os

from aperture.core.aws import client
from aperture.social.posts import backfill_created_days
from aperture_local.stack import use_endpoint


def main() -> None:
    parser = argparse.ArgumentParser(prog="pipenv run backfill", description=__doc__.split("\n")[0])
    parser.add_argument("--stack-name", default="aperture-local")
    parser.add_argument(
        "--endpoint",
        default="http://127.0.0.1:5000",
        help="an AWS-compatible endpoint (the local stack's moto server); empty for AWS itself",
    )
    arguments = parser.parse_args()
    if arguments.endpoint:
        use_endpoint(arguments.endpoint)
    table = client("cloudformation").describe_stack_resource(
        StackName=arguments.stack_name, LogicalResourceId="PostsTable"
    )["StackResourceDetail"]["PhysicalResourceId"]
    os.environ["POSTS_TABLE"] = table  # the model binds to its table on first use, which follows
    print(json.dumps({"table": table, "posts_given_a_day": backfill_created_days()}))


if __name__ == "__main__":
    main()
