"""The crhelper layer: what CloudFormation receives for each event, with the API stubbed."""

from __future__ import annotations

import json
import logging
import re
import time
from collections.abc import Iterator

import boto3
import cfn_response
import index
import pool_retention
import pytest
from botocore.stub import Stubber
from pool_record import RECORD_KEYS

from tests.fakes import POOL_ARN, POOL_NAME, STACK_ID, cloudformation_event, pool_configuration
from tests.handler.stubs import (
    GET,
    UPDATE,
    expect_restore,
    expect_tagging,
    expect_tags,
    expect_untagging,
    record,
)


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


@pytest.fixture
def stack_api(monkeypatch) -> Iterator[Stubber]:
    """CloudFormation's API as the handler asks it (DescribeStacks, GetTemplate), stubbed; nothing else
    may be asked."""
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


def expect_template(stack_api: Stubber, resources: dict) -> None:
    stack_api.add_response(
        "get_template",
        {"TemplateBody": json.dumps({"Resources": resources})},
        {"StackName": STACK_ID, "TemplateStage": "Processed"},
    )


def retention_resource(pool: str, hours: int, **extra: str) -> dict:
    return {
        "Type": "Custom::KinesisVideoStreamPoolRetention",
        "Properties": {"ServiceToken": "arn", "PoolIdentifier": pool, "DataRetentionInHours": hours, **extra},
    }


def expect_get(stubber: Stubber, hours: int, identifier: str = POOL_NAME, name: str = POOL_NAME) -> None:
    stubber.add_response(
        GET,
        {"KinesisVideoStreamPoolConfiguration": pool_configuration(hours, name=name)},
        {"Identifier": identifier},
    )


def run(event: dict, context) -> dict:
    index.handler(event, context)
    return event


def only(responses: list[dict]) -> dict:
    assert len(responses) == 1, responses
    return responses[0]


def test_create_reports_the_pool_with_its_arn_as_physical_id(responses, stubber, lambda_context):
    expect_get(stubber, 24)
    stubber.add_response(UPDATE, {"KinesisVideoStreamPoolConfiguration": pool_configuration(48, "UPDATING")})
    expect_get(stubber, 48)

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


def test_update_with_unchanged_retention_only_reads_the_pool(responses, stubber, lambda_context):
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
    expect_get(stubber, 48, identifier="other-pool", name="other-pool")
    event = moved_to_other_pool()

    run(event, lambda_context)

    assert only(responses)["PhysicalResourceId"] == POOL_ARN.replace(POOL_NAME, "other-pool")


def test_rollback_with_invalid_old_properties_succeeds(responses, stubber, lambda_context):
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
    expect_get(stubber, 48, identifier=arn)
    expect_tags(stubber, POOL_ARN, {})  # a Create finding the retention already set looks for a record

    run(cloudformation_event("Create", {"PoolIdentifier": arn, "DataRetentionInHours": "48"}), lambda_context)

    assert only(responses)["Status"] == "SUCCESS"
    assert stubber.regions == ["eu-central-1"]  # type: ignore[attr-defined]


