"""The retention guard's handler (`guard.handler`, `guarding`) against the pool API's model and an in-memory
CloudFormation: the documented event after an out-of-band change, in both modes and both directions; a
deployment in progress; a duplicate event; a deleted pool; the sweep over 200 pools within its pacing."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import guard
import pytest
from declarations import Resource
from guarding import GuardSettings
from retention_rules import GUARD_METRIC, GUARD_NAMESPACE

from tests.fakes import STACK_ID, STACK_KEY, FakeCloudFormation, LambdaContext
from tests.simulation.herd import ModelClient
from tests.standins.pool_api import PoolApi, pool_arn
from tests.unit.handler.stubs import declared

EVENTS = Path(__file__).parents[2] / "events"
RESOURCE_TYPE = "Custom::KinesisVideoStreamPoolRetention"
OTHER_STACK = "arn:aws:cloudformation:us-east-1:111122223333:stack/Other/9f8e7d6c"
SETTINGS = GuardSettings(STACK_KEY, STACK_ID, "Retention", RESOURCE_TYPE)


def documented(kind: str, arn: str) -> dict[str, Any]:
    """The service's documented event, for the pool `arn`."""
    event = json.loads((EVENTS / f"pool_{kind}.json").read_text())
    event["detail"]["poolArn"] = arn
    return event


class OwnStackClient(FakeCloudFormation):
    """DescribeStacks (`status`, then each of `then` in turn), and ListStackResources of the stack's
    retention resources, 100 a page: `resources` as (logical id, pool ARN, status), by default one for each
    of `pools`, named as add_pool's declarations name them (Pool<pool name>)."""

    def __init__(
        self,
        pools: list[str],
        status: str = "UPDATE_COMPLETE",
        *,
        resources: list[tuple[str, str, str]] | None = None,
        then: list[str] | None = None,
    ) -> None:
        super().__init__()
        self.statuses[STACK_ID] = status
        self.then = list(then or [])
        if resources is None:
            resources = [(f"Pool{arn.rsplit('/', 1)[1]}", arn, "UPDATE_COMPLETE") for arn in pools]
        self.summaries = [
            {
                "LogicalResourceId": logical_id,
                "PhysicalResourceId": arn,
                "ResourceType": RESOURCE_TYPE,
                "ResourceStatus": resource_status,
            }
            for logical_id, arn, resource_status in resources
        ]

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        answer = super().describe_stacks(StackName)
        if self.then:
            self.statuses[STACK_ID] = self.then.pop(0)
        return answer

    def list_stack_resources(self, StackName: str, NextToken: str = "0") -> dict[str, Any]:
        self._called("ListStackResources", StackName)
        start = int(NextToken)
        answer: dict[str, Any] = {"StackResourceSummaries": self.summaries[start : start + 100]}
        if start + 100 < len(self.summaries):
            answer["NextToken"] = str(start + 100)
        return answer


@pytest.fixture
def api() -> PoolApi:
    return PoolApi()


def add_pool(api: PoolApi, name: str, *, holds: int, declares: int | None, stack: str = STACK_ID) -> str:
    """A pool holding `holds` h whose record says this stack (or `stack`) declares `declares` h."""
    tags = {} if declares is None else declared(declares, resource=Resource(stack, f"Pool{name}"))
    api.add_pool(name, retention=holds, tags=tags)
    return pool_arn(name, "us-east-1")


def run(
    api: PoolApi,
    event: dict[str, Any],
    monkeypatch: pytest.MonkeyPatch,
    *,
    settings: GuardSettings = SETTINGS,
    stack: OwnStackClient | None = None,
) -> dict[str, Any]:
    """guard.handler on `event`, with the function's environment from `settings`."""
    own = stack or OwnStackClient([pool_arn(name, "us-east-1") for name in api.pools])
    monkeypatch.setattr(guard, "client_for", lambda region: ModelClient(api, lambda _: None, latency=0))
    monkeypatch.setattr(guard, "stack_client_for", lambda region: own)
    monkeypatch.setattr(guard, "settings_from", lambda environment: settings)
    return guard.handler(event, LambdaContext(budget_seconds=60))


