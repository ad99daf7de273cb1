"""The synthesized asset's handler, over real sockets: SigV4 requests to the local pool API, HTTPS PUTs
of the response to the local stand-in of the pre-signed URL."""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request

import pytest
from declarations import Resource

from tests.fakes import LOGICAL_ID, STACK_ID, cloudformation_event
from tests.standins.pool_api import ACCOUNT
from tests.unit.handler.stubs import declared

pytestmark = pytest.mark.integration

ARN = f"arn:aws:chime:us-east-1:{ACCOUNT}:media-pipeline-kinesis-video-stream-pool/meeting-audio"
DATA_TYPES = {
    "PoolArn": str,
    "PoolStatus": str,
    "PoolId": str,
    "PoolName": str,
    "PoolSize": int,
    "Region": str,
    "DataRetentionInHours": int,
    "CreatedTimestamp": str,
    "UpdatedTimestamp": str,
}


def event(request_type: str, pool: str = "meeting-audio", hours: str = "48", **extra: object) -> dict:
    return cloudformation_event(
        request_type, {"PoolIdentifier": pool, "DataRetentionInHours": hours}, **extra
    )


def assert_success(invocation, physical_id: str = ARN, hours: int = 48) -> None:
    body = invocation.body
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["PhysicalResourceId"] == physical_id
    assert {key: type(value) for key, value in body["Data"].items()} == DATA_TYPES
    assert body["Data"]["DataRetentionInHours"] == hours
    assert body["Data"]["PoolStatus"] == "ACTIVE"
    assert len(invocation.raw_body) <= 4096


def assert_failed(invocation, reason_start: str, within_seconds: float = 5.0) -> None:
    body = invocation.body
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith(reason_start), body["Reason"]
    assert "Traceback" not in body["Reason"]
    assert body["PhysicalResourceId"]
    assert len(invocation.raw_body) <= 4096
    assert invocation.seconds < within_seconds


def test_create_applies_the_retention_and_answers_soon_after_the_pool_turns_active(invoke, pool_api):
    pool_api.add_pool("meeting-audio", retention=24)
    pool_api.transition_seconds = 2.0

    invocation = invoke(event("Create"))

    assert_success(invocation)
    assert pool_api.pools["meeting-audio"].retention == 48
    assert [call.body for call in pool_api.calls_of("PUT")] == [
        {"StreamConfiguration": {"DataRetentionInHours": 48}}
    ]
    assert 2.0 <= invocation.seconds < 3.5
    assert "pool meeting-audio: retention 24 h -> 48 h" in invocation.logs
    assert "pool meeting-audio: ACTIVE after" in invocation.logs


def test_update_to_a_new_retention_puts_it(invoke, pool_api):
    pool_api.add_pool("meeting-audio", retention=48)

    invocation = invoke(
        event(
            "Update",
            hours="72",
            PhysicalResourceId=ARN,
            OldResourceProperties={"PoolIdentifier": "meeting-audio", "DataRetentionInHours": "48"},
        )
    )

    assert_success(invocation, hours=72)
    assert len(pool_api.calls_of("PUT")) == 1


def test_unchanged_update_makes_no_put(invoke, pool_api):
    pool_api.add_pool("meeting-audio", retention=48)

    invocation = invoke(event("Update", PhysicalResourceId=ARN))

    assert_success(invocation)
    assert pool_api.calls_of("PUT") == []
    assert len(pool_api.calls_of("GET")) == 1


def test_identifier_change_answers_with_the_new_pools_arn(invoke, pool_api):
    pool_api.add_pool("meeting-audio", retention=48)
    other = pool_api.add_pool("other-pool", retention=48)

    invocation = invoke(event("Update", pool="other-pool", PhysicalResourceId=ARN))

    assert_success(invocation, physical_id=other.arn)


def test_a_pool_arn_in_another_region_is_called_in_that_region(invoke, pool_api):
    pool = pool_api.add_pool("eu-pool", region="eu-central-1", retention=1)

    invocation = invoke(event("Create", pool=pool.arn))

    assert_success(invocation, physical_id=pool.arn)
    assert {call.region for call in pool_api.calls} == {"eu-central-1"}


def test_rollback_with_invalid_old_properties_succeeds(invoke, pool_api):
    pool_api.add_pool("meeting-audio", retention=72)
    rollback = event(
        "Update",
        PhysicalResourceId=ARN,
        OldResourceProperties={"PoolIdentifier": "bad pool", "DataRetentionInHours": "-3"},
    )

    invocation = invoke(rollback)

    assert_success(invocation)
    assert pool_api.pools["meeting-audio"].retention == 48


