"""Which declarations the guard counts (`guarding.declared_range`, `own_stack.OwnStack`): this stack's only
while CloudFormation lists their resource naming the pool; every stack's on the record as the floor the guard
never lowers below; and a pool none of the stack's resources names is never read nor written."""

from __future__ import annotations

import logging

import pytest
from declarations import Resource
from guarding import GuardSettings

from tests.fakes import STACK_ID, STACK_KEY
from tests.standins.pool_api import PoolApi, pool_arn
from tests.unit.handler.stubs import declared
from tests.unit.handler.test_guarding import (
    OTHER_STACK,
    RESOURCE_TYPE,
    OwnStackClient,
    documented,
    gauges,
    run,
)

ENFORCING = GuardSettings(STACK_KEY, STACK_ID, "Retention", RESOURCE_TYPE, enforce=True)
LOWERING = GuardSettings(STACK_KEY, STACK_ID, "Retention", RESOURCE_TYPE, enforce=True, allow_lowering=True)
OTHER_KEY = "0123456789abcdef"


@pytest.fixture
def api() -> PoolApi:
    return PoolApi()


def shared_pool(api: PoolApi, *, holds: int, this: int, other: int) -> tuple[str, OwnStackClient]:
    """A pool declared at `this` by this stack's PoolA and at `other` by another stack's PoolB."""
    tags = {
        **declared(this, resource=Resource(STACK_ID, "PoolA")),
        **declared(other, resource=Resource(OTHER_STACK, "PoolB"), key=OTHER_KEY),
    }
    api.add_pool("shared", retention=holds, tags=tags)
    arn = pool_arn("shared", "us-east-1")
    return arn, OwnStackClient([], resources=[("PoolA", arn, "UPDATE_COMPLETE")])


def test_a_pool_held_by_another_stacks_higher_declaration_is_in_sync_and_never_lowered(
    api, monkeypatch, capsys
):
    # This stack rolled back to 24 h; the other stack's live 48 h holds the pool at 48 (decision.plan_apply).
    arn, stack = shared_pool(api, holds=48, this=24, other=48)

    run(api, documented("updated", arn), monkeypatch, settings=LOWERING, stack=stack)

    assert api.pools["shared"].retention == 48
    assert api.calls_of("PUT") == []
    assert gauges(capsys.readouterr().out) == [(("Stack+Pool",), 0)]


def test_the_sweep_finds_a_pool_another_declaration_explains_in_sync(api, monkeypatch, capsys):
    _, stack = shared_pool(api, holds=48, this=24, other=48)

    outcome = run(api, {"sweep": True}, monkeypatch, stack=stack)

    assert outcome["drifted"] == []
    assert gauges(capsys.readouterr().out) == [(("Stack+Pool",), 0), (("Stack",), 0)]


def test_a_pool_above_every_declaration_is_lowered_to_the_highest_of_them(api, monkeypatch, capsys):
    arn, stack = shared_pool(api, holds=720, this=24, other=48)

    run(api, documented("updated", arn), monkeypatch, settings=LOWERING, stack=stack)

    assert api.pools["shared"].retention == 48  # never below the other stack's declaration
    assert gauges(capsys.readouterr().out) == [(("Stack+Pool",), 0)]


def test_a_pool_below_this_stacks_declaration_is_raised_to_it_whatever_lower_ones_say(
    api, monkeypatch, capsys
):
    arn, stack = shared_pool(api, holds=24, this=48, other=24)

    run(api, documented("updated", arn), monkeypatch, settings=ENFORCING, stack=stack)

    assert api.pools["shared"].retention == 48
    assert gauges(capsys.readouterr().out) == [(("Stack", "Stack+Pool"), 1)]


