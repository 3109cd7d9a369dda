"""The template keeps the promises the rest of the system relies on."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from cfnlint.api import lint_file

from aperture.core.jobs import MAX_ATTEMPTS
from aperture_local.template import Template
from tests.conftest import EVENTS, ROOT

TEMPLATE = Template(ROOT / "template.yaml")
FUNCTIONS = TEMPLATE.functions()
QUEUES = TEMPLATE.resource_properties("AWS::SQS::Queue")


def _ref(expression: Any) -> str:
    """The logical id a ``!Ref``/``!GetAtt`` expression points at."""
    if "Ref" in expression:
        return str(expression["Ref"])
    target = expression["Fn::GetAtt"]
    return str(target[0] if isinstance(target, list) else target.split(".")[0])


def test_the_template_passes_cfn_lint_and_the_sam_translator() -> None:
    matches = lint_file(Path(ROOT / "template.yaml"))  # the Transform runs the SAM translator
    assert [str(match) for match in matches] == []


def test_the_seed_parameters_have_their_defaults() -> None:
    assert TEMPLATE.parameters["StoryLifetimeSeconds"] == "86400"
    assert TEMPLATE.parameters["CelebrityFollowerThreshold"] == "100000"


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.short_name)
def test_every_function_has_sample_events(spec: Any) -> None:
    assert sorted((EVENTS / spec.short_name).glob("*.json")), f"events/{spec.short_name}/ has no sample"


def test_every_queue_a_function_reads_redrives_to_an_alarmed_dlq() -> None:
    alarmed = {
        _ref(alarm["Dimensions"][0]["Value"])
        for alarm in TEMPLATE.resource_properties("AWS::CloudWatch::Alarm").values()
    }
    consumed = [
        _ref(event.properties["Queue"]) for spec in FUNCTIONS for event in spec.events if event.type == "SQS"
    ]
    assert consumed
    for queue in consumed:
        redrive = QUEUES[queue]["RedrivePolicy"]
        assert redrive["maxReceiveCount"] == MAX_ATTEMPTS == 5, queue  # see core.jobs: what an attempt is
        assert _ref(redrive["deadLetterTargetArn"]) in alarmed, queue


@pytest.mark.parametrize("spec", FUNCTIONS, ids=lambda spec: spec.short_name)
def test_batch_sources_report_partial_failures_and_streams_cap_retries(spec: Any) -> None:
    for event in spec.events:
        if event.type in ("SQS", "DynamoDB"):
            assert event.properties["FunctionResponseTypes"] == ["ReportBatchItemFailures"]
        if event.type == "SQS":
            timeout = QUEUES[_ref(event.properties["Queue"])]["VisibilityTimeout"]
            assert timeout >= 6 * spec.timeout, "visibility timeout under six times the function's"
        if event.type == "DynamoDB":
            assert 0 <= event.properties["MaximumRetryAttempts"] <= 10
            assert event.properties["DestinationConfig"]["OnFailure"]["Destination"]


def test_the_stories_table_expires_by_ttl_and_streams_old_images() -> None:
    stories = TEMPLATE.resource_properties("AWS::DynamoDB::Table")["StoriesTable"]
    assert stories["TimeToLiveSpecification"] == {"AttributeName": "expires_at_epoch", "Enabled": True}
    assert stories["StreamSpecification"] == {"StreamViewType": "NEW_AND_OLD_IMAGES"}


def test_every_chalice_route_is_declared_in_the_template_and_back() -> None:
    api = next(spec for spec in FUNCTIONS if any(e.type == "Api" for e in spec.events))
    declared = {(e.properties["Path"], e.properties["Method"].upper()) for e in api.events if e.type == "Api"}
    from aperture_local.runtime import _import

    chalice_app = _import(api.code_uri / "app.py", "RouteCheck").app
    routed = {(path, method) for path, entry in chalice_app.routes.items() for method in entry}
    assert routed == declared


def test_the_sweepers_processing_windows_follow_the_pipeline_queues() -> None:
    from aperture.media.sniff import Kind
    from aperture.media.sweeper import PROCESSING_WINDOWS, VISIBILITY_TIMEOUTS

    for kind, queues in (
        (Kind.IMAGE, ("ImageQueue", "ImagePriorityQueue")),
        (Kind.VIDEO, ("VideoQueue", "VideoPriorityQueue")),
    ):
        for queue in queues:
            assert QUEUES[queue]["VisibilityTimeout"] == VISIBILITY_TIMEOUTS[kind], queue
            assert (
                QUEUES[queue]["RedrivePolicy"]["maxReceiveCount"] * VISIBILITY_TIMEOUTS[kind]
                == PROCESSING_WINDOWS[kind]
            )