@pytest.mark.parametrize(
    ("physical_id", "pool_calls"),
    [
        (ARN, ["list-tags"]),
        ("Retention_Pool0B9733A61_K3J9QZ2A", []),
        (
            "arn:aws:chime:us-east-1:111122223333:media-pipeline-kinesis-video-stream-pool/vanished",
            ["list-tags"],
        ),
    ],
    ids=["existing-pool", "after-failed-create", "vanished-pool"],
)
def test_a_delete_finding_nothing_recorded_reads_only_the_record_and_answers_within_a_second(
    invoke, pool_api, stack_api, physical_id, pool_calls
):
    pool_api.add_pool("meeting-audio")

    invocation = invoke(event("Delete", pool=physical_id.rsplit("/")[-1], PhysicalResourceId=physical_id))

    assert invocation.body["Status"] == "SUCCESS"
    assert invocation.body["PhysicalResourceId"] == physical_id
    assert invocation.seconds < 1.0
    assert [call.method for call in pool_api.calls] == pool_calls
    assert stack_api.calls == []


def test_a_delete_in_an_update_rollback_puts_the_pool_back_to_the_live_declaration_of_its_stack(
    invoke, pool_api, stack_api
):
    # GIVEN a rename: the new resource (12 h, created by the failed update) and the old one (48 h) both
    # declare the pool, which the new one set to 12 h
    pool = pool_api.add_pool("meeting-audio", retention=12)
    renamed = Resource(STACK_ID, LOGICAL_ID)
    pool.tags = {
        **declared(48, resource=Resource(STACK_ID, "Meeting"), original=24),
        **declared(12, resource=renamed, prior=48),
    }
    stack_api.status = "UPDATE_ROLLBACK_IN_PROGRESS"
    stack_api.stack_resources = {"Meeting": ("UPDATE_COMPLETE", ARN)}

    # WHEN the rollback deletes the new resource
    invocation = invoke(event("Delete", hours="12", PhysicalResourceId=ARN))

    # THEN the pool is back at what the old resource declares, and only the new declaration is forgotten
    assert invocation.body["Status"] == "SUCCESS"
    assert pool.retention == 48
    # its own resource (present? a late Delete does nothing), the other declaration, its stack's status
    assert stack_api.calls == ["DescribeStackResource", "DescribeStackResource", "DescribeStacks"]
    assert "below the 48 h a live declaration states: raised to it" in invocation.logs
    assert pool.tags == declared(48, resource=Resource(STACK_ID, "Meeting"), original=24)


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ({"DataRetentionInHours": "48"}, "PoolIdentifier is missing"),
        ({"PoolIdentifier": "meeting-audio"}, "DataRetentionInHours is missing"),
        (
            {"PoolIdentifier": "meeting-audio", "DataRetentionInHours": "0"},
            "DataRetentionInHours must be whole hours from 1 to 87600; got '0'",
        ),
        (
            {"PoolIdentifier": "meeting-audio", "DataRetentionInHours": "87601"},
            "DataRetentionInHours must be whole hours from 1 to 87600; got '87601'",
        ),
        (
            {"PoolIdentifier": "meeting-audio", "DataRetentionInHours": "1.5"},
            "DataRetentionInHours must be whole hours",
        ),
        (
            {"PoolIdentifier": "meeting-audio", "DataRetentionInHours": "forever"},
            "DataRetentionInHours must be whole hours",
        ),
        (
            {"PoolIdentifier": "meeting audio", "DataRetentionInHours": "48"},
            "PoolIdentifier must be a pool name",
        ),
        (
            {"PoolIdentifier": "meeting-audio", "DataRetentionInHours": "48", "Extra": "x"},
            "Unknown property Extra",
        ),
    ],
)
def test_bad_input_fails_fast_naming_the_property(invoke, pool_api, properties, reason):
    pool_api.add_pool("meeting-audio")

    invocation = invoke(cloudformation_event("Create", properties))

    assert_failed(invocation, reason, within_seconds=1.0)
    assert pool_api.calls == []


def test_a_missing_pool_is_named_with_its_region(invoke, pool_api):
    invocation = invoke(event("Create", pool="no-such-pool"))

    assert_failed(invocation, "Pool no-such-pool was not found in region us-east-1")


def test_a_lasting_denial_names_the_action_after_the_iam_propagation_window(invoke, pool_api):
    pool_api.add_pool("meeting-audio", forbidden=True)

    invocation = invoke(event("Create"))

    assert_failed(
        invocation,
        "Access denied to chime:GetMediaPipelineKinesisVideoStreamPool on pool meeting-audio",
        within_seconds=12,  # five tries over 10 s: a grant made just before may take that long to apply
    )
    assert len(pool_api.calls_of("GET")) == 5


