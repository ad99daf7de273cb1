"""The handler core against botocore's Stubber, which checks every request against the real service model."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber
from pool_retention import (
    ORIGINAL_RETENTION_TAG,
    AccessDenied,
    Deadline,
    PollingSchedule,
    PoolFailed,
    PoolNotFound,
    PoolNotSettled,
    PoolRetention,
    RetentionRequest,
)

from tests.fakes import POOL_NAME, FakeClock, pool_configuration
from tests.handler.stubs import GET, UPDATE, expect_restore, expect_tags


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


TAG = ORIGINAL_RETENTION_TAG
ARN = pool_configuration()["PoolArn"]


def test_an_original_retention_of_zero_hours_is_left_unrestored_but_the_tag_is_dropped(stubbed, clock):
    _, stubber = stubbed
    expect_tags(stubber, ARN, {TAG: "0"})
    stubber.add_response("untag_resource", {}, {"ResourceARN": ARN, "TagKeys": [TAG]})

    assert retention(stubbed, clock).restore_original(ARN) is None


def test_a_pool_vanishing_during_restore_means_nothing_to_restore(stubbed, clock):
    _, stubber = stubbed
    expect_tags(stubber, ARN, {TAG: "24"})
    stubber.add_client_error(GET, service_error_code="NotFoundException", http_status_code=404)

    assert retention(stubbed, clock).restore_original(ARN) is None


def test_a_restore_returns_the_hours_put_back(stubbed, clock):
    _, stubber = stubbed
    expect_restore(stubber, ARN, current=48, original=24)

    assert retention(stubbed, clock).restore_original(ARN) == 24
