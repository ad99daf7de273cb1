"""Bringing a pool to a retention and waiting until it settles, against botocore's Stubber (fake clock)."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber
from calls import Caller, Deadline
from errors import PoolFailed, PoolNotSettled, RetentionOverwritten, ServiceError
from pool_api import PoolApi
from settling import PollingSchedule, set_retention, wait_until_settled

from tests.fakes import POOL_NAME, FakeClock
from tests.unit.handler.stubs import UPDATE, expect_error, expect_get, expect_update


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def stubbed() -> Iterator[tuple[object, Stubber]]:
    client = boto3.client("chime-sdk-media-pipelines", region_name="eu-west-2")
    with Stubber(client) as stubber:
        yield client, stubber
        stubber.assert_no_pending_responses()


def api(stubbed, clock: FakeClock, seconds: float = 300) -> PoolApi:
    client, _ = stubbed
    return PoolApi(client, Caller(Deadline(seconds, clock=clock, sleep=clock.sleep)))


def bring_to(stubbed, clock: FakeClock, hours: int = 48, seconds: float = 300) -> dict:
    """What declare() does with the pool: read it until settled, then set the retention."""
    pools = api(stubbed, clock, seconds)
    return set_retention(pools, POOL_NAME, hours, wait_until_settled(pools, POOL_NAME))


def test_unchanged_retention_makes_no_update_call(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 48)

    pool = bring_to(stubbed, clock)

    assert pool["StreamConfiguration"]["DataRetentionInHours"] == 48
    assert clock.sleeps == []


def test_changed_retention_is_updated_and_waited_for_until_active(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 24)
    expect_update(stubber, 48)
    expect_get(stubber, 48, "UPDATING")
    expect_get(stubber, 48, "UPDATING")
    expect_get(stubber, 48, "ACTIVE")

    pool = bring_to(stubbed, clock)

    assert pool["PoolStatus"] == "ACTIVE"
    assert pool["StreamConfiguration"]["DataRetentionInHours"] == 48
    assert clock.sleeps == [0.5, 1.5, 1.0]  # no read right after the update: it answered UPDATING


def test_a_busy_pool_is_waited_for_before_it_is_compared(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 48, "CREATING")
    expect_get(stubber, 48, "ACTIVE")

    bring_to(stubbed, clock)

    assert clock.sleeps == [0.5]


def test_a_conflict_on_a_busy_pool_waits_for_it_then_compares_again_and_makes_no_second_update(
    stubbed, clock
):
    """A duplicate of this event updated the pool first: once it settles, the value is already there."""
    _, stubber = stubbed
    expect_get(stubber, 24)
    expect_error(stubber, UPDATE, "ConflictException", 409)
    expect_get(stubber, 48, "UPDATING")
    expect_get(stubber, 48, "ACTIVE")

    pool = bring_to(stubbed, clock)

    assert pool["StreamConfiguration"]["DataRetentionInHours"] == 48


def test_a_conflict_on_a_busy_pool_changed_to_another_value_applies_the_update_once_it_settles(
    stubbed, clock
):
    _, stubber = stubbed
    expect_get(stubber, 24)
    expect_error(stubber, UPDATE, "ConflictException", 409)
    expect_get(stubber, 24, "UPDATING")
    expect_get(stubber, 24, "ACTIVE")
    expect_update(stubber, 48)
    expect_get(stubber, 48)

    assert bring_to(stubbed, clock)["StreamConfiguration"]["DataRetentionInHours"] == 48


def test_a_conflict_on_a_pool_that_reads_active_is_a_refusal_retried_at_a_widening_pace(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 24)
    expect_error(stubber, UPDATE, "ConflictException", 409)
    expect_get(stubber, 24)  # ACTIVE: not busy, so the conflict was a refusal
    for _ in range(40):
        expect_error(stubber, UPDATE, "ConflictException", 409)

    with pytest.raises(ServiceError) as error:
        bring_to(stubbed, clock, seconds=120)

    assert str(error.value).startswith(
        f"Could not update pool {POOL_NAME}: the API kept refusing the update although the pool was ACTIVE"
    )
    updates = 41 - len(stubber._queue)  # type: ignore[attr-defined]
    assert updates <= 15  # paced: a gap of 3 s at first, widening with the time refused
    assert clock.now <= 120
    stubber._queue.clear()  # type: ignore[attr-defined]


def test_a_pool_ending_failed_fails_with_its_status(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 24)
    expect_update(stubber, 48)
    expect_get(stubber, 48, "FAILED")

    with pytest.raises(PoolFailed, match=f"^Pool {POOL_NAME} is FAILED: its retention cannot be managed"):
        bring_to(stubbed, clock)


def test_a_deleting_pool_is_not_updated(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 24, "DELETING")

    with pytest.raises(PoolFailed, match="is DELETING"):
        bring_to(stubbed, clock)


def test_a_pool_busy_past_the_deadline_fails_before_the_time_runs_out(stubbed, clock):
    _, stubber = stubbed
    for _ in range(6):
        expect_get(stubber, 48, "UPDATING")

    with pytest.raises(
        PoolNotSettled, match=f"^Pool {POOL_NAME} was still UPDATING when this deployment ran out"
    ):
        bring_to(stubbed, clock, seconds=5)

    assert clock.now <= 5


def test_a_retention_changed_by_another_writer_while_settling_is_applied_again(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 24)
    expect_update(stubber, 48)
    expect_get(stubber, 72)  # someone else's update won
    expect_update(stubber, 48)
    expect_get(stubber, 48)

    assert bring_to(stubbed, clock)["StreamConfiguration"]["DataRetentionInHours"] == 48


def test_a_writer_that_keeps_changing_the_pool_fails_the_event_naming_both_values(stubbed, clock):
    _, stubber = stubbed
    expect_get(stubber, 24)
    for _ in range(3):
        expect_update(stubber, 48)
        expect_get(stubber, 72)

    with pytest.raises(
        RetentionOverwritten, match=f"^Pool {POOL_NAME} settled at 72 h, not the declared 48 h, 3 times"
    ):
        bring_to(stubbed, clock)


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
