"""The retention guard's sweep (`guard.sweep`): every declared pool of the stack, from its own retention
resources, the stack's gauge its maximum (0 only when every pool was read); pools in other regions read
there; 200 pools within the sweep's pacing in virtual time."""

from __future__ import annotations

import random
from typing import Any

import guard
import pytest
from calls import Caller, Deadline
from declarations import Resource
from guarding import SWEEP_REQUESTS_PER_SECOND, OwnStack, SweepPacing

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
    run,
)


@pytest.fixture
def api() -> PoolApi:
    return PoolApi()


def test_the_sweep_publishes_every_pool_and_the_stack_maximum(api, monkeypatch, capsys):
    add_pool(api, "in-sync", holds=48, declares=48)
    drifted = add_pool(api, "lowered", holds=1, declares=48)
    add_pool(api, "not-ours", holds=5, declares=None)

    outcome = run(api, {"sweep": True}, monkeypatch)

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
    monkeypatch.setattr(guard, "stack_client_for", lambda region: OwnStackClient([far]))
    monkeypatch.setattr(guard, "settings_from", lambda environment: SETTINGS)

    outcome = guard.handler({"sweep": True}, LambdaContext(budget_seconds=60))

    assert regions == ["eu-west-2"]
    assert {call.region for call in api.calls} == {"eu-west-2"}
    assert outcome["drifted"] == [far]
    assert gauges(capsys.readouterr().out)[-1] == (("Stack",), 1)


def test_a_pool_the_sweep_cannot_read_leaves_the_others_checked_and_no_stack_zero(api, monkeypatch, capsys):
    add_pool(api, "pool-a", holds=48, declares=48)
    add_pool(api, "pool-b", holds=48, declares=48)
    api.fail("GET", code="BadRequestException", status=400)  # the first read of a retention fails

    outcome = run(api, {"sweep": True}, monkeypatch)

    assert outcome["complete"] is False
    assert outcome["pools"] == 1
    assert gauges(capsys.readouterr().out) == [(("Stack+Pool",), 0)]  # no stack-level 0: one pool unknown


def test_a_sweep_that_cannot_list_its_stack_publishes_nothing_and_does_not_fail(api, monkeypatch, capsys):
    add_pool(api, "pool-a", holds=48, declares=48)
    stack = OwnStackClient([])
    stack.failures["ListStackResources"] = client_error("AccessDenied", 403)

    outcome = run(api, {"sweep": True}, monkeypatch, stack=stack)

    assert outcome["complete"] is False
    assert capsys.readouterr().out == ""
