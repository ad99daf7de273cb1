"""The guard against a deployment (`guard.handler`, `guarding.check_pool`): the pool read before its record,
a pool being changed left alone, the stack's status read again before a change or a stack-level point, one
put-back and no more, and a status that cannot be read failing the invocation for a retry."""

from __future__ import annotations

import guard
import pytest
from botocore.exceptions import ClientError
from declarations import Resource
from guarding import GuardSettings

from tests.fakes import STACK_ID, STACK_KEY, LambdaContext, client_error
from tests.simulation.herd import ModelClient
from tests.standins.pool_api import PoolApi, pool_arn
from tests.unit.handler.stubs import declared
from tests.unit.handler.test_guarding import (
    RESOURCE_TYPE,
    OwnStackClient,
    add_pool,
    documented,
    gauges,
    run,
)

ENFORCING = GuardSettings(STACK_KEY, STACK_ID, "Retention", RESOURCE_TYPE, enforce=True)
LOWERING = GuardSettings(STACK_KEY, STACK_ID, "Retention", RESOURCE_TYPE, enforce=True, allow_lowering=True)


@pytest.fixture
def api() -> PoolApi:
    return PoolApi()


def test_a_deployment_raising_the_pool_between_the_guards_reads_is_not_undone(api, monkeypatch, capsys):
    api.add_pool("hold", retention=24, tags=declared(24, resource=Resource(STACK_ID, "PoolHold")))
    arn = pool_arn("hold", "us-east-1")
    stack = OwnStackClient([], resources=[("PoolHold", arn, "UPDATE_COMPLETE")])

    class Deploying(ModelClient):
        """A deployment starts right after the guard's first pool request: the handler's Update records
        720 h, then raises the pool to it (record before change)."""

        started = False

        def _send(self, request):  # type: ignore[no-untyped-def]
            answer = super()._send(request)
            if not Deploying.started:
                Deploying.started = True
                stack.statuses[STACK_ID] = "UPDATE_IN_PROGRESS"
                api.pools["hold"].tags.update(declared(720, resource=Resource(STACK_ID, "PoolHold")))
                api.pools["hold"].retention = 720
            return answer

    monkeypatch.setattr(guard, "client_for", lambda region: Deploying(api, lambda _: None, latency=0))
    monkeypatch.setattr(guard, "stack_client_for", lambda region: stack)
    monkeypatch.setattr(guard, "settings_from", lambda environment: LOWERING)

    outcome = guard.handler(documented("updated", arn), LambdaContext(budget_seconds=60))

    # Read in that order, the pool (24 h) is below the record (720 h): the guard would only raise it, and
    # the status read before any change finds the deployment and stops.
    assert outcome == {"skipped": "UPDATE_IN_PROGRESS"}
    assert api.pools["hold"].retention == 720
    assert api.calls_of("PUT") == []
    assert capsys.readouterr().out == ""


def test_a_pool_being_changed_is_left_and_nothing_is_published(api, monkeypatch, capsys):
    api.add_pool(
        "busy",
        retention=12,
        status="UPDATING",
        busy_until=float("inf"),
        tags=declared(48, resource=Resource(STACK_ID, "Poolbusy")),
    )
    arn = pool_arn("busy", "us-east-1")

    outcome = run(api, documented("updated", arn), monkeypatch, settings=ENFORCING)

    assert outcome == {"pool": arn, "busy": "UPDATING"}
    assert [call.method for call in api.calls] == ["GET"]  # not even its record
    assert capsys.readouterr().out == ""


def test_a_sweep_with_a_pool_being_changed_publishes_no_stack_zero(api, monkeypatch, capsys):
    add_pool(api, "calm", holds=48, declares=48)
    api.add_pool(
        "busy",
        retention=48,
        status="UPDATING",
        busy_until=float("inf"),
        tags=declared(48, resource=Resource(STACK_ID, "Poolbusy")),
    )

    outcome = run(api, {"sweep": True}, monkeypatch)

    assert outcome["complete"] is False
    assert gauges(capsys.readouterr().out) == [(("Stack+Pool",), 0)]


def test_a_deployment_starting_before_the_put_back_stops_the_guard(api, monkeypatch, capsys):
    arn = add_pool(api, "lowered", holds=12, declares=48)
    stack = OwnStackClient([arn], then=["UPDATE_IN_PROGRESS"])  # the second read finds it started

    outcome = run(api, documented("updated", arn), monkeypatch, settings=ENFORCING, stack=stack)

    assert outcome == {"skipped": "UPDATE_IN_PROGRESS"}
    assert api.calls_of("PUT") == []
    assert capsys.readouterr().out == ""


def test_a_deployment_starting_during_a_sweep_withholds_the_stack_point(api, monkeypatch, capsys):
    add_pool(api, "calm", holds=48, declares=48)
    stack = OwnStackClient([pool_arn("calm", "us-east-1")], then=["UPDATE_IN_PROGRESS"])

    outcome = run(api, {"sweep": True}, monkeypatch, stack=stack)

    assert outcome == {"skipped": "UPDATE_IN_PROGRESS"}
    assert gauges(capsys.readouterr().out) == [(("Stack+Pool",), 0)]  # no stack-level 0


def test_the_put_back_is_made_once_and_its_outcome_reported(api, monkeypatch, capsys):
    arn = add_pool(api, "contested", holds=12, declares=48)
    api.pools["contested"].settles_with_retention = 6  # another writer, as the put-back settles

    outcome = run(api, documented("updated", arn), monkeypatch, settings=ENFORCING)

    assert len(api.calls_of("PUT")) == 1  # not applied again against the other writer
    assert api.pools["contested"].retention == 6
    assert outcome["drifted"] == [arn]
    assert gauges(capsys.readouterr().out) == [(("Stack", "Stack+Pool"), 1)]


@pytest.mark.parametrize("pool_event", [True, False], ids=["event", "sweep"])
def test_a_stack_status_that_cannot_be_read_fails_the_invocation(api, monkeypatch, capsys, pool_event):
    arn = add_pool(api, "lowered", holds=12, declares=48)
    stack = OwnStackClient([arn])
    stack.failures["DescribeStacks"] = client_error("AccessDenied", 403)

    with pytest.raises(ClientError):  # Lambda retries it, then the dead-letter queue keeps it
        run(api, documented("updated", arn) if pool_event else {"sweep": True}, monkeypatch, stack=stack)

    assert api.calls == []
    assert capsys.readouterr().out == ""
