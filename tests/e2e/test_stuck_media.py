"""Nothing stuck: a job killed without a trace, an abandoned intent, and the router racing a worker
all leave every upload in a terminal state."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
from aws_lambda_powertools import Logger, Metrics
from aws_lambda_powertools.utilities.batch.exceptions import BatchProcessingError
from aws_lambda_powertools.utilities.data_classes.sqs_event import SQSRecord

from aperture.core.aws import client
from aperture.core.clock import ManualClock
from aperture.core.jobs import MAX_ATTEMPTS, RETRY_DELAYS, consume
from aperture.media.sniff import Kind
from aperture.media.sweeper import PENDING_WINDOW, PROCESSING_WINDOWS, STUCK_REASON, UNROUTED_REASON
from aperture_local.sources import SqsMapping
from tests.conftest import eventually, load_event
from tests.e2e.conftest import ApiStack, post_to_s3, upload_media
from tests.pictures import jpeg, scene
from tools.redrive import redrive

SWEEPER = "schedule:media_sweeper:"
LOGGER, METRICS = Logger(service="test"), Metrics(namespace="Test", service="test")


@pytest.fixture
def quiet_sweeper(api: ApiStack) -> Iterator[None]:
    """Given the stack's own five-minute sweep held back: the test sweeps when it means to."""
    with api.stack.paused(SWEEPER):
        yield


def _record(api: ApiStack, user_id: str, media_id: str) -> dict[str, Any]:
    """The owner's view of their media (with a fresh token: the tests move the clock hours on)."""
    reply = api.client.call("GET", f"/media/{media_id}", token=api.token(user_id))
    assert reply.status == 200, reply
    return dict(reply.body)


def _sweep(api: ApiStack) -> dict[str, Any]:
    return dict(api.stack.function("media_sweeper").invoke(load_event("media_sweeper/tick.json")))


def _worker(api: ApiStack, queue: str) -> SqsMapping:
    """The event source mapping that reads ``queue`` (a logical id)."""
    name = api.stack.physical_id(queue).rsplit("/", 1)[-1]
    return next(
        w for w in api.stack.workers if isinstance(w, SqsMapping) and w.queue_url.endswith(f"/{name}")
    )


def _drop_messages(api: ApiStack, queue: str) -> int:
    """What becomes of a job Lambda kills on every attempt (a timeout, out of memory): nothing runs
    to the end, and the message ends in the DLQ. Here the message simply goes."""
    sqs, url, dropped = client("sqs"), api.stack.physical_id(queue), 0
    while messages := sqs.receive_message(QueueUrl=url, MaxNumberOfMessages=10).get("Messages", []):
        for message in messages:
            sqs.delete_message(QueueUrl=url, ReceiptHandle=message["ReceiptHandle"])
        dropped += len(messages)
    return dropped


def test_an_image_job_killed_on_every_attempt_ends_failed_and_its_owner_is_told(
    api: ApiStack, manual_clock: ManualClock, quiet_sweeper: None
) -> None:
    user = "u_killed"
    token = api.signup(user)
    with api.stack.paused("sqs:image_processor"):
        # Given an upload whose processing job is killed on every attempt
        media_id = upload_media(api, token, jpeg(scene(1)))
        eventually(lambda: _record(api, user, media_id)["state"] == "processing")
        assert eventually(lambda: _drop_messages(api, "ImageQueue")) == 1  # the router records, then sends

        # When its pipeline's longest run has passed: the sweeper sends the job once more
        manual_clock.advance(PROCESSING_WINDOWS[Kind.IMAGE] + 1)
        assert _sweep(api) == {"expired": 0, "requeued": 1, "failed": 0}
        assert _record(api, user, media_id)["state"] == "processing"
        assert _drop_messages(api, "ImageQueue") == 1  # and that one is killed too

        # Then the next sweep after another window fails the media and tells its owner
        assert _sweep(api) == {"expired": 0, "requeued": 0, "failed": 0}  # not yet: the window restarted
        manual_clock.advance(PROCESSING_WINDOWS[Kind.IMAGE] + 1)
        assert _sweep(api) == {"expired": 0, "requeued": 0, "failed": 1}
    record = _record(api, user, media_id)
    assert (record["state"], record["failure"]) == ("failed", STUCK_REASON)
    notices = api.client.call("GET", "/notifications", token=api.token(user)).body["items"]
    assert [(n["kind"], n["media_id"]) for n in notices] == [("upload_failed", media_id)]
    assert _sweep(api) == {"expired": 0, "requeued": 0, "failed": 0}  # finished: never swept again


