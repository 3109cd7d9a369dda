"""Give posts made before the ByDay index existed their day partition, so Explore's batches see them.

    pipenv run backfill                                                  # the local stack (aperture-local)
    pipenv run backfill --stack-name aperture-prod --endpoint ""         # AWS, your credentials

Run it once after deploying the index onto a stack that already holds posts: until then the daily
batch and the refresh read only posts created since. It scans the Posts table once and may be run
again (or stopped and restarted): a post that has its partition is left as it is.
"""

from __future__ import annotations

import json
import os

from aperture.social.posts import backfill_created_days
from tools.stack_cli import physical_id, stack_parser


def main() -> None:
    arguments = stack_parser("pipenv run backfill", __doc__.split("\n")[0]).parse_args()
    table = physical_id(arguments, "PostsTable")
    os.environ["POSTS_TABLE"] = table  # the model binds to its table on first use, which follows
    print(json.dumps({"table": table, "posts_given_a_day": backfill_created_days()}))


if __name__ == "__main__":
    main()
