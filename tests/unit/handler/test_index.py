"""The crhelper layer: what CloudFormation receives for each event, with the pool API and CloudFormation's
API stubbed (botocore's Stubber checks every request against the real service models)."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import calls
import cfn_response
import index
import pytest
from botocore.stub import Stubber
from declarations import Resource
from declaring import Declared

from tests.fakes import (
    LOGICAL_ID,
    POOL_ARN,
    POOL_NAME,
    STACK_ID,
    STACK_KEY,
    cloudformation_event,
    pool_configuration,
)
from tests.unit.handler.stubs import (
    GET,
    declared,
    expect_get,
    expect_tagging,
    expect_tags,
    expect_untagging,
    expect_update,
)

OTHER_STACK = "arn:aws:cloudformation:us-east-1:111122223333:stack/Audio/5f6a7b8c"


@pytest.fixture
def responses(monkeypatch) -> list[dict]:
    """Every response body the handler sends, as CloudFormation would parse it."""
    sent: list[dict] = []

    def record(url: str, body: dict, ssl_verify: object = None) -> bool:
        sent.append(json.loads(cfn_response.encode_body(body)))
        return True

    monkeypatch.setattr(cfn_response, "deliver", record)
    return sent


@pytest.fixture
def stubber(monkeypatch) -> Iterator[Stubber]:
    client = boto3.client("chime-sdk-media-pipelines", region_name="us-east-1")
    regions: list[str | None] = []

    def client_for(region: str | None):
        regions.append(region)
        return client

    monkeypatch.setattr(index, "client_for", client_for)
    with Stubber(client) as stub:
        stub.regions = regions  # type: ignore[attr-defined]
        yield stub
        stub.assert_no_pending_responses()


@pytest.fixture(autouse=True)
def stack_api(monkeypatch) -> Iterator[Stubber]:
    """CloudFormation's API as the handler asks it (DescribeStackResource, DescribeStacks), stubbed;
    nothing else may be asked."""
    client = boto3.client("cloudformation", region_name="us-east-1")
    monkeypatch.setattr(index, "stack_client_for", lambda region: client)
    with Stubber(client) as stub:
        yield stub
        stub.assert_no_pending_responses()


def expect_status(stack_api: Stubber, status: str) -> None:
    stack_api.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackId": STACK_ID,
                    "StackName": "Retention",
                    "CreationTime": "2026-11-30T00:00:00Z",
                    "StackStatus": status,
                }
            ]
        },
        {"StackName": STACK_ID},
    )


def expect_live(stack_api: Stubber, stack_id: str, logical_id: str) -> None:
    stack_api.add_response(
        "describe_stack_resource",
        {
            "StackResourceDetail": {
                "StackId": stack_id,
                "LogicalResourceId": logical_id,
                "PhysicalResourceId": POOL_ARN,
                "ResourceType": "Custom::KinesisVideoStreamPoolRetention",
                "LastUpdatedTimestamp": datetime(2026, 11, 30, tzinfo=UTC),
                "ResourceStatus": "UPDATE_COMPLETE",
            }
        },
        {"StackName": stack_id, "LogicalResourceId": logical_id},
    )


def expect_own_status(stack_api: Stubber, status: str = "CREATE_IN_PROGRESS") -> None:
    """CloudFormation's status of the events' own resource, which a Create or Update asks first, and a
    Delete that finds its declaration (DELETE_IN_PROGRESS: not a late or repeated delivery)."""
    stack_api.add_response(
        "describe_stack_resource",
        {
            "StackResourceDetail": {
                "StackId": STACK_ID,
                "LogicalResourceId": LOGICAL_ID,
                "ResourceType": "Custom::KinesisVideoStreamPoolRetention",
                "LastUpdatedTimestamp": datetime(2026, 11, 30, tzinfo=UTC),
                "ResourceStatus": status,
            }
        },
        {"StackName": STACK_ID, "LogicalResourceId": LOGICAL_ID},
    )


def expect_create(
    stubber: Stubber,
    current: int = 24,
    hours: int = 48,
    *,
    restores: bool = False,
    identifier: str = POOL_NAME,
    stack_api: Stubber | None = None,
) -> None:
    """A lone Create on a pool nothing declares: its resource's status (when `stack_api` is given), then
    list tags, read, record, list again, update, read."""
    record = declared(hours, restores=restores, prior=current, original=current)
    if stack_api is not None:
        expect_own_status(stack_api)
    expect_tags(stubber, POOL_ARN, {})
    expect_get(stubber, current, identifier=identifier)
    expect_tagging(stubber, POOL_ARN, record)
    expect_tags(stubber, POOL_ARN, record)
    if current != hours:
        expect_update(stubber, hours, identifier=identifier)
        expect_get(stubber, hours, identifier=identifier)


def run(event: dict, context) -> dict:
    index.handler(event, context)
    return event


def only(responses: list[dict]) -> dict:
    assert len(responses) == 1, responses
    return responses[0]


def test_create_reports_the_pool_with_its_arn_as_physical_id(responses, stubber, stack_api, lambda_context):
    expect_create(stubber, stack_api=stack_api)

    run(cloudformation_event("Create"), lambda_context)

    body = only(responses)
    assert body["Status"] == "SUCCESS", body["Reason"]
    assert body["PhysicalResourceId"] == POOL_ARN
    assert body["Data"] == {
        "PoolArn": POOL_ARN,
        "PoolStatus": "ACTIVE",
        "PoolId": "7f3c2a1b-0000-4000-8000-000000000001",
        "PoolName": POOL_NAME,
        "PoolSize": 20,
        "Region": "us-east-1",
        "DataRetentionInHours": 48,
        "CreatedTimestamp": "2026-01-02T03:04:05+00:00",
        "UpdatedTimestamp": "2026-11-27T08:00:00+00:00",
    }


def test_an_update_finding_its_declaration_recorded_and_applied_only_reads(
    responses, stubber, lambda_context
):
    expect_tags(stubber, POOL_ARN, declared(48, prior=24, original=24))
    expect_get(stubber, 48)

    run(cloudformation_event("Update", PhysicalResourceId=POOL_ARN), lambda_context)

    assert only(responses)["Status"] == "SUCCESS"


def moved_to_other_pool() -> dict:
    """The Update of a resource moved from meeting-audio to other-pool."""
    return cloudformation_event(
        "Update",
        {"PoolIdentifier": "other-pool", "DataRetentionInHours": "48"},
        PhysicalResourceId=POOL_ARN,
        OldResourceProperties={"PoolIdentifier": POOL_NAME, "DataRetentionInHours": "48"},
    )


def test_identifier_change_returns_the_new_pool_arn_as_physical_id(responses, stubber, lambda_context):
    other = POOL_ARN.replace(POOL_NAME, "other-pool")
    expect_tags(stubber, other, {})
    expect_get(stubber, 48, identifier="other-pool", name="other-pool")
    expect_tagging(stubber, other, declared(48, original=48))
    expect_tags(stubber, other, declared(48, original=48))

    run(moved_to_other_pool(), lambda_context)

    assert only(responses)["PhysicalResourceId"] == other


def test_rollback_with_invalid_old_properties_succeeds(responses, stubber, lambda_context):
    expect_tags(stubber, POOL_ARN, declared(48, prior=24, original=24))
    expect_get(stubber, 48)
    event = cloudformation_event(
        "Update",
        PhysicalResourceId=POOL_ARN,
        OldResourceProperties={"PoolIdentifier": "not a pool!", "DataRetentionInHours": "0"},
    )

    run(event, lambda_context)

    assert only(responses)["Status"] == "SUCCESS"


def test_a_pool_arn_is_read_through_its_own_region(responses, stubber, lambda_context):
    arn = "arn:aws:chime:eu-central-1:111122223333:media-pipeline-kinesis-video-stream-pool/meeting-audio"
    expect_tags(stubber, arn, declared(48, original=48))
    expect_get(stubber, 48, identifier=arn)

    run(cloudformation_event("Create", {"PoolIdentifier": arn, "DataRetentionInHours": "48"}), lambda_context)

    assert only(responses)["Status"] == "SUCCESS"
    assert stubber.regions == ["eu-central-1"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "physical_id", ["Retention_Pool0B9733A61_ABCDEFGH", ""], ids=["failed-create-id", "empty"]
)
def test_a_delete_of_a_resource_that_never_read_a_pool_answers_at_once_without_a_call(
    responses, stubber, stack_api, lambda_context, physical_id
):
    started = time.monotonic()

    run(cloudformation_event("Delete", PhysicalResourceId=physical_id), lambda_context)

    body = only(responses)
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == physical_id
    assert time.monotonic() - started < 1.0


def test_a_delete_of_a_resource_that_recorded_nothing_leaves_the_pool(
    responses, stubber, stack_api, lambda_context
):
    # No record at all: nothing else is asked, of the pool or of CloudFormation.
    expect_tags(stubber, POOL_ARN, {})

    run(cloudformation_event("Delete", PhysicalResourceId=POOL_ARN), lambda_context)

    body = only(responses)
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == POOL_ARN


@pytest.mark.parametrize(
    ("properties", "reason"),
    [
        ({"DataRetentionInHours": "48"}, "PoolIdentifier is missing: set it to a pool name"),
        (
            {"PoolIdentifier": POOL_NAME},
            "DataRetentionInHours is missing: set it to whole hours from 1 to 87600",
        ),
        ({"PoolIdentifier": " ", "DataRetentionInHours": "48"}, "PoolIdentifier is missing"),
        (
            {"PoolIdentifier": POOL_NAME, "DataRetentionInHours": "0"},
            "DataRetentionInHours must be whole hours from 1 to 87600; got '0'",
        ),
        (
            {"PoolIdentifier": POOL_NAME, "DataRetentionInHours": "4.5"},
            "DataRetentionInHours must be whole hours from 1 to 87600; got '4.5'",
        ),
        ({"PoolIdentifier": POOL_NAME, "DataRetentionInHours": "87601"}, "got '87601'"),
        ({"PoolIdentifier": POOL_NAME, "DataRetentionInHours": "two days"}, "got 'two days'"),
        (
            {"PoolIdentifier": "my pool", "DataRetentionInHours": "48"},
            "PoolIdentifier must be a pool name (1-128 characters",
        ),
        (
            {"PoolIdentifier": "arn:aws:s3:::bucket", "DataRetentionInHours": "48"},
            "got 'arn:aws:s3:::bucket'",
        ),
        (
            {"PoolIdentifier": POOL_NAME, "DataRetentionInHours": "48", "Retention": "1"},
            "Unknown property Retention: this resource takes only PoolIdentifier, DataRetentionInHours, "
            "RestoreOnDelete, RecordVersion, StackKey",
        ),
        (
            {"PoolIdentifier": POOL_NAME, "DataRetentionInHours": "48", "StackKey": "Retention"},
            "StackKey must be 16 lower-case hex characters (set by the construct); got 'Retention'",
        ),
    ],
)
def test_bad_properties_fail_with_a_reason_naming_the_property(
    responses, stubber, lambda_context, properties, reason
):
    run(cloudformation_event("Create", properties), lambda_context)

    body = only(responses)
    assert body["Status"] == "FAILED"
    assert reason in body["Reason"]
    assert body["PhysicalResourceId"]  # CloudFormation needs one to send the Delete that follows


def test_the_properties_become_the_resources_declaration():
    properties = {"PoolIdentifier": f" {POOL_ARN} ", "DataRetentionInHours": "72", "RestoreOnDelete": "True"}
    resource = Resource(STACK_ID, LOGICAL_ID)

    assert index.parse_request({**properties, "StackKey": STACK_KEY}, resource) == Declared(
        resource, POOL_ARN, 72, True, STACK_KEY
    )


def test_a_resource_deployed_before_the_stack_key_was_a_property_records_under_the_derived_key(
    responses, stubber, lambda_context
):
    """Resources of 0.2.0 get their first Update only with the new properties; until then, events without
    StackKey record under the key the construct derives for an environment-aware stack."""
    expect_create(stubber)  # the record's anchor: kvs-pool-retention:stack-<STACK_KEY>

    run(cloudformation_event("Create", construct_properties=False), lambda_context)

    assert only(responses)["Status"] == "SUCCESS"


def test_an_unexpected_error_is_reported_without_a_traceback(responses, monkeypatch, lambda_context):
    def broken(region):
        raise KeyError("Endpoint")

    monkeypatch.setattr(index, "client_for", broken)

    run(cloudformation_event("Create"), lambda_context)

    reason = only(responses)["Reason"]
    assert reason.startswith("Unexpected KeyError in the handler: 'Endpoint'.")
    assert "Traceback" not in reason


def test_a_long_reason_keeps_its_beginning(responses, stubber, lambda_context):
    identifier = "p" * 128
    stubber.add_client_error(  # the record is read first
        "list_tags_for_resource",
        service_error_code="NotFoundException",
        service_message="x" * 400,
        http_status_code=404,
    )

    run(
        cloudformation_event("Create", {"PoolIdentifier": identifier, "DataRetentionInHours": "48"}),
        lambda_context,
    )

    reason = only(responses)["Reason"]
    assert reason.startswith(f"Pool {identifier} was not found in region us-east-1")
    assert len(reason) <= 256


def test_logs_never_contain_the_response_url(responses, stubber, lambda_context, caplog):
    caplog.set_level(logging.DEBUG)
    expect_create(stubber, current=48)

    run(cloudformation_event("Create"), lambda_context)

    assert only(responses)["Status"] == "SUCCESS"
    assert "SECRET-SIGNATURE" not in caplog.text
    assert "cloudformation-custom-resource-response" not in caplog.text
    assert f"Create: pool {POOL_NAME} to 48 h" in caplog.text


RESTORING = {"PoolIdentifier": POOL_NAME, "DataRetentionInHours": "48", "RestoreOnDelete": "true"}


def test_restore_on_delete_records_the_declaration_and_the_original_before_the_first_change(
    responses, stubber, lambda_context
):
    expect_create(stubber, restores=True)

    run(cloudformation_event("Create", RESTORING), lambda_context)

    assert only(responses)["Status"] == "SUCCESS"


def test_a_later_change_keeps_the_first_recorded_prior_and_original(responses, stubber, lambda_context):
    expect_tags(stubber, POOL_ARN, declared(48, restores=True, prior=24, original=24))
    expect_get(stubber, 48)
    expect_tagging(stubber, POOL_ARN, declared(72, restores=True, prior=24))
    expect_tags(stubber, POOL_ARN, declared(72, restores=True, prior=24, original=24))
    expect_update(stubber, 72)
    expect_get(stubber, 72)

    run(
        cloudformation_event(
            "Update",
            {**RESTORING, "DataRetentionInHours": "72"},
            PhysicalResourceId=POOL_ARN,
            OldResourceProperties=RESTORING,
        ),
        lambda_context,
    )

    assert only(responses)["Status"] == "SUCCESS"


def expect_put_back(stubber: Stubber, current: int, hours: int, record: dict[str, str]) -> None:
    """A Delete's change: read, update, read until settled, then list the tags again (for a declaration
    written meanwhile) before forgetting."""
    expect_get(stubber, current, identifier=POOL_ARN)
    expect_update(stubber, hours, identifier=POOL_ARN)
    expect_get(stubber, hours, identifier=POOL_ARN)
    expect_tags(stubber, POOL_ARN, record)


def test_delete_with_restore_puts_back_the_original_and_drops_the_record(
    responses, stubber, stack_api, lambda_context
):
    record = declared(48, restores=True, prior=24, original=24)
    expect_tags(stubber, POOL_ARN, record)
    expect_own_status(stack_api, "DELETE_IN_PROGRESS")
    expect_status(stack_api, "DELETE_IN_PROGRESS")
    expect_put_back(stubber, 48, 24, record)
    expect_untagging(stubber, POOL_ARN, sorted(record))

    run(cloudformation_event("Delete", RESTORING, PhysicalResourceId=POOL_ARN), lambda_context)

    assert only(responses)["Status"] == "SUCCESS"


def test_delete_with_restore_of_a_vanished_pool_succeeds(responses, stubber, lambda_context):
    stubber.add_client_error(
        "list_tags_for_resource", service_error_code="NotFoundException", http_status_code=404
    )

    run(cloudformation_event("Delete", RESTORING, PhysicalResourceId=POOL_ARN), lambda_context)

    assert only(responses)["Status"] == "SUCCESS"


def test_delete_with_restore_after_a_create_that_failed_before_reading_calls_nothing(
    responses, stubber, lambda_context
):
    run(
        cloudformation_event("Delete", RESTORING, PhysicalResourceId="Retention_Pool_ABCDEFGH"),
        lambda_context,
    )

    assert only(responses)["Status"] == "SUCCESS"


def test_a_failed_create_that_read_the_pool_answers_with_its_arn(responses, stubber, lambda_context):
    expect_tags(stubber, POOL_ARN, {})
    expect_get(stubber, 24, "FAILED")

    run(cloudformation_event("Create"), lambda_context)

    body = only(responses)
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith(f"Pool {POOL_NAME} is FAILED")
    assert body["PhysicalResourceId"] == POOL_ARN  # so the rollback's Delete finds the pool


def test_a_failed_update_that_moved_the_resource_answers_with_the_new_pools_arn(
    responses, stubber, lambda_context
):
    other = POOL_ARN.replace(POOL_NAME, "other-pool")
    expect_tags(stubber, other, {})
    stubber.add_response(
        GET,
        {"KinesisVideoStreamPoolConfiguration": pool_configuration(24, "FAILED", name="other-pool")},
        {"Identifier": "other-pool"},
    )
    event = moved_to_other_pool()

    run(event, lambda_context)

    assert only(responses)["PhysicalResourceId"] == other


def test_a_failed_update_before_reading_keeps_the_physical_id(responses, stubber, lambda_context):
    event = cloudformation_event(
        "Update", {"PoolIdentifier": "bad pool", "DataRetentionInHours": "48"}, PhysicalResourceId=POOL_ARN
    )

    run(event, lambda_context)

    assert only(responses)["PhysicalResourceId"] == POOL_ARN


def test_a_create_conflicting_with_another_stacks_declaration_fails_naming_it_with_the_pools_arn(
    responses, stubber, stack_api, lambda_context
):
    theirs = declared(72, resource=Resource(OTHER_STACK, "Meeting"), key="0123456789abcdef", original=24)
    ours = declared(48, prior=72)
    expect_tags(stubber, POOL_ARN, theirs)
    expect_get(stubber, 72)
    expect_tagging(stubber, POOL_ARN, ours)
    expect_tags(stubber, POOL_ARN, {**theirs, **ours})
    expect_get(stubber, 72)  # read again: a Delete of the declaration listed may be changing the pool
    expect_live(stack_api, OTHER_STACK, "Meeting")
    expect_status(stack_api, "CREATE_IN_PROGRESS")
    expect_untagging(stubber, POOL_ARN, list(ours))  # taken back before the answer

    run(cloudformation_event("Create"), lambda_context)

    body = only(responses)
    assert body["Status"] == "FAILED"
    assert body["Reason"].startswith(
        f"Pool {POOL_NAME} is declared at 72 h by stack Audio (resource Meeting); this resource declares 48 h"
    )
    assert body["PhysicalResourceId"] == POOL_ARN


@pytest.mark.parametrize(
    ("status", "put_back"),
    [
        ("DELETE_IN_PROGRESS", False),
        ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", False),
        ("ROLLBACK_IN_PROGRESS", True),
        ("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", True),
    ],
)
def test_a_delete_without_restore_on_delete_leaves_the_pool_unless_it_rolls_back_a_deployment(
    responses, stubber, stack_api, lambda_context, status, put_back
):
    record = declared(48, prior=24, original=24)
    expect_tags(stubber, POOL_ARN, record)
    expect_own_status(stack_api, "DELETE_IN_PROGRESS")
    expect_status(stack_api, status)
    if put_back:  # to the value before this resource's Create
        expect_put_back(stubber, 48, 24, record)
    else:
        expect_get(stubber, 48, identifier=POOL_ARN)
    expect_untagging(stubber, POOL_ARN, sorted(record))

    run(cloudformation_event("Delete", PhysicalResourceId=POOL_ARN), lambda_context)

    assert only(responses)["Status"] == "SUCCESS"


def test_a_delete_that_cannot_read_its_stack_says_what_to_set_if_it_rolls_back(
    responses, stubber, stack_api, lambda_context, caplog
):
    record = declared(48, prior=24, original=24)
    expect_tags(stubber, POOL_ARN, record)
    expect_own_status(stack_api, "DELETE_IN_PROGRESS")
    stack_api.add_client_error("describe_stacks", service_error_code="AccessDenied", http_status_code=403)
    expect_get(stubber, 48, identifier=POOL_ARN)
    expect_untagging(stubber, POOL_ARN, sorted(record))

    run(cloudformation_event("Delete", PhysicalResourceId=POOL_ARN), lambda_context)

    assert only(responses)["Status"] == "SUCCESS"
    assert (
        f"pool {POOL_ARN}: could not tell whether this Delete rolls back a failed deployment; if it does, "
        "set the pool to 24 h by hand" in caplog.text
    )


def test_an_invalid_restore_on_delete_fails_create(responses, stubber, lambda_context):
    run(cloudformation_event("Create", {**RESTORING, "RestoreOnDelete": "yes"}), lambda_context)

    assert only(responses)["Reason"] == "RestoreOnDelete must be true or false; got 'yes'."


def test_the_answering_margin_covers_a_read_under_way_and_the_slowest_delivery():
    """A request under way (3 s to connect, 8 to read), then five delivery attempts of 10 s with their
    longest waits between: 68.5 s, what the README says is kept back."""
    assert index.RESPONSE_MARGIN_SECONDS == 3 + 8 + 5 * 10 + (0.5 + 1 + 2 + 4) == 68.5


def signed_url(seconds_ago: float, expires: int = 7200) -> str:
    """A SigV4 pre-signed response URL, signed `seconds_ago` before now."""
    signed = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - seconds_ago))
    return (
        "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/stack?"
        f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={signed}&X-Amz-Expires={expires}"
        "&X-Amz-SignedHeaders=host&X-Amz-Signature=SECRET-SIGNATURE"
    )


@pytest.mark.parametrize("request_type", ["Create", "Update", "Delete"])
def test_an_event_cloudformation_no_longer_waits_for_makes_no_call_and_changes_nothing(
    responses, stubber, lambda_context, caplog, request_type
):
    properties = {"PoolIdentifier": POOL_NAME, "DataRetentionInHours": "48", "RestoreOnDelete": "true"}
    event = cloudformation_event(request_type, properties, ResponseURL=signed_url(seconds_ago=1000))
    if request_type != "Create":
        event["PhysicalResourceId"] = POOL_ARN
    caplog.set_level(logging.INFO)

    run(event, lambda_context)  # the stubber has no answers queued: any API call would fail the test

    body = only(responses)
    assert body["Status"] == "FAILED"
    # The URL's time has whole seconds: 100 s late, or 101 s by the time the handler reads the clock.
    assert re.match(f"This {request_type} event arrived 10[01] s after CloudFormation", body["Reason"])
    assert "nothing was changed" in body["Reason"]
    assert "no call made, nothing changed" in caplog.text
    assert stubber.regions == []


def test_an_expired_response_url_is_late_whatever_the_service_timeout(responses, stubber, lambda_context):
    event = cloudformation_event("Create", ResponseURL=signed_url(seconds_ago=400, expires=300))

    run(event, lambda_context)

    assert re.match("This Create event arrived 10[01] s after", only(responses)["Reason"])


def test_a_recent_event_is_acted_on_within_the_time_cloudformation_still_waits(
    responses, stubber, lambda_context, monkeypatch
):
    deadlines: list[float] = []
    real_declare = index.declare

    def declare(pools, stacks, declared):
        deadlines.append(pools.caller.deadline.remaining())
        return real_declare(pools, stacks, declared)

    monkeypatch.setattr(index, "declare", declare)
    expect_create(stubber, current=48)

    run(cloudformation_event("Create", ResponseURL=signed_url(seconds_ago=800)), lambda_context)

    assert only(responses)["Status"] == "SUCCESS"
    # ServiceTimeout 900 s, signed 800 s ago: 100 s left for CloudFormation, less the answering margin.
    assert 100 - index.RESPONSE_MARGIN_SECONDS - 2 < deadlines[0] <= 100 - index.RESPONSE_MARGIN_SECONDS


def test_a_rollback_update_denied_in_another_region_answers_success_saying_what_to_set(
    responses, stubber, stack_api, lambda_context, monkeypatch, caplog
):
    monkeypatch.setattr(calls, "ACCESS_DENIED_RETRY_DELAYS", (0.01,) * 4)
    arn = "arn:aws:chime:eu-central-1:111122223333:media-pipeline-kinesis-video-stream-pool/meeting-audio"
    expect_own_status(stack_api, "UPDATE_IN_PROGRESS")
    for _ in range(5):
        stubber.add_client_error(
            "list_tags_for_resource", service_error_code="AccessDeniedException", http_status_code=403
        )
    expect_status(stack_api, "UPDATE_ROLLBACK_IN_PROGRESS")
    rollback = cloudformation_event(
        "Update", {"PoolIdentifier": arn, "DataRetentionInHours": "48"}, PhysicalResourceId=POOL_ARN
    )

    run(rollback, lambda_context)

    body = only(responses)
    assert body["Status"] == "SUCCESS", body.get("Reason")
    assert body["PhysicalResourceId"] == arn
    assert f"Update, rollback: pool {arn} NOT put back to 48 h: Access denied to a pool in eu-central-1" in (
        caplog.text
    )


def test_a_pool_in_another_region_denied_says_to_declare_it_with_pool_arn(
    responses, stubber, lambda_context, monkeypatch
):
    monkeypatch.setattr(calls, "ACCESS_DENIED_RETRY_DELAYS", (0.01,) * 4)
    arn = "arn:aws:chime:eu-central-1:111122223333:media-pipeline-kinesis-video-stream-pool/meeting-audio"
    for _ in range(5):  # its record is read first
        stubber.add_client_error(
            "list_tags_for_resource", service_error_code="AccessDeniedException", http_status_code=403
        )

    run(cloudformation_event("Create", {"PoolIdentifier": arn, "DataRetentionInHours": "48"}), lambda_context)

    reason = only(responses)["Reason"]
    assert reason.startswith(
        "Access denied to a pool in eu-central-1, outside the stack's region (us-east-1): declare it with "
        "pool_arn or as a literal ARN, so that its ARN is granted (chime:ListTagsForResource"
    )
    assert len(reason) <= 256
