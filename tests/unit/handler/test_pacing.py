"""Pacing: one invocation's requests under throttling, alone (fake clock) and in a herd of Creates (virtual
time). What the Caller does with it (retries, deadlines, Reasons) is in test_calls.py."""

from __future__ import annotations

import random
from collections.abc import Callable

import pytest
from botocore.exceptions import ClientError
from calls import Caller, Deadline
from pacing import Pacing
from pool_api import PoolApi
from settling import wait_until_settled

from tests.fakes import POOL_NAME, FakeClock, pool_configuration
from tests.simulation.herd import REQUESTS_PER_CREATE, simulate_herd


def pacing(clock: FakeClock) -> Pacing:
    return Pacing(clock=clock, rng=random.Random(7))


def request(pace: Pacing, clock: FakeClock, *, served: bool) -> float:
    """Wait for the turn, make one request that is served or refused; return the wait that follows."""
    clock.sleep(pace.wait())
    pace.started()
    pace.served() if served else pace.refused()
    return pace.wait()


def test_an_invocation_never_refused_sends_without_waiting():
    clock = FakeClock()
    pace = pacing(clock)

    waits = [request(pace, clock, served=True) for _ in range(5)]

    assert waits == [0.0] * 5
    assert clock.sleeps == [0.0] * 5


def test_the_gap_after_refusals_grows_with_the_root_of_the_time_since_the_contention_began():
    clock = FakeClock()
    pace = pacing(clock)

    gaps = []
    for _ in range(12):
        request(pace, clock, served=False)
        gaps.append(pace.gap)

    assert gaps[0] == pace.first_gap
    assert gaps == sorted(gaps)
    contended = clock.now  # the first request started at 0; never served: the full gap
    assert gaps[-1] == pytest.approx(min(pace.max_gap, pace.steep * contended**0.5))
    assert gaps[-1] > pace.first_gap


def contend(served_when: Callable[[int], bool]) -> tuple[Pacing, Pacing]:
    """Two invocations refused together at 0 s, then one request a second each for a minute: the first
    always refused, the second served in the seconds `served_when` says."""
    clock = FakeClock()
    refused, other = pacing(clock), Pacing(clock=clock, rng=random.Random(8))
    for pace in (refused, other):
        pace.started()
        pace.refused()
    for second in range(1, 60):
        clock.now = float(second)
        refused.started()
        refused.refused()
        other.started()
        other.served() if served_when(second) else other.refused()
    return refused, other


def test_invocations_refused_at_the_same_time_keep_the_same_gap_whatever_their_luck():
    unlucky, lucky = contend(lambda second: second % 3 == 0)  # served once for each two refusals

    assert lucky.faults < unlucky.faults
    assert lucky.gap == unlucky.gap


def test_an_invocation_mostly_served_keeps_a_smaller_gap_than_one_mostly_refused():
    refused, served = contend(lambda second: second % 4 != 0)  # a small herd: refused now and then

    assert served.gap < refused.gap / 2


def test_served_requests_narrow_the_gap_back_to_none():
    clock = FakeClock()
    pace = pacing(clock)
    for _ in range(6):
        request(pace, clock, served=False)
    widest = pace.gap

    gaps = []
    while pace.gap:
        request(pace, clock, served=True)
        gaps.append(pace.gap)

    assert gaps[0] == pytest.approx(widest * pace.narrow)
    assert gaps[-1] == 0.0
    assert len(gaps) <= 6


def test_jitter_spreads_invocations_refused_together():
    clock = FakeClock()
    paces = [Pacing(clock=clock, rng=random.Random(seed)) for seed in range(50)]
    for pace in paces:
        pace.started()
        pace.refused()

    waits = sorted(pace.wait() for pace in paces)

    assert waits[0] >= pace.first_gap / 2
    assert waits[-1] <= pace.first_gap * 1.5
    assert waits[-1] - waits[0] >= pace.first_gap / 2


def read_error(code: str, status: int) -> ClientError:
    return ClientError(
        {"Error": {"Code": code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "GetMediaPipelineKinesisVideoStreamPool",
    )


class FakeClient:
    """What PoolApi uses of a client besides the calls each test fake answers."""

    meta = type("Meta", (), {"region_name": "us-east-1"})()


class ThrottledThenBusy(FakeClient):
    """Throttles the first read, then shows the pool UPDATING for a while: polling follows the pace."""

    def __init__(self, clock: FakeClock) -> None:
        self.clock, self.reads = clock, []

    def get_media_pipeline_kinesis_video_stream_pool(self, **_: object) -> dict:
        self.reads.append(self.clock.now)
        if len(self.reads) == 1:
            raise read_error("ThrottledClientException", 429)
        status = "UPDATING" if self.clock.now < 30 else "ACTIVE"
        return {"KinesisVideoStreamPoolConfiguration": pool_configuration(48, status)}


def test_a_throttled_invocation_also_polls_a_busy_pool_more_slowly():
    clock = FakeClock()
    client = ThrottledThenBusy(clock)
    caller = Caller(Deadline(300, clock=clock, sleep=clock.sleep))

    wait_until_settled(PoolApi(client, caller), POOL_NAME)  # type: ignore[arg-type]

    spacings = [later - earlier for earlier, later in zip(client.reads[1:], client.reads[2:], strict=False)]
    assert spacings
    assert spacings[0] >= caller.pacing.first_gap * caller.pacing.narrow / 2  # paced after the refusal
    assert len(client.reads) < 30 / 1.0  # fewer than the one-a-second an unthrottled poll would make


@pytest.mark.parametrize(("pools", "rate"), [(50, 10.0), (100, 5.0)])
def test_a_whole_stack_deploys_within_one_and_a_half_floors_in_the_median_of_three_runs(pools, rate):
    # The benchmark's whole-stack figures (make bench runs them as processes): which invocations the API
    # happens to serve first varies, so the median run counts, as there.
    runs = sorted(
        (simulate_herd(pools, rate, budget_seconds=531.5, seed=seed) for seed in (1, 2, 3)),
        key=lambda run: run.wall_seconds,
    )
    median = runs[1]

    assert all(run.failed == 0 for run in runs)
    assert median.wall_seconds <= 1.5 * median.floor_seconds
    assert max(run.requests_per_pool for run in runs) <= REQUESTS_PER_CREATE + 9  # 429s included


def test_a_herd_past_what_the_function_time_allows_fails_with_the_throttling_reason():
    result = simulate_herd(60, 1.0, budget_seconds=60, seed=3)

    reasons = [outcome.reason for outcome in result.outcomes if not outcome.succeeded]
    assert reasons
    # Mostly the throttling advice; an invocation whose time ran out between requests says so instead.
    throttled = [
        reason for reason in reasons if ": the API kept throttling until time ran out; raise" in reason
    ]
    assert len(throttled) >= 0.9 * len(reasons)
    assert all("ran out of time" in reason or reason in throttled for reason in reasons)