def test_a_stale_declaration_of_a_removed_resource_is_never_enforced(api, monkeypatch, capsys):
    # PoolOld was removed with restore_on_delete: its Delete put 720 h back but could not untag.
    tags = declared(24, restores=True, prior=720, resource=Resource(STACK_ID, "PoolOld"))
    api.add_pool("restored", retention=720, tags=tags)
    arn = pool_arn("restored", "us-east-1")
    stack = OwnStackClient([pool_arn("other", "us-east-1")])

    outcome = run(api, documented("updated", arn), monkeypatch, settings=LOWERING, stack=stack)

    assert outcome == {"pool": arn, "ours": False}
    assert api.pools["restored"].retention == 720
    assert api.calls == []  # CloudFormation said no before any pool API call
    assert capsys.readouterr().out == ""


def test_a_stale_declaration_beside_a_live_one_does_not_count(api, monkeypatch, capsys):
    tags = {
        **declared(720, resource=Resource(STACK_ID, "PoolOld")),  # removed, its untag failed
        **declared(48, resource=Resource(STACK_ID, "PoolNew")),
    }
    api.add_pool("renamed", retention=48, tags=tags)
    arn = pool_arn("renamed", "us-east-1")
    stack = OwnStackClient([], resources=[("PoolNew", arn, "UPDATE_COMPLETE")])

    run(api, documented("updated", arn), monkeypatch, settings=ENFORCING, stack=stack)

    assert api.calls_of("PUT") == []  # not raised to the stale 720 h
    assert gauges(capsys.readouterr().out) == [(("Stack+Pool",), 0)]


def test_a_forged_declaration_on_a_pool_the_stack_does_not_name_is_never_written(api, monkeypatch, capsys):
    # Someone with chime:TagResource copies this stack's anchor and a live resource's declaration onto
    # another pool: the role's tag-pinned grant would reach it, CloudFormation does not name it.
    api.add_pool("forged", retention=720, tags=declared(1, resource=Resource(STACK_ID, "PoolA")))
    ours = pool_arn("ours", "us-east-1")
    forged = pool_arn("forged", "us-east-1")
    stack = OwnStackClient([], resources=[("PoolA", ours, "UPDATE_COMPLETE")])

    run(api, documented("updated", forged), monkeypatch, settings=LOWERING, stack=stack)
    run(api, {"sweep": True}, monkeypatch, settings=LOWERING, stack=stack)

    assert api.pools["forged"].retention == 720
    assert all(call.identifier != forged for call in api.calls)


@pytest.mark.parametrize(
    ("status", "counted"),
    [
        ("DELETE_FAILED", True),
        ("DELETE_IN_PROGRESS", False),
        ("DELETE_COMPLETE", False),
        ("DELETE_SKIPPED", False),
    ],
)
def test_a_resource_counts_until_cloudformation_has_deleted_it(api, monkeypatch, capsys, status, counted):
    api.add_pool("kept", retention=12, tags=declared(48, resource=Resource(STACK_ID, "PoolA")))
    arn = pool_arn("kept", "us-east-1")
    stack = OwnStackClient([], resources=[("PoolA", arn, status)])

    outcome = run(api, documented("updated", arn), monkeypatch, settings=ENFORCING, stack=stack)

    assert api.pools["kept"].retention == (48 if counted else 12)
    assert outcome.get("ours", True) is counted


def test_a_pool_the_stack_names_whose_record_lacks_its_declaration_is_reported(
    api, monkeypatch, capsys, caplog
):
    tags = declared(48, resource=Resource(OTHER_STACK, "PoolB"), key=OTHER_KEY)
    api.add_pool("bare", retention=12, tags=tags)
    arn = pool_arn("bare", "us-east-1")

    with caplog.at_level(logging.WARNING):
        run(api, documented("updated", arn), monkeypatch, settings=ENFORCING, stack=OwnStackClient([arn]))

    (warning,) = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert f"pool {arn}, declared by stack Retention: its record holds no declaration" in warning
    assert api.calls_of("PUT") == []
    assert gauges(capsys.readouterr().out) == [(("Stack", "Stack+Pool"), 1)]