@pytest.mark.parametrize(
    ("method", "code", "status", "times"),
    [("GET", "ThrottledClientException", 429, 3), ("PUT", "ServiceUnavailableException", 503, 2)],
    ids=["throttled-three-times", "unavailable-twice"],
)
def test_transient_faults_are_retried_until_the_call_succeeds(invoke, pool_api, method, code, status, times):
    pool_api.add_pool("meeting-audio", retention=24)
    pool_api.fail(method, code, status, times=times)

    invocation = invoke(event("Create"))

    assert_success(invocation)
    assert [call.answered for call in pool_api.calls_of(method)][: times + 1] == [status] * times + [200]
    assert invocation.seconds < 20  # three paced retries, each at most 1.5 x a gap of 3 to 4 s


def test_a_busy_pool_is_waited_for_then_updated(invoke, pool_api):
    pool = pool_api.add_pool("meeting-audio", retention=24, status="UPDATING")
    pool.busy_until = time.monotonic() + 1.5

    invocation = invoke(event("Create"))

    assert_success(invocation)
    assert pool_api.calls_of("PUT")[0].answered == 200
    assert invocation.seconds < 3.5


def test_a_conflict_on_update_waits_and_retries(invoke, pool_api):
    pool_api.add_pool("meeting-audio", retention=24)
    pool_api.fail("PUT", "ConflictException", 409, times=1)

    invocation = invoke(event("Create"))

    assert_success(invocation)
    assert [call.answered for call in pool_api.calls_of("PUT")] == [409, 200]


def test_a_pool_that_ends_failed_fails_the_event(invoke, pool_api):
    pool_api.add_pool("meeting-audio", retention=24, settles_as="FAILED")
    pool_api.transition_seconds = 1.0

    invocation = invoke(event("Create"))

    assert_failed(invocation, "Pool meeting-audio is FAILED: its retention cannot be managed")


def test_a_pool_busy_beyond_the_functions_time_fails_with_its_own_reason(invoke, pool_api):
    pool_api.add_pool("meeting-audio", retention=24)
    pool_api.transition_seconds = 120.0

    # 72 s of Lambda time: 3.5 s to work after the 68.5 s kept for answering (a read under way and the
    # slowest response delivery).
    invocation = invoke(event("Create"), budget_seconds=72.0)

    assert_failed(
        invocation,
        "Pool meeting-audio was still UPDATING when this deployment ran out of time",
        within_seconds=6,
    )
    assert invocation.body["Reason"] != "Execution timed out"


@pytest.mark.parametrize("trouble", ["busy", "throttled"])
def test_a_rollback_update_that_runs_out_of_time_answers_success_with_the_old_pools_id(
    invoke, pool_api, stack_api, trouble
):
    # GIVEN a failed update that moved the resource to other-pool, and meeting-audio busy beyond the time,
    # or its API throttling until the time is gone (the invocation's pacing then outlasts it)
    pool_api.add_pool("meeting-audio", retention=24)
    pool_api.transition_seconds = 120.0
    if trouble == "throttled":
        pool_api.fail("GET", "ThrottledClientException", times=1000)
    moved_to = pool_api.add_pool("other-pool", retention=48)
    stack_api.status = "UPDATE_ROLLBACK_IN_PROGRESS"

    # WHEN the rollback's Update (back to meeting-audio) uses up the invocation's time
    invocation = invoke(event("Update", PhysicalResourceId=moved_to.arn), budget_seconds=72.0)

    # THEN it answers SUCCESS, not UPDATE_ROLLBACK_FAILED, says what to set by hand, and names the pool its
    # old properties declare: the id changing back brings the Delete that undoes other-pool's change
    assert invocation.body["Status"] == "SUCCESS", invocation.body
    assert invocation.body["PhysicalResourceId"] == ARN
    assert "pool meeting-audio NOT put back to 48 h" in invocation.logs
    assert "DescribeStacks" in stack_api.calls


def test_a_response_url_that_drops_the_first_attempt_still_gets_the_response(
    invoke, pool_api, response_endpoint
):
    pool_api.add_pool("meeting-audio", retention=48)
    response_endpoint.answers = [None, 503]

    invocation = invoke(event("Create"))

    assert_success(invocation)
    assert response_endpoint.attempts == 3


def test_logs_never_contain_the_presigned_url(invoke, pool_api, response_endpoint):
    pool_api.add_pool("meeting-audio", retention=24)
    response_endpoint.answers = [503]

    invocation = invoke(event("Create"))

    assert "X-Amz-Signature" not in invocation.logs
    assert "SECRET-SIGNATURE" not in invocation.logs
    assert "cloudformation-response" not in invocation.logs
    assert "response SUCCESS sent: HTTP 200" in invocation.logs