def metric_lines(output: str) -> list[dict[str, Any]]:
    return [json.loads(line) for line in output.splitlines() if line.startswith('{"_aws"')]


def gauges(output: str) -> list[tuple[tuple[str, ...], int]]:
    """(dimension sets, value) of every drift gauge line."""
    found = []
    for line in metric_lines(output):
        (directive,) = line["_aws"]["CloudWatchMetrics"]
        assert directive["Namespace"] == GUARD_NAMESPACE
        assert directive["Metrics"] == [{"Name": GUARD_METRIC, "Unit": "Count"}]
        found.append(
            (tuple("+".join(dimensions) for dimensions in directive["Dimensions"]), line[GUARD_METRIC])
        )
    return found


def test_a_lowered_pool_is_reported_with_both_values_and_the_gauges_set(api, monkeypatch, capsys, caplog):
    arn = add_pool(api, "meeting-audio", holds=12, declares=48)

    with caplog.at_level(logging.WARNING):
        outcome = run(api, documented("updated", arn), monkeypatch)

    (warning,) = [record.getMessage() for record in caplog.records if record.levelno == logging.WARNING]
    assert arn in warning
    assert "12 h" in warning
    assert "48 h" in warning
    assert "stack Retention" in warning
    assert gauges(capsys.readouterr().out) == [(("Stack", "Stack+Pool"), 1)]
    assert outcome["drifted"] == [arn]
    assert api.pools["meeting-audio"].retention == 12  # not enforcing: left as it is
    assert api.calls_of("PUT") == []


def test_enforcing_raises_a_lowered_pool_back_still_alarms_and_a_repeat_changes_nothing(
    api, monkeypatch, capsys
):
    arn = add_pool(api, "meeting-audio", holds=12, declares=48)
    enforcing = GuardSettings(STACK_KEY, STACK_ID, "Retention", RESOURCE_TYPE, enforce=True)

    first = run(api, documented("updated", arn), monkeypatch, settings=enforcing)
    again = run(api, documented("updated", arn), monkeypatch, settings=enforcing)

    assert api.pools["meeting-audio"].retention == 48
    assert len(api.calls_of("PUT")) == 1  # the duplicate found it at its declaration
    assert first["put_back"] == [arn]
    assert again["put_back"] == []
    # Put back, yet a lowering happened (media may be lost): the event that found it says 1, for the stack
    # too; the repeat knows one pool and says 0 for it alone (the next sweep clears the alarm).
    assert gauges(capsys.readouterr().out) == [(("Stack", "Stack+Pool"), 1), (("Stack+Pool",), 0)]


def test_a_raised_pool_is_only_alarmed_even_when_enforcing(api, monkeypatch, capsys):
    arn = add_pool(api, "meeting-audio", holds=720, declares=48)  # a legal hold, say
    enforcing = GuardSettings(STACK_KEY, STACK_ID, "Retention", RESOURCE_TYPE, enforce=True)

    run(api, documented("updated", arn), monkeypatch, settings=enforcing)

    assert api.pools["meeting-audio"].retention == 720
    assert api.calls_of("PUT") == []
    assert gauges(capsys.readouterr().out) == [(("Stack", "Stack+Pool"), 1)]


def test_a_raised_pool_is_lowered_back_only_with_the_opt_in(api, monkeypatch, capsys):
    arn = add_pool(api, "meeting-audio", holds=720, declares=48)
    lowering = GuardSettings(
        STACK_KEY, STACK_ID, "Retention", RESOURCE_TYPE, enforce=True, allow_lowering=True
    )

    run(api, documented("updated", arn), monkeypatch, settings=lowering)

    assert api.pools["meeting-audio"].retention == 48
    assert gauges(capsys.readouterr().out) == [(("Stack+Pool",), 0)]