def test_an_abandoned_intent_ends_expired_and_a_replay_of_it_is_refused(
    api: ApiStack, manual_clock: ManualClock, quiet_sweeper: None
) -> None:
    user = "u_abandons"
    token = api.signup(user)
    key = {"Idempotency-Key": "abandoned-intent-1"}
    intent = {"content_type": "image/jpeg", "size": 50_000}
    # Given an upload intent whose file never comes
    reply = api.client.call("POST", "/uploads", intent, token=token, headers=key)
    assert reply.status == 201, reply
    media_id = reply.body["media_id"]

    # When its form has expired: a replay of the intent gets a 409, not the dead form
    manual_clock.advance(reply.body["expires_in"])
    replay = api.client.call("POST", "/uploads", intent, token=token, headers=key)
    assert replay.status == 409, replay
    assert "expired" in replay.body["error"]["message"]

    # Then after the grace too, the sweeper ends it expired, without a notification
    assert _sweep(api) == {"expired": 0, "requeued": 0, "failed": 0}
    manual_clock.advance(PENDING_WINDOW - reply.body["expires_in"] + 1)
    assert _sweep(api) == {"expired": 1, "requeued": 0, "failed": 0}
    record = _record(api, user, media_id)
    assert (record["state"], record["failure"]) == (
        "expired",
        "no file arrived before the upload form expired",
    )
    assert api.client.call("GET", "/notifications", token=api.token(user)).body["items"] == []


def test_a_file_whose_routing_died_ends_failed_its_owner_told_and_the_file_removed(
    api: ApiStack, manual_clock: ManualClock, quiet_sweeper: None
) -> None:
    user = "u_unrouted"
    token = api.signup(user)
    uploads = api.stack.environment["UPLOADS_BUCKET"]
    with api.stack.paused("sqs:media_router"):
        # Given a file that arrived, whose notification died before any routing ran
        reply = api.client.call(
            "POST", "/uploads", {"content_type": "image/jpeg", "size": 50_000}, token=token
        )
        media_id = reply.body["media_id"]
        assert post_to_s3(reply.body["upload"], jpeg(scene(2))) in (200, 204)
        eventually(lambda: _drop_messages(api, "UploadEventsQueue"))

        # When the sweeper meets it past the form's expiry and the grace
        manual_clock.advance(PENDING_WINDOW + 1)
        assert _sweep(api) == {"expired": 0, "requeued": 0, "failed": 1}

    # Then it is failed, its owner told, and the file gone
    record = _record(api, user, media_id)
    assert (record["state"], record["failure"]) == ("failed", UNROUTED_REASON)
    notices = api.client.call("GET", "/notifications", token=api.token(user)).body["items"]
    assert [(n["kind"], n["media_id"]) for n in notices] == [("upload_failed", media_id)]
    listed = client("s3").list_objects_v2(Bucket=uploads, Prefix=f"uploads/u_unrouted/{media_id}/")
    assert listed.get("KeyCount", 0) == 0


