"""The handler core against botocore's Stubber, which checks every request against the real service model."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber
from pool_record import ORIGINAL, OWNER, OWNER_HOURS, OWNER_STACK, SUCCESSOR, SUCCESSOR_STACK, Holder
from pool_retention import (
    AccessDenied,
    Deadline,
    InvalidRecord,
    PollingSchedule,
    PoolFailed,
    PoolNotFound,
    PoolNotSettled,
    PoolRetention,
    RetentionOverwritten,
    RetentionRequest,
    ServiceError,
)

from tests.fakes import POOL_ARN, POOL_NAME, STACK_ID, FakeClock, pool_configuration
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
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def stubbed() -> Iterator[tuple[object, Stubber]]:
    client = boto3.client("chime-sdk-media-pipelines", region_name="eu-west-2")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def retention(stubbed: tuple[object, Stubber], clock: FakeClock, seconds: float = 300) -> PoolRetention:
    client, _ = stubbed
    return PoolRetention(client, Deadline(seconds, clock=clock, sleep=clock.sleep))  # type: ignore[arg-type]


def expect_get(stubber: Stubber, hours: int, status: str = "ACTIVE") -> None:
    stubber.add_response(
        GET,
        {"KinesisVideoStreamPoolConfiguration": pool_configuration(hours, status)},
        {"Identifier": POOL_NAME},
    )


def expect_update(stubber: Stubber, hours: int) -> None:
    stubber.add_response(
        UPDATE,
        {"KinesisVideoStreamPoolConfiguration": pool_configuration(hours, "UPDATING")},
        {"Identifier": POOL_NAME, "StreamConfiguration": {"DataRetentionInHours": hours}},
    )


def expect_error(stubber: Stubber, method: str, code: str, status: int) -> None:
    stubber.add_client_error(
        method, service_error_code=code, service_message=f"{code} message", http_status_code=status
    )


REQUEST = RetentionRequest(pool_identifier=POOL_NAME, data_retention_in_hours=48)


def test_unchanged_retention_makes_no_update_call(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 48)

    pool = retention(stubbed, clock).apply(REQUEST)

    assert pool["StreamConfiguration"]["DataRetentionInHours"] == 48
    assert clock.sleeps == []


def test_changed_retention_is_updated_and_waited_for_until_active(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 24)
    expect_update(stubber, 48)
    expect_get(stubber, 48, "UPDATING")
    expect_get(stubber, 48, "UPDATING")
    expect_get(stubber, 48, "ACTIVE")

    pool = retention(stubbed, clock).apply(REQUEST)

    assert pool["PoolStatus"] == "ACTIVE"
    assert pool["StreamConfiguration"]["DataRetentionInHours"] == 48
    assert clock.sleeps == [0.5, 1.5, 1.0]  # no read right after the update: it answered UPDATING


def test_a_busy_pool_is_waited_for_before_it_is_read_for_comparison(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 48, "CREATING")
    expect_get(stubber, 48, "ACTIVE")

    retention(stubbed, clock).apply(REQUEST)

    assert clock.sleeps == [0.5]


def test_conflict_on_update_waits_for_the_pool_then_applies_the_update(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 24)
    expect_error(stubber, UPDATE, "ConflictException", 409)
    expect_get(stubber, 24, "ACTIVE")
    expect_update(stubber, 48)
    expect_get(stubber, 48, "ACTIVE")

    pool = retention(stubbed, clock).apply(REQUEST)

    assert pool["StreamConfiguration"]["DataRetentionInHours"] == 48


def test_a_pool_ending_failed_fails_with_its_status(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 24)
    expect_update(stubber, 48)
    expect_get(stubber, 48, "FAILED")

    with pytest.raises(PoolFailed, match=f"^Pool {POOL_NAME} is FAILED: its retention cannot be managed"):
        retention(stubbed, clock).apply(REQUEST)


def test_a_deleting_pool_is_not_updated(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 24, "DELETING")

    with pytest.raises(PoolFailed, match="is DELETING"):
        retention(stubbed, clock).apply(REQUEST)


def test_a_missing_pool_is_named_with_its_region(stubbed, clock):
    _, stubber = stubbed
    expect_error(stubber, GET, "NotFoundException", 404)

    with pytest.raises(PoolNotFound, match=f"^Pool {POOL_NAME} was not found in region eu-west-2"):
        retention(stubbed, clock).apply(REQUEST)


@pytest.mark.parametrize(
    ("method", "action"),
    [
        (GET, "chime:GetMediaPipelineKinesisVideoStreamPool"),
        (UPDATE, "chime:UpdateMediaPipelineKinesisVideoStreamPool"),
    ],
)
def test_access_denied_names_the_action(stubbed, clock, method, action):
    _, stubber = stubbed
    if method == UPDATE:
        expect_get(stubber, 24)
    for _ in range(5):  # the first try and four more within IAM's propagation window
        expect_error(stubber, method, "ForbiddenException", 403)

    with pytest.raises(AccessDenied, match=f"^Access denied to {action} on pool {POOL_NAME}"):
        retention(stubbed, clock).apply(REQUEST)


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottledClientException", 429),
        ("ServiceUnavailableException", 503),
        ("ServiceFailureException", 500),
    ],
)
def test_transient_faults_are_retried_at_a_widening_pace(stubbed, clock, code, status):
    _, stubber = stubbed
    for _ in range(3):
        expect_error(stubber, GET, code, status)
    expect_get(stubber, 48)

    retention(stubbed, clock).apply(REQUEST)

    assert len(clock.sleeps) == 3
    assert clock.sleeps[0] >= 1.5  # half the first gap: no retry straight back into the same crowd
    assert all(delay <= 3 * 4.5 for delay in clock.sleeps)


def test_a_pool_busy_past_the_deadline_fails_before_the_time_runs_out(stubbed, clock):
    _, stubber = stubbed
    for _ in range(6):
        expect_get(stubber, 48, "UPDATING")

    with pytest.raises(
        PoolNotSettled, match=f"^Pool {POOL_NAME} was still UPDATING when this deployment ran out"
    ):
        retention(stubbed, clock, seconds=5).apply(REQUEST)

    assert clock.now <= 5


@pytest.mark.parametrize("transition", [0.4, 3.0, 9.5, 60.0, 300.0])
def test_polling_notices_a_settled_pool_soon_with_at_most_one_read_a_second(transition):
    delays = PollingSchedule().delays()
    elapsed, reads = 0.0, 0
    while elapsed < transition:
        elapsed += next(delays)
        reads += 1

    assert elapsed - transition <= (1.0 if transition <= 10 else 1.5)
    assert reads <= max(1, elapsed)


def test_polling_starts_sub_second_and_eases_to_every_one_and_a_half_seconds():
    delays = PollingSchedule().delays()
    schedule = [next(delays) for _ in range(30)]

    assert schedule[0] < 1
    assert schedule[-1] == 1.5


def test_a_retention_the_answer_leaves_out_reads_as_zero_hours(stubbed, clock):
    _, stubber = stubbed
    configuration = pool_configuration(24)
    del configuration["StreamConfiguration"]["DataRetentionInHours"]  # optional in the service model
    stubber.add_response(
        GET, {"KinesisVideoStreamPoolConfiguration": configuration}, {"Identifier": POOL_NAME}
    )
    expect_update(stubber, 48)
    expect_get(stubber, 48)

    pool = retention(stubbed, clock).apply(REQUEST)

    assert pool["StreamConfiguration"]["DataRetentionInHours"] == 48


def test_a_retention_changed_by_another_writer_while_settling_is_applied_again(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 24)
    expect_update(stubber, 48)
    expect_get(stubber, 72)  # someone else's update won
    expect_update(stubber, 48)
    expect_get(stubber, 48)

    pool = retention(stubbed, clock).apply(REQUEST)

    assert pool["StreamConfiguration"]["DataRetentionInHours"] == 48


def test_a_writer_that_keeps_changing_the_pool_fails_the_event_naming_both_values(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 24)
    for _ in range(3):
        expect_update(stubber, 48)
        expect_get(stubber, 72)

    with pytest.raises(
        RetentionOverwritten, match=f"^Pool {POOL_NAME} settled at 72 h, not the declared 48 h, 3 times"
    ):
        retention(stubbed, clock).apply(REQUEST)


def test_a_conflict_on_a_pool_that_reads_active_is_a_refusal_retried_at_a_widening_pace(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 24)
    expect_error(stubber, UPDATE, "ConflictException", 409)
    expect_get(stubber, 24)  # ACTIVE: not busy, so the conflict was a refusal
    for _ in range(40):
        expect_error(stubber, UPDATE, "ConflictException", 409)

    with pytest.raises(ServiceError) as error:
        retention(stubbed, clock, seconds=120).apply(REQUEST)

    assert str(error.value).startswith(
        f"Could not update pool {POOL_NAME}: the API kept refusing the update although the pool was ACTIVE"
    )
    updates = 41 - len(stubber._queue)  # type: ignore[attr-defined]
    assert updates <= 15  # paced: a gap of 3 s at first, widening with the time refused
    assert clock.now <= 120
    stubber._queue.clear()  # type: ignore[attr-defined]


def test_an_http_429_without_an_error_code_is_throttling(stubbed, clock):
    _, stubber = stubbed
    stubber.add_client_error(GET, service_error_code="", http_status_code=429)
    expect_get(stubber, 48)

    retention(stubbed, clock).apply(REQUEST)

    assert len(clock.sleeps) == 1
    assert clock.sleeps[0] >= 1.5


def test_an_access_denial_is_retried_for_iam_propagation_then_succeeds(stubbed, clock):
    _, stubber = stubbed
    expect_error(stubber, GET, "AccessDeniedException", 403)
    expect_error(stubber, GET, "AccessDeniedException", 403)
    expect_get(stubber, 48)

    retention(stubbed, clock).apply(REQUEST)

    assert clock.sleeps == [1.0, 2.0]


def test_a_lasting_denial_fails_after_ten_seconds_naming_the_action(stubbed, clock):
    _, stubber = stubbed
    for _ in range(5):
        expect_error(stubber, GET, "AccessDeniedException", 403)

    with pytest.raises(AccessDenied, match=r"^Access denied to chime:GetMediaPipelineKinesisVideoStreamPool"):
        retention(stubbed, clock).apply(REQUEST)

    assert sum(clock.sleeps) == 10.0


# --- The record (restore_on_delete) ------------------------------------------------------------------

ME = Holder(STACK_ID, "Pool0B9733A61")
RENAMED = Holder(STACK_ID, "Renamed")
RESTORING = RetentionRequest(POOL_NAME, 48, restore_on_delete=True)
KEPT = RetentionRequest(POOL_NAME, 48)


def test_the_first_change_records_the_original_before_updating(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 24)
    expect_tags(stubber, POOL_ARN, {"team": "media"})
    expect_tagging(stubber, POOL_ARN, record(original=24, owner_hours=48))
    expect_update(stubber, 48)
    expect_get(stubber, 48)

    retention(stubbed, clock).apply(RESTORING, resource=ME)


def test_a_take_over_registers_the_successor_and_keeps_the_original(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 168)
    expect_tags(stubber, POOL_ARN, record(original=24, owner_hours=168, logical_id="Old"))
    expect_tagging(stubber, POOL_ARN, {SUCCESSOR_STACK: STACK_ID, SUCCESSOR: "Pool0B9733A61"})
    expect_update(stubber, 48)
    expect_get(stubber, 48)

    retention(stubbed, clock).apply(RESTORING, resource=ME, new_to_pool=True)


def test_a_damaged_record_fails_a_create_naming_the_tag(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 24)
    expect_tags(stubber, POOL_ARN, {ORIGINAL: "²"})

    with pytest.raises(
        InvalidRecord, match=f"^Pool {POOL_NAME} carries a damaged restore record .tag {ORIGINAL}"
    ):
        retention(stubbed, clock).apply(RESTORING, resource=ME)


def test_without_restore_on_delete_taking_over_an_unchanged_pool_removes_the_record(stubbed, clock, caplog):
    _, stubber = stubbed
    expect_get(stubber, 48)
    expect_tags(stubber, POOL_ARN, {"team": "media", **record(owner_hours=48, logical_id="Old")})
    expect_untagging(stubber, POOL_ARN)

    retention(stubbed, clock).apply(KEPT, resource=ME, new_to_pool=True)

    assert "its retention before kvs-pool-retention (24 h) is not put back" in caplog.text


def test_without_restore_on_delete_a_change_or_a_kept_pool_never_reads_tags(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 24)
    expect_update(stubber, 48)
    expect_get(stubber, 48)
    expect_get(stubber, 48)

    retention(stubbed, clock).apply(KEPT, resource=ME, new_to_pool=True)
    retention(stubbed, clock).apply(KEPT, resource=ME, new_to_pool=False)


def release(stubbed, clock, *, resource=ME, declared=48, owner_gone=False, seconds=300) -> str:
    return retention(stubbed, clock, seconds).release(
        POOL_ARN, resource, declared=declared, owner_gone=lambda owner: owner_gone
    )


def test_the_last_holder_restores_the_original_and_removes_the_record(stubbed, clock):
    _, stubber = stubbed
    expect_restore(stubber, POOL_ARN, current=48, original=24)

    assert release(stubbed, clock) == f"pool {POOL_ARN} restored to its original 24 h"


def test_an_owner_with_a_successor_hands_the_record_over_and_leaves_the_pool(stubbed, clock):
    _, stubber = stubbed
    expect_tags(
        stubber, POOL_ARN, {**record(owner_hours=168), SUCCESSOR_STACK: STACK_ID, SUCCESSOR: "Renamed"}
    )
    stubber.add_response(GET, {"KinesisVideoStreamPoolConfiguration": pool_configuration(200)})
    expect_tagging(
        stubber,
        POOL_ARN,
        {OWNER_STACK: STACK_ID, OWNER: "Renamed", OWNER_HOURS: "200", SUCCESSOR_STACK: "", SUCCESSOR: ""},
    )

    assert "handed over to Retention/Renamed at 200 h" in release(stubbed, clock, declared=168)


def test_a_successor_whose_owner_is_still_declared_gives_the_pool_back_to_it(stubbed, clock):
    _, stubber = stubbed
    expect_tags(
        stubber,
        POOL_ARN,
        {**record(owner_hours=168, logical_id="Old"), SUCCESSOR_STACK: STACK_ID, SUCCESSOR: "Pool0B9733A61"},
    )
    stubber.add_response(GET, {"KinesisVideoStreamPoolConfiguration": pool_configuration(48)})
    stubber.add_response(UPDATE, {"KinesisVideoStreamPoolConfiguration": pool_configuration(168, "UPDATING")})
    stubber.add_response(GET, {"KinesisVideoStreamPoolConfiguration": pool_configuration(168)})
    expect_tagging(stubber, POOL_ARN, {SUCCESSOR_STACK: "", SUCCESSOR: ""})

    assert "back to 168 h for Retention/Old" in release(stubbed, clock, owner_gone=False)


def test_a_delete_that_no_longer_holds_the_record_changes_nothing(stubbed, clock):
    _, stubber = stubbed
    expect_tags(stubber, POOL_ARN, record(logical_id="Renamed"))

    assert (
        release(stubbed, clock) == f"pool {POOL_ARN}: its record belongs to Retention/Renamed, left as it is"
    )


def test_a_pool_changed_by_another_writer_is_left_and_its_record_forgotten(stubbed, clock, caplog):
    _, stubber = stubbed
    expect_tags(stubber, POOL_ARN, record(original=24, owner_hours=48))
    stubber.add_response(GET, {"KinesisVideoStreamPoolConfiguration": pool_configuration(72)})
    expect_untagging(stubber, POOL_ARN)

    outcome = release(stubbed, clock)

    assert "NOT restored: it holds 72 h, not the 48 h Retention/Pool0B9733A61 declared" in outcome
    assert "Its retention before kvs-pool-retention was 24 h" in outcome
    assert "NOT restored" in caplog.text


@pytest.mark.parametrize(
    ("tags", "why"),
    [
        ({ORIGINAL: "²"}, f"its restore record is damaged (tag {ORIGINAL} is '²'"),
        ({ORIGINAL: "999999"}, "not hours from 0 to 87600"),
        ({ORIGINAL: ""}, f"tag {ORIGINAL} is empty"),
    ],
)
def test_a_damaged_record_never_blocks_a_delete(stubbed, clock, tags, why):
    _, stubber = stubbed
    expect_tags(stubber, POOL_ARN, tags)

    assert why in release(stubbed, clock)


@pytest.mark.parametrize("status", ["DELETING", "FAILED"])
def test_a_pool_going_away_or_broken_is_left_within_one_read(stubbed, clock, status):
    _, stubber = stubbed
    expect_tags(stubber, POOL_ARN, record())
    stubber.add_response(GET, {"KinesisVideoStreamPoolConfiguration": pool_configuration(48, status)})

    outcome = release(stubbed, clock)

    assert f"NOT restored: Pool {POOL_ARN} is {status}" in outcome
    assert "Its retention before kvs-pool-retention was 24 h" in outcome
    assert clock.now < 1


def test_a_pool_that_vanished_has_nothing_to_restore(stubbed, clock):
    _, stubber = stubbed
    expect_error(stubber, "list_tags_for_resource", "NotFoundException", 404)

    assert release(stubbed, clock) == f"pool {POOL_ARN} no longer exists: nothing to restore"


def test_an_original_of_zero_hours_cannot_be_set_again_and_the_record_is_dropped(stubbed, clock):
    _, stubber = stubbed
    expect_tags(stubber, POOL_ARN, record(original=0))
    stubber.add_response(GET, {"KinesisVideoStreamPoolConfiguration": pool_configuration(48)})
    expect_untagging(stubber, POOL_ARN)

    assert "its original retention of 0 h cannot be set again" in release(stubbed, clock)


def test_the_owner_removes_the_successor_tags_a_hand_over_emptied(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 48)
    expect_tags(stubber, POOL_ARN, {**record(owner_hours=48), SUCCESSOR_STACK: "", SUCCESSOR: ""})
    expect_untagging(stubber, POOL_ARN, [SUCCESSOR_STACK, SUCCESSOR])

    retention(stubbed, clock).apply(RESTORING, resource=ME, new_to_pool=False)
