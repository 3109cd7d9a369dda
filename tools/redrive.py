"""Move a queue's dead letters back to it, after the fault that killed them is fixed.

    pipenv run redrive ImageQueue                        # the local stack (aperture-local)
    pipenv run redrive ImageQueue --stack-name aperture-prod --endpoint ""   # AWS, your credentials

QUEUE is the queue's logical id in template.yaml; its DLQ is read from its redrive policy. Each
message is sent again before it is deleted from the DLQ, so a crash part-way duplicates rather than
loses; every consumer treats a repeated job as done. SQS's own StartMessageMoveTask does the same
in AWS but not in moto, which the local stack runs on.
"""

from __future__ import annotations

import json
import sys

from aperture.core.aws import client
from tools.stack_cli import physical_id, stack_parser


def dead_letter_queue(queue_url: str) -> str:
    """The URL of the DLQ named by the queue's redrive policy."""
    sqs = client("sqs")
    policy = sqs.get_queue_attributes(QueueUrl=queue_url, AttributeNames=["RedrivePolicy"])["Attributes"]
    dlq_arn = json.loads(policy["RedrivePolicy"])["deadLetterTargetArn"]
    *_, account, name = dlq_arn.split(":")
    return str(sqs.get_queue_url(QueueName=name, QueueOwnerAWSAccountId=account)["QueueUrl"])


def redrive(queue_url: str) -> int:
    """Move every message in the queue's DLQ back to the queue; returns how many moved."""
    sqs, dlq_url, moved = client("sqs"), dead_letter_queue(queue_url), 0
    while messages := sqs.receive_message(
        QueueUrl=dlq_url, MaxNumberOfMessages=10, WaitTimeSeconds=0, MessageAttributeNames=["All"]
    ).get("Messages", []):
        entries = [
            {"Id": str(n), "MessageBody": m["Body"], "MessageAttributes": m.get("MessageAttributes", {})}
            for n, m in enumerate(messages)
        ]
        failed = sqs.send_message_batch(QueueUrl=queue_url, Entries=entries).get("Failed", [])
        if failed:
            raise RuntimeError(f"{len(failed)} messages could not be sent back: {failed}")
        sqs.delete_message_batch(
            QueueUrl=dlq_url,
            Entries=[{"Id": str(n), "ReceiptHandle": m["ReceiptHandle"]} for n, m in enumerate(messages)],
        )
        moved += len(messages)
        print(f"  moved {moved}", file=sys.stderr, flush=True)
    return moved


def main() -> None:
    parser = stack_parser("pipenv run redrive", __doc__.split("\n")[0])
    parser.add_argument("queue", help="the queue's logical id in template.yaml, e.g. ImageQueue")
    arguments = parser.parse_args()
    moved = redrive(physical_id(arguments, arguments.queue))
    print(json.dumps({"queue": arguments.queue, "moved": moved}))


if __name__ == "__main__":
    main()