@pytest.mark.parametrize(
    "physical_id",
    [POOL_ARN, "Retention_Pool0B9733A61_ABCDEFGH", ""],
    ids=["pool-arn", "failed-create-id", "empty"],
)
def test_delete_answers_at_once_without_calling_the_pool_api(
    responses, stubber, stack_api, lambda_context, physical_id
):
    if physical_id.startswith("arn:"):  # a pool: is the stack rolling an update back?
        expect_status(stack_api, "DELETE_IN_PROGRESS")
    started = time.monotonic()

    run(cloudformation_event("Delete", PhysicalResourceId=physical_id), lambda_context)

    body = only(responses)
    assert body["Status"] == "SUCCESS"
    assert body["PhysicalResourceId"] == physical_id
    assert time.monotonic() - started < 1.0


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
            "RestoreOnDelete",
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
    stubber.add_client_error(
        GET, service_error_code="NotFoundException", service_message="x" * 400, http_status_code=404
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
    expect_get(stubber, 48)
    expect_tags(stubber, POOL_ARN, {})

    run(cloudformation_event("Create"), lambda_context)

    assert only(responses)["Status"] == "SUCCESS"
    assert "SECRET-SIGNATURE" not in caplog.text
    assert "cloudformation-custom-resource-response" not in caplog.text
    assert f"Create: pool {POOL_NAME} to 48 h" in caplog.text


RESTORING = {"PoolIdentifier": POOL_NAME, "DataRetentionInHours": "48", "RestoreOnDelete": "true"}


def test_restore_on_delete_remembers_the_original_retention_and_its_owner_before_the_first_change(
    responses, stubber, lambda_context
):
    expect_get(stubber, 24)
    expect_tags(stubber, POOL_ARN, {})
    expect_tagging(stubber, POOL_ARN, record(original=24, owner_hours=48))
    stubber.add_response(UPDATE, {"KinesisVideoStreamPoolConfiguration": pool_configuration(48, "UPDATING")})
    expect_get(stubber, 48)

    run(cloudformation_event("Create", RESTORING), lambda_context)

    assert only(responses)["Status"] == "SUCCESS"


def test_a_later_change_keeps_the_first_remembered_retention(responses, stubber, lambda_context):
    expect_get(stubber, 48)
    expect_tags(stubber, POOL_ARN, record(original=24, owner_hours=48))
    expect_tagging(stubber, POOL_ARN, {"kvs-pool-retention:owner-hours": "72"})
    stubber.add_response(UPDATE, {"KinesisVideoStreamPoolConfiguration": pool_configuration(72, "UPDATING")})
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


def test_delete_with_restore_puts_back_the_original_and_drops_the_record(responses, stubber, lambda_context):
    expect_restore(stubber, POOL_ARN, current=48, original=24)

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
    expect_get(stubber, 24)
    stubber.add_response(UPDATE, {"KinesisVideoStreamPoolConfiguration": pool_configuration(48, "UPDATING")})
    stubber.add_response(GET, {"KinesisVideoStreamPoolConfiguration": pool_configuration(48, "FAILED")})

    run(cloudformation_event("Create"), lambda_context)

    body = only(responses)
    assert body["Status"] == "FAILED"
    assert body["PhysicalResourceId"] == POOL_ARN  # so the rollback's Delete finds the pool


def test_a_failed_update_that_moved_the_resource_answers_with_the_new_pools_arn(
    responses, stubber, lambda_context
):
    other = POOL_ARN.replace(POOL_NAME, "other-pool")
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


def test_an_update_on_the_same_pool_keeps_it_and_one_that_moves_takes_it_over(
    responses, stubber, lambda_context, monkeypatch
):
    seen: list[bool] = []
    real_apply = index.PoolRetention.apply

    def apply(self, request, **context):
        seen.append(context["new_to_pool"])
        return real_apply(self, request, **context)

    monkeypatch.setattr(index.PoolRetention, "apply", apply)
    expect_get(stubber, 48)
    expect_get(stubber, 48, identifier=POOL_ARN)
    expect_get(stubber, 48, identifier="other-pool", name="other-pool")
    for old, new in ((POOL_NAME, POOL_NAME), (POOL_NAME, POOL_ARN), (POOL_NAME, "other-pool")):
        properties = {"PoolIdentifier": new, "DataRetentionInHours": "48"}
        old_properties = {"PoolIdentifier": old, "DataRetentionInHours": "48"}
        run(
            cloudformation_event(
                "Update", properties, PhysicalResourceId=POOL_ARN, OldResourceProperties=old_properties
            ),
            lambda_context,
        )

    assert seen == [False, False, True]


@pytest.mark.parametrize(
    "status", ["DELETE_IN_PROGRESS", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", "ROLLBACK_IN_PROGRESS"]
)
def test_a_delete_without_restore_on_delete_leaves_the_pool_unless_an_update_rolls_back(
    responses, stubber, stack_api, lambda_context, status
):
    expect_status(stack_api, status)

    run(cloudformation_event("Delete", PhysicalResourceId=POOL_ARN), lambda_context)

    assert only(responses)["Status"] == "SUCCESS"


def test_a_resource_deleted_by_an_update_rollback_puts_the_pool_back_as_the_old_template_declares(
    responses, stubber, stack_api, lambda_context
):
    """A renamed construct created by a failed update: the old one gets no event, so the new one's Delete
    puts the pool back to the retention the template the stack rolls back to declares."""
    expect_status(stack_api, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    expect_template(
        stack_api, {"Old": retention_resource(POOL_NAME, 168), "Other": retention_resource("other-pool", 12)}
    )
    expect_get(stubber, 12, identifier=POOL_ARN)
    stubber.add_response(UPDATE, {"KinesisVideoStreamPoolConfiguration": pool_configuration(168, "UPDATING")})
    expect_get(stubber, 168, identifier=POOL_ARN)
    renamed = {"PoolIdentifier": POOL_NAME, "DataRetentionInHours": "12"}

    run(cloudformation_event("Delete", renamed, PhysicalResourceId=POOL_ARN), lambda_context)

    assert only(responses)["Status"] == "SUCCESS"


def test_a_rollback_to_a_template_that_declares_the_pool_by_a_deploy_time_value_leaves_it(
    responses, stubber, stack_api, lambda_context
):
    expect_status(stack_api, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    expect_template(stack_api, {"Old": retention_resource(POOL_NAME, {"Ref": "Hours"})})  # type: ignore[arg-type]

    run(cloudformation_event("Delete", PhysicalResourceId=POOL_ARN), lambda_context)

    assert only(responses)["Status"] == "SUCCESS"


@pytest.mark.parametrize(
    ("declared", "gone"), [(True, False), (False, True)], ids=["owner-declared", "owner-gone"]
)
def test_a_successor_asks_the_stacks_template_whether_its_owner_is_still_declared(
    responses, stubber, stack_api, lambda_context, declared, gone
):
    expect_tags(
        stubber,
        POOL_ARN,
        {
            **record(owner_hours=48, logical_id="Old"),
            "kvs-pool-retention:successor-stack": STACK_ID,
            "kvs-pool-retention:successor": "Pool0B9733A61",
        },
    )
    expect_status(stack_api, "DELETE_IN_PROGRESS")
    expect_template(
        stack_api, {"Old": retention_resource(POOL_NAME, 48, RestoreOnDelete="true")} if declared else {}
    )
    expect_get(stubber, 48, identifier=POOL_ARN)
    if gone:  # the last resource holding the pool: restored, the record removed
        stubber.add_response(
            UPDATE, {"KinesisVideoStreamPoolConfiguration": pool_configuration(24, "UPDATING")}
        )
        expect_get(stubber, 24, identifier=POOL_ARN)
        expect_untagging(stubber, POOL_ARN, list(RECORD_KEYS))
    else:  # its owner holds the pool again
        expect_tagging(
            stubber, POOL_ARN, {"kvs-pool-retention:successor-stack": "", "kvs-pool-retention:successor": ""}
        )

    run(cloudformation_event("Delete", RESTORING, PhysicalResourceId=POOL_ARN), lambda_context)

    assert only(responses)["Status"] == "SUCCESS"


def test_a_successor_whose_owner_is_in_another_stack_never_restores(
    responses, stubber, stack_api, lambda_context
):
    elsewhere = STACK_ID.replace("Retention/1b2c3d4e", "Audio/5f6a7b8c")
    expect_tags(
        stubber,
        POOL_ARN,
        {
            **record(owner_hours=48, logical_id="Old"),
            "kvs-pool-retention:owner-stack": elsewhere,
            "kvs-pool-retention:successor-stack": STACK_ID,
            "kvs-pool-retention:successor": "Pool0B9733A61",
        },
    )
    expect_get(stubber, 48, identifier=POOL_ARN)
    expect_tagging(
        stubber, POOL_ARN, {"kvs-pool-retention:successor-stack": "", "kvs-pool-retention:successor": ""}
    )

    run(cloudformation_event("Delete", RESTORING, PhysicalResourceId=POOL_ARN), lambda_context)

    assert only(responses)["Status"] == "SUCCESS"


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
    real_apply = index.PoolRetention.apply

    def apply(self, request, **context):
        deadlines.append(self.deadline.remaining())
        return real_apply(self, request, **context)

    monkeypatch.setattr(index.PoolRetention, "apply", apply)
    expect_get(stubber, 48)
    expect_tags(stubber, POOL_ARN, {})

    run(cloudformation_event("Create", ResponseURL=signed_url(seconds_ago=800)), lambda_context)

    assert only(responses)["Status"] == "SUCCESS"
    # ServiceTimeout 900 s, signed 800 s ago: 100 s left for CloudFormation, less the answering margin.
    assert 100 - index.RESPONSE_MARGIN_SECONDS - 2 < deadlines[0] <= 100 - index.RESPONSE_MARGIN_SECONDS


def test_a_pool_in_another_region_denied_says_to_declare_it_with_pool_arn(
    responses, stubber, lambda_context, monkeypatch
):
    monkeypatch.setattr(pool_retention, "ACCESS_DENIED_RETRY_DELAYS", (0.01,) * 4)
    arn = "arn:aws:chime:eu-central-1:111122223333:media-pipeline-kinesis-video-stream-pool/meeting-audio"
    for _ in range(5):
        stubber.add_client_error(GET, service_error_code="AccessDeniedException", http_status_code=403)

    run(cloudformation_event("Create", {"PoolIdentifier": arn, "DataRetentionInHours": "48"}), lambda_context)

    reason = only(responses)["Reason"]
    assert reason.startswith(
        "Access denied to a pool in eu-central-1, outside the stack's region (us-east-1): declare it with "
        "pool_arn or as a literal ARN, so that its ARN is granted (chime:GetMediaPipeline"
    )
    assert len(reason) <= 256


def test_a_successor_deleted_in_a_rollback_gives_the_pool_back_without_reading_the_template(
    responses, stubber, stack_api, lambda_context
):
    """The owner is in the template a stack rolls back to by construction: no GetTemplate, whose answer
    during a rollback CloudFormation does not document."""
    expect_tags(
        stubber,
        POOL_ARN,
        {
            **record(owner_hours=48, logical_id="Old"),
            "kvs-pool-retention:successor-stack": STACK_ID,
            "kvs-pool-retention:successor": "Pool0B9733A61",
        },
    )
    expect_status(stack_api, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    expect_get(stubber, 48, identifier=POOL_ARN)
    expect_tagging(
        stubber, POOL_ARN, {"kvs-pool-retention:successor-stack": "", "kvs-pool-retention:successor": ""}
    )

    run(cloudformation_event("Delete", RESTORING, PhysicalResourceId=POOL_ARN), lambda_context)

    assert only(responses)["Status"] == "SUCCESS"


def test_a_rollbacks_delete_that_cannot_read_its_stack_says_what_it_left(
    responses, stubber, stack_api, lambda_context, caplog
):
    stack_api.add_client_error("describe_stacks", service_error_code="Throttling", http_status_code=400)

    run(cloudformation_event("Delete", PhysicalResourceId=POOL_ARN), lambda_context)

    assert only(responses)["Status"] == "SUCCESS"
    assert f"pool {POOL_ARN} NOT restored: the stack's status could not be read" in caplog.text