def test_the_stand_in_rejects_unsigned_requests(pool_api):
    pool_api.add_pool("meeting-audio")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(f"{pool_api.url}/media-pipeline-kinesis-video-stream-pools/meeting-audio")

    assert error.value.code == 403
    assert error.value.headers["x-amzn-ErrorType"] == "UnauthorizedClientException"


RESTORING = {"PoolIdentifier": "meeting-audio", "DataRetentionInHours": "48", "RestoreOnDelete": "true"}


def test_restore_on_delete_puts_back_the_retention_from_before_the_first_change(invoke, pool_api):
    pool = pool_api.add_pool("meeting-audio", retention=24)

    assert_success(invoke(cloudformation_event("Create", RESTORING)))
    assert pool.tags == declared(48, restores=True, prior=24, original=24)
    assert_success(
        invoke(cloudformation_event("Update", {**RESTORING, "DataRetentionInHours": "72"})), hours=72
    )
    assert pool.tags == declared(72, restores=True, prior=24, original=24)

    deleted = invoke(cloudformation_event("Delete", RESTORING, PhysicalResourceId=ARN))

    assert deleted.body["Status"] == "SUCCESS", deleted.body["Reason"]
    assert pool.retention == 24
    assert pool.tags == {}
    assert "back to its original, 24 h" in deleted.logs


def test_restore_on_delete_of_a_pool_that_no_longer_exists_succeeds(invoke, pool_api):
    invocation = invoke(cloudformation_event("Delete", RESTORING, PhysicalResourceId=ARN))

    assert invocation.body["Status"] == "SUCCESS"
    assert [call.method for call in pool_api.calls] == ["list-tags"]


@pytest.mark.parametrize("request_type", ["Create", "Delete"])
def test_every_log_line_is_one_json_object_naming_the_event(invoke, pool_api, request_type):
    pool_api.add_pool("meeting-audio", retention=24)
    pool_api.transition_seconds = 0.5
    extra = {"PhysicalResourceId": ARN} if request_type == "Delete" else {}

    invocation = invoke(event(request_type, **extra))

    lines = [json.loads(line) for line in invocation.logs.splitlines() if line.strip()]
    assert lines
    for line in lines:
        assert line["RequestType"] == request_type
        assert line["StackId"] == "arn:aws:cloudformation:us-east-1:111122223333:stack/Retention/1b2c3d4e"
        assert line["RequestId"] == "unique-request-id"
        assert line["LogicalResourceId"] == "Pool0B9733A61"
        assert line["level"] in {"INFO", "WARNING", "ERROR"}
        assert isinstance(line["message"], str | dict | int)
    messages = [str(line["message"]) for line in lines]
    if request_type == "Create":
        assert "pool meeting-audio: retention 24 h -> 48 h" in messages
        assert any(message.startswith("pool meeting-audio: ACTIVE after") for message in messages)
    assert "response SUCCESS sent: HTTP 200 (attempt 1)" in messages


def test_a_create_that_failed_after_its_update_is_undone_by_the_delete_that_follows(invoke, pool_api):
    """The pool did not settle in the Create's time: the FAILED answer names the pool, and the rollback's
    Delete with that id waits for the pool to settle, restores it and removes the record."""
    pool = pool_api.add_pool("meeting-audio", retention=24)
    pool_api.transition_seconds = 5.0

    created = invoke(cloudformation_event("Create", RESTORING), budget_seconds=71.0)  # 2.5 s to work

    assert_failed(created, "Pool meeting-audio was still UPDATING", within_seconds=5)
    assert created.body["PhysicalResourceId"] == ARN
    pool_api.transition_seconds = 0.5
    deleted = invoke(cloudformation_event("Delete", RESTORING, PhysicalResourceId=ARN))

    assert deleted.body["Status"] == "SUCCESS"
    assert pool.retention == 24
    assert pool.tags == {}


def test_a_pool_at_its_tag_limit_fails_a_restoring_create_and_keeps_its_retention(invoke, pool_api):
    pool = pool_api.add_pool("meeting-audio", retention=24)
    pool.tags = {f"team-{index:02d}": "media" for index in range(pool.max_tags - 1)}  # room for one more

    invocation = invoke(cloudformation_event("Create", RESTORING))

    assert_failed(
        invocation,
        "Could not record the declaration on pool meeting-audio (kept in tags on the pool): free a tag on "
        "the pool. Its retention was left as it is",
    )
    assert pool.retention == 24  # the record comes before the change: nothing half applied
    assert pool_api.calls_of("PUT") == []
    assert invocation.body["PhysicalResourceId"] == ARN  # the rollback's Delete finds the pool: no record
