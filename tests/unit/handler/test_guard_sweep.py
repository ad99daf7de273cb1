"""The retention guard's sweep (`guard.sweep`): every declared pool of the stack, from its own retention
resources, the stack's gauge its maximum (0 only when every pool was read); pools in other regions read
there; 200 pools within the sweep's pacing in virtual time."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

import guard
import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from calls import Caller, Deadline
from declarations import Resource
from guarding import SWEEP_REQUESTS_PER_SECOND, SweepPacing
from own_stack import OwnStack

from tests.fakes import STACK_ID, LambdaContext, client_error
from tests.simulation.herd import ModelClient
from tests.simulation.virtual_time import VirtualTime
from tests.standins.pool_api import PoolApi, pool_arn
from tests.unit.handler.stubs import declared
from tests.unit.handler.test_guarding import (
    RESOURCE_TYPE,
    SETTINGS,
    OwnStackClient,
    add_pool,
    gauges,
    metric_lines,
    run,
)


@pytest.fixture
def api() -> PoolApi:
    return PoolApi()


def test_the_sweep_publishes_every_pool_and_the_stack_maximum(api, monkeypatch, capsys):
    in_sync = add_pool(api, "in-sync", holds=48, declares=48)
    drifted = add_pool(api, "lowered", holds=1, declares=48)
    add_pool(api, "not-ours", holds=5, declares=None)  # no resource of the stack names it

    outcome = run(api, {"sweep": True}, monkeypatch, stack=OwnStackClient([in_sync, drifted]))

    assert outcome["drifted"] == [drifted]
    assert outcome["complete"] is True
    assert gauges(capsys.readouterr().out) == [
        (("Stack+Pool",), 0),
        (("Stack+Pool",), 1),
        (("Stack",), 1),
    ]


def test_a_sweep_with_every_pool_in_sync_clears_the_stack_gauge(api, monkeypatch, capsys):
    for index in range(3):
        add_pool(api, f"pool-{index}", holds=48, declares=48)

    run(api, {"sweep": True}, monkeypatch)

    assert gauges(capsys.readouterr().out)[-1] == (("Stack",), 0)


def sweep_in_virtual_time(pools: int, rate: float, budget: float) -> tuple[dict[str, Any], PoolApi, float]:
    virtual = VirtualTime()
    api = PoolApi(clock=virtual.clock)
    api.limit_rate(rate)
    arns = []
    for index in range(pools):
        arns.append(add_pool(api, f"pool-{index:04d}", holds=1 if index % 50 == 7 else 48, declares=48))
    outcome: dict[str, Any] = {}

    def sweep() -> None:
        deadline = Deadline(budget, clock=virtual.clock, sleep=virtual.sleep)
        caller = Caller(deadline, SweepPacing(clock=virtual.clock, rng=random.Random(3)), retry_denials=False)
        own = OwnStack(OwnStackClient(arns), caller, STACK_ID, RESOURCE_TYPE)  # type: ignore[arg-type]
        client = ModelClient(api, virtual.sleep)
        original = guard.client_for
        guard.client_for = lambda region: client  # type: ignore[assignment]
        try:
            outcome.update(guard.sweep(SETTINGS, caller, own))
        finally:
            guard.client_for = original

    virtual.run([(0.0, sweep)])
    return outcome, api, virtual.now


def test_the_sweep_over_200_pools_finishes_within_its_pacing(capsys):
    budget = 900 - guard.MARGIN_SECONDS  # the guard function's timeout, less its margin
    outcome, api, took = sweep_in_virtual_time(200, rate=5.0, budget=budget)

    assert outcome["complete"] is True
    assert outcome["pools"] == 200
    assert len(outcome["drifted"]) == 4  # pools 7, 57, 107, 157
    throttled = sum(call.answered == 429 for call in api.calls)
    # Two requests a pool (its record, its retention) at the API's rate, and few refusals on the way.
    assert len(api.calls) - throttled == 400
    assert throttled <= 0.02 * len(api.calls)
    # At the sweep's own pace (its floor), not faster: the rest of the account's rate is left to others.
    assert 400 / SWEEP_REQUESTS_PER_SECOND <= took <= 400 / SWEEP_REQUESTS_PER_SECOND * 1.2
    print(f"sweep of 200 pools at 5/s: {took:.0f} s, {len(api.calls)} requests, {throttled} throttled")
    lines = gauges(capsys.readouterr().out)
    assert len(lines) == 201
    assert lines[-1] == (("Stack",), 1)


def test_the_sweep_reads_a_pool_declared_in_another_region_in_its_region(api, monkeypatch, capsys):
    tags = declared(48, resource=Resource(STACK_ID, "Far"))
    api.add_pool("compliance-audio", region="eu-west-2", retention=9, tags=tags)
    far = pool_arn("compliance-audio", "eu-west-2")
    regions: list[str | None] = []

    def client_for(region: str | None) -> ModelClient:
        regions.append(region)
        return ModelClient(api, lambda _: None, region=region or "us-east-1", latency=0)

    monkeypatch.setattr(guard, "client_for", client_for)
    own = OwnStackClient([], resources=[("Far", far, "UPDATE_COMPLETE")])
    monkeypatch.setattr(guard, "stack_client_for", lambda region: own)
    monkeypatch.setattr(guard, "settings_from", lambda environment: SETTINGS)

    outcome = guard.handler({"sweep": True}, LambdaContext(budget_seconds=60))

    assert regions == ["eu-west-2"]
    assert {call.region for call in api.calls} == {"eu-west-2"}
    assert outcome["drifted"] == [far]
    assert gauges(capsys.readouterr().out)[-1] == (("Stack",), 1)


def test_a_pool_the_sweep_cannot_read_leaves_the_others_checked_and_counts_as_drift(api, monkeypatch, capsys):
    add_pool(api, "pool-a", holds=48, declares=48)
    add_pool(api, "pool-b", holds=48, declares=48)
    api.fail("GET", code="BadRequestException", status=400)  # the first read of a retention fails

    outcome = run(api, {"sweep": True}, monkeypatch)

    assert outcome["complete"] is False
    assert outcome["pools"] == 2
    # An incomplete sweep alarms rather than saying nothing.
    assert gauges(capsys.readouterr().out) == [(("Stack+Pool",), 1), (("Stack+Pool",), 0), (("Stack",), 1)]


def test_a_sweep_that_cannot_list_its_stack_alarms_and_fails_for_a_retry(api, monkeypatch, capsys):
    add_pool(api, "pool-a", holds=48, declares=48)
    stack = OwnStackClient([])
    stack.failures["ListStackResources"] = client_error("AccessDenied", 403)

    with pytest.raises(ClientError):
        run(api, {"sweep": True}, monkeypatch, stack=stack)

    assert gauges(capsys.readouterr().out) == [(("Stack",), 1)]
    assert api.calls == []


def test_the_sweeps_stack_zero_is_stamped_with_its_start(api, monkeypatch, capsys):
    # An event publishing a 1 while the sweep runs must not be followed by the sweep's 0.
    for index in range(3):
        add_pool(api, f"pool-{index}", holds=48, declares=48)
    seconds = iter(range(1_000_000, 2_000_000, 10))
    monkeypatch.setattr(guard, "time", SimpleNamespace(time=lambda: next(seconds)))

    run(api, {"sweep": True}, monkeypatch)

    lines = metric_lines(capsys.readouterr().out)
    *pools, stack = lines
    assert stack["_aws"]["CloudWatchMetrics"][0]["Dimensions"] == [["Stack"]]
    assert stack["RetentionDrift"] == 0
    assert stack["_aws"]["Timestamp"] == 1_000_000_000  # the sweep's first reading of the clock
    assert all(line["_aws"]["Timestamp"] > stack["_aws"]["Timestamp"] for line in pools)


def test_a_long_sweeps_stack_zero_is_never_older_than_the_alarm_evaluates(api, monkeypatch, capsys):
    # CloudWatch evaluates the alarm's last three minutes: a 0 stamped further back would never clear it.
    for index in range(3):
        add_pool(api, f"pool-{index}", holds=48, declares=48)
    seconds = iter(range(1_000_000, 2_000_000, 100))  # each reading of the clock 100 s later
    monkeypatch.setattr(guard, "time", SimpleNamespace(time=lambda: next(seconds)))

    run(api, {"sweep": True}, monkeypatch)

    *pools, stack = metric_lines(capsys.readouterr().out)
    assert stack["RetentionDrift"] == 0
    published_at = pools[-1]["_aws"]["Timestamp"] + 100_000  # the clock's next reading
    assert stack["_aws"]["Timestamp"] == published_at - guard.ZERO_AT_MOST_MS
    assert stack["_aws"]["Timestamp"] > 1_000_000_000  # later than the sweep's start


class Unreachable(ModelClient):
    """The network to pool `name` fails every time, after a connect timeout's worth of virtual time."""

    def __init__(self, api: PoolApi, sleep: Any, name: str, tried_at: list[float]) -> None:
        super().__init__(api, sleep)
        self._name, self._wait, self._tried_at = name, sleep, tried_at

    def get_media_pipeline_kinesis_video_stream_pool(self, Identifier: str) -> dict[str, Any]:
        if Identifier.endswith("/" + self._name):
            self._tried_at.append(self._api.clock())
            self._wait(3.0)
            raise EndpointConnectionError(
                endpoint_url="https://media-pipelines-chime.us-east-1.amazonaws.com"
            )
        return super().get_media_pipeline_kinesis_video_stream_pool(Identifier)