def test_a_worker_that_takes_the_job_before_the_router_returns_still_ends_the_upload_ready(
    api: ApiStack, quiet_sweeper: None
) -> None:
    user = "u_router_race"
    token = api.signup(user)
    worker = _worker(api, "ImageQueue")
    sqs = client("sqs")

    def process_at_once(**_: Any) -> None:
        if threading.current_thread().name.startswith("sqs:media_router"):
            worker.tick()  # the worker runs the job before the router's send has even returned

    # Given a worker that takes each image job the moment the router queues it
    with api.stack.paused("sqs:image_processor"):
        sqs.meta.events.register("after-call.sqs.SendMessage", process_at_once)
        try:
            # When an upload is routed
            media_id = upload_media(api, token, jpeg(scene(3, size=(320, 240))))
            eventually(lambda: _record(api, user, media_id)["state"] in ("ready", "failed"), timeout=60)
        finally:
            sqs.meta.events.unregister("after-call.sqs.SendMessage", process_at_once)
    # Then it is ready, not failed and not left processing
    assert _record(api, user, media_id)["state"] == "ready"

    # And a duplicate delivery of the upload's notification after that changes nothing
    def routed() -> list[Any]:
        return [e for e in api.stack.log.of("media_router") if media_id in str(e.event) and e.error is None]

    [first] = eventually(routed)
    api.stack.function("media_router").invoke(first.event)
    assert _record(api, user, media_id)["state"] == "ready"


def test_redrive_moves_every_dead_letter_back_to_its_queue(api: ApiStack) -> None:
    sqs = client("sqs")
    queue, dlq = api.stack.physical_id("VideoLadderQueue"), api.stack.physical_id("VideoLadderDLQ")
    with api.stack.paused("sqs:video_ladder"):
        # Given twelve dead ladder jobs
        for n in range(12):
            sqs.send_message(QueueUrl=dlq, MessageBody=json.dumps({"n": n}))

        # When they are redriven
        moved = redrive(queue)

        # Then all twelve are back on the queue, once each, and the DLQ is empty
        back = []
        while messages := sqs.receive_message(QueueUrl=queue, MaxNumberOfMessages=10).get("Messages", []):
            back += [json.loads(m["Body"])["n"] for m in messages]
            for m in messages:
                sqs.delete_message(QueueUrl=queue, ReceiptHandle=m["ReceiptHandle"])
    assert moved == 12
    assert sorted(back) == list(range(12))
    assert sqs.receive_message(QueueUrl=dlq).get("Messages", []) == []


def test_each_retry_comes_back_after_its_delay_and_the_fifth_receive_is_the_last(api: ApiStack) -> None:
    sqs, worker = client("sqs"), _worker(api, "VideoLadderQueue")
    queue = worker.queue_url
    requested: list[int] = []

    def note_delay(params: dict[str, Any], **_: Any) -> None:
        requested.append(int(params["VisibilityTimeout"]))

    def fail(record: SQSRecord) -> None:
        raise ConnectionError("a dependency is down")

    def back_now(message: dict[str, Any]) -> None:
        sqs.change_message_visibility(
            QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"], VisibilityTimeout=0
        )

    with api.stack.paused("sqs:video_ladder"):
        # Given a job whose every attempt fails transiently
        sqs.send_message(QueueUrl=queue, MessageBody="{}")
        [message] = eventually(lambda: worker._receive(1))
        sqs.meta.events.register("before-parameter-build.sqs.ChangeMessageVisibility", note_delay)
        try:
            for receive in range(1, MAX_ATTEMPTS + 1):
                assert message["Attributes"]["ApproximateReceiveCount"] == str(receive)
                # When the attempt fails
                failed_at = time.monotonic()
                event = {"Records": [worker._record(message)]}
                with pytest.raises(BatchProcessingError):  # a batch whose every record failed
                    consume(event, None, fail, logger=LOGGER, metrics=METRICS)  # type: ignore[arg-type]
                if receive == MAX_ATTEMPTS:
                    break
                # Then the message stays away for the attempt's delay (the short ones waited out here)
                delay = RETRY_DELAYS[receive - 1]
                assert worker._receive(1) == []
                if delay > 5:
                    back_now(message)
                [message] = eventually(lambda: worker._receive(1), timeout=10)
                assert delay > 5 or time.monotonic() - failed_at >= delay - 0.1
        finally:
            sqs.meta.events.unregister("before-parameter-build.sqs.ChangeMessageVisibility", note_delay)
            sqs.delete_message(QueueUrl=queue, ReceiptHandle=message["ReceiptHandle"])
    # And the delays asked of SQS are the spec's, then one more 30 s (the fifth receive is the last)
    assert [delay for delay in requested if delay] == [1, 5, 30, 30, 30]