def test_a_pool_at_its_declaration_publishes_its_zero_but_no_stack_zero(api, monkeypatch, capsys):
    arn = add_pool(api, "meeting-audio", holds=48, declares=48)

    run(api, documented("updated", arn), monkeypatch)

    # One pool's 0 must not clear the alarm another pool's drift raised: only the sweep clears it.
    assert gauges(capsys.readouterr().out) == [(("Stack+Pool",), 0)]


def test_the_higher_of_two_declarations_of_this_stack_holds_during_a_rename(api, monkeypatch, capsys):
    tags = {
        **declared(48, resource=Resource(STACK_ID, "OldName")),
        **declared(72, resource=Resource(STACK_ID, "NewName")),
    }
    api.add_pool("meeting-audio", retention=48, tags=tags)

    run(api, documented("updated", pool_arn("meeting-audio", "us-east-1")), monkeypatch)

    assert gauges(capsys.readouterr().out) == [(("Stack", "Stack+Pool"), 1)]


def test_another_stacks_pool_is_none_of_the_guards_business_and_never_read(api, monkeypatch, capsys):
    arn = add_pool(api, "meeting-audio", holds=12, declares=48, stack=OTHER_STACK)

    outcome = run(api, documented("updated", arn), monkeypatch, stack=OwnStackClient([]))

    assert outcome == {"pool": arn, "ours": False}
    assert api.calls == []  # CloudFormation said no before any pool API call
    assert capsys.readouterr().out == ""


@pytest.mark.parametrize(
    "status", ["UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS", "CREATE_IN_PROGRESS"]
)
def test_nothing_is_read_or_published_while_the_stack_has_an_operation_in_progress(
    api, monkeypatch, capsys, status
):
    arn = add_pool(api, "meeting-audio", holds=12, declares=48)

    outcome = run(api, documented("updated", arn), monkeypatch, stack=OwnStackClient([arn], status))

    assert outcome == {"skipped": status}
    assert api.calls == []
    assert capsys.readouterr().out == ""


def test_a_pool_deleted_outside_cloudformation_is_reported_and_not_recreated(
    api, monkeypatch, capsys, caplog
):
    arn = pool_arn("meeting-audio", "us-east-1")  # named by the stack's resource, gone from the API

    with caplog.at_level(logging.WARNING):
        run(api, documented("deleted", arn), monkeypatch, stack=OwnStackClient([arn]))

    assert any("deleted outside CloudFormation" in record.getMessage() for record in caplog.records)
    assert gauges(capsys.readouterr().out) == [(("Stack", "Stack+Pool"), 1)]
    assert [call.method for call in api.calls] == ["GET"]  # nothing created, nothing updated


def test_a_deleted_pool_this_stack_does_not_name_is_ignored(api, monkeypatch, capsys):
    arn = pool_arn("someone-elses", "us-east-1")

    outcome = run(api, documented("deleted", arn), monkeypatch, stack=OwnStackClient([]))

    assert outcome["ours"] is False
    assert capsys.readouterr().out == ""


def test_other_event_types_and_the_schedule_are_told_apart():
    arn = pool_arn("meeting-audio", "us-east-1")

    assert guard.pool_of(documented("updated", arn)) == arn
    assert guard.pool_of(documented("deleted", arn)) == arn
    assert guard.pool_of(documented("active", arn)) is None
    assert guard.pool_of({"sweep": True}) is None
    assert guard.pool_of(documented("updated", "ARN of the KVS Pool")) is None


def test_a_damaged_record_is_reported(api, monkeypatch, capsys):
    tags = declared(48)
    tags[next(key for key in tags if "declaration-" in key)] = "garbage"
    api.add_pool("meeting-audio", retention=48, tags=tags)

    run(api, documented("updated", pool_arn("meeting-audio", "us-east-1")), monkeypatch)

    assert gauges(capsys.readouterr().out) == [(("Stack", "Stack+Pool"), 1)]
