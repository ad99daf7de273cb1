"""Pacing: one invocation's requests under throttling, alone (fake clock) and in a herd (virtual time)."""

from __future__ import annotations

import random

import pytest
from botocore.exceptions import ClientError
from pacing import Pacing
from pool_retention import Deadline, PoolRetention, RetentionRequest, ServiceError

from tests.fakes import POOL_ARN, POOL_NAME, FakeClock, pool_configuration
from tests.simulation.herd import simulate_herd

REQUEST = RetentionRequest(pool_identifier=POOL_NAME, data_retention_in_hours=48)


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


def test_the_gap_after_refusals_grows_with_the_time_spent_being_refused():
    clock = FakeClock()
    pace = pacing(clock)

    gaps = []
    for _ in range(8):
        request(pace, clock, served=False)
        gaps.append(pace.gap)

    assert gaps[0] == pace.first_gap
    assert gaps == sorted(gaps)
    assert gaps[-1] == pytest.approx(pace.backoff * clock.now, rel=0.3)
    assert gaps[-1] <= pace.max_gap


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
    """What the core uses of a client besides the calls each test fake answers."""

    meta = type("Meta", (), {"region_name": "us-east-1"})()


class AlwaysFailing(FakeClient):
    """A client whose every call answers one error: the API never recovers within the test."""

    def __init__(self, code: str, status: int) -> None:
        self.code, self.status, self.calls = code, status, 0

    def get_media_pipeline_kinesis_video_stream_pool(self, **_: object) -> dict:
        self.calls += 1
        raise read_error(self.code, self.status)


def test_throttling_is_retried_until_the_invocation_runs_out_of_time_then_says_what_to_do():
    clock = FakeClock()
    client = AlwaysFailing("ThrottledClientException", 429)
    core = PoolRetention(client, Deadline(120, clock=clock, sleep=clock.sleep))  # type: ignore[arg-type]

    with pytest.raises(ServiceError) as raised:
        core.apply(REQUEST)

    reason = str(raised.value)
    assert reason.startswith(f"Could not read pool {POOL_NAME}: the API kept throttling")
    assert f"on {client.calls} of {client.calls} requests" in reason
    assert "raise the account's API rate quota or deploy fewer pools per stack" in reason
    # The advice stays within the 256 characters a Reason keeps, even for a pool given by its ARN.
    assert reason.index("per stack") - len(POOL_NAME) + len(POOL_ARN) < 256
    assert clock.now <= 120  # failed before its time ran out, so this handler answers, not crhelper
    assert clock.now >= 120 - 1.5 * core.pace.max_gap  # and not long before: it kept trying
    assert client.calls <= 30  # at a widening pace, not hammering


def test_a_service_fault_that_never_clears_says_to_retry_later():
    clock = FakeClock()
    client = AlwaysFailing("ServiceUnavailableException", 503)
    core = PoolRetention(client, Deadline(60, clock=clock, sleep=clock.sleep))  # type: ignore[arg-type]

    with pytest.raises(
        ServiceError, match=r"kept failing until time ran out; retry the deployment later \(Serv"
    ):
        core.apply(REQUEST)


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
    core = PoolRetention(client, Deadline(300, clock=clock, sleep=clock.sleep))  # type: ignore[arg-type]

    core.apply(REQUEST)

    spacings = [later - earlier for earlier, later in zip(client.reads[1:], client.reads[2:], strict=False)]
    assert spacings
    assert min(spacings) >= core.pace.first_gap * core.pace.narrow / 2
    assert len(client.reads) < 30 / 1.0  # fewer than the one-a-second an unthrottled poll would make


def test_a_herd_of_thirty_pools_all_succeed_at_near_the_rate_the_api_admits():
    result = simulate_herd(30, 5.0, budget_seconds=575, seed=3)

    assert result.failed == 0, [outcome.reason for outcome in result.outcomes if not outcome.succeeded]
    assert result.requests_per_pool <= 12
    assert result.wall_seconds <= 1.5 * result.floor_seconds
    # No unfair tail: the last pool is done soon after most of the others.
    assert result.wall_seconds - result.finished_quantile(0.9) <= 0.25 * result.floor_seconds


def test_a_herd_past_what_the_function_time_allows_fails_with_the_throttling_reason():
    result = simulate_herd(60, 1.0, budget_seconds=60, seed=3)

    reasons = [outcome.reason for outcome in result.outcomes if not outcome.succeeded]
    assert reasons
    assert all(": the API kept throttling until time ran out; raise" in reason for reason in reasons)