def test_an_unreachable_pool_uses_its_own_budget_and_counts_as_drift(capsys):
    virtual = VirtualTime()
    api = PoolApi(clock=virtual.clock)
    arns = [add_pool(api, name, holds=48, declares=48) for name in ("pool-a", "pool-b")]
    outcome: dict[str, Any] = {}
    tried_at: list[float] = []

    def sweep() -> None:
        deadline = Deadline(120, clock=virtual.clock, sleep=virtual.sleep)
        caller = Caller(deadline, SweepPacing(clock=virtual.clock, rng=random.Random(3)), retry_denials=False)
        own = OwnStack(OwnStackClient(arns), caller, STACK_ID, RESOURCE_TYPE)  # type: ignore[arg-type]
        original = guard.client_for
        guard.client_for = lambda region: Unreachable(api, virtual.sleep, "pool-a", tried_at)  # type: ignore[assignment]
        try:
            outcome.update(guard.sweep(SETTINGS, caller, own))
        finally:
            guard.client_for = original

    virtual.run([(0.0, sweep)])

    assert len(tried_at) > 1  # retried ...
    assert tried_at[-1] < guard.POOL_BUDGET_SECONDS  # ... and given up within its budget
    assert outcome["complete"] is False
    assert outcome["drifted"] == [arns[0]]
    assert gauges(capsys.readouterr().out) == [(("Stack+Pool",), 1), (("Stack+Pool",), 0), (("Stack",), 1)]
