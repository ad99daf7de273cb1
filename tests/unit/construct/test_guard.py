"""The retention guard as synthesized: off unless asked for, one per stack, its rule (matched against the
service's documented event), alarm, role (no update without enforce; only this stack's pools), and how it
holds with cdk-nag and cfn-lint and at 1, 100 and 400 pools."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns

from kvs_pool_retention import KinesisVideoStreamPoolRetention
from kvs_pool_retention.guard_pattern import EVENT_PATTERN_CHARS
from kvs_pool_retention.handler import retention_rules as rules
from tests.iam_size import LONGEST, resolve
from tests.paths import ROOT

EVENTS = ROOT / "tests" / "events"
ACCOUNT, REGION = "111122223333", "us-east-1"
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": REGION, "AWS::AccountId": ACCOUNT}
GUARD_TYPES = {
    "AWS::Logs::LogGroup",
    "AWS::SQS::Queue",
    "AWS::SQS::QueuePolicy",
    "AWS::IAM::Role",
    "AWS::IAM::Policy",
    "AWS::Lambda::Function",
    "AWS::Lambda::EventInvokeConfig",
    "AWS::Events::Rule",
    "AWS::Lambda::Permission",
    "AWS::CloudWatch::Alarm",
}


def arn(name: str, region: str = REGION) -> str:
    return rules.pool_arn("aws", region, ACCOUNT, name)


def build(stack: cdk.Stack, pools: int, *, guard: dict[str, Any] | None = None) -> None:
    for index in range(pools):
        KinesisVideoStreamPoolRetention(
            stack,
            f"Pool{index}",
            pool_identifier=f"meeting-audio-{index:06d}",
            data_retention=cdk.Duration.hours(48),
        )
    if guard is not None:
        KinesisVideoStreamPoolRetention.configure_guard(stack, **guard)


def synthesize(pools: int = 1, *, guard: dict[str, Any] | None = None, outdir: Path | None = None) -> dict:
    app = cdk.App(outdir=str(outdir) if outdir else None)
    stack = cdk.Stack(app, "Guarded", env=cdk.Environment(account=ACCOUNT, region=REGION))
    build(stack, pools, guard=guard)
    return app.synth().get_stack_by_name("Guarded").template


def guard_resources(template: dict) -> dict[str, dict]:
    return {
        key: value for key, value in template["Resources"].items() if key.startswith("KvsPoolRetentionGuard")
    }


def of_type(template: dict, kind: str) -> list[dict]:
    return [value for value in guard_resources(template).values() if value["Type"] == kind]


def pool_rule(template: dict) -> dict:
    (rule,) = [
        rule for rule in of_type(template, "AWS::Events::Rule") if "EventPattern" in rule["Properties"]
    ]
    return rule["Properties"]


def guard_policy(template: dict) -> dict:
    (policy,) = [
        value
        for key, value in guard_resources(template).items()
        if value["Type"] == "AWS::IAM::Policy" and key.startswith("KvsPoolRetentionGuardPoolAccess")
    ]
    return policy


def matches(pattern: Any, event: Any) -> bool:
    """EventBridge's matching for the pattern forms the guard uses: every key of the pattern present in
    the event; a list of values matches when the event's value (or one of its values) is in it."""
    if isinstance(pattern, dict):
        return isinstance(event, dict) and all(
            key in event and matches(rule, event[key]) for key, rule in pattern.items()
        )
    values = event if isinstance(event, list) else [event]
    return any(value in pattern for value in values)


def documented(kind: str, pool_arn: str) -> dict:
    event = json.loads((EVENTS / f"pool_{kind}.json").read_text())
    event["detail"]["poolArn"] = pool_arn
    return event


@pytest.fixture(scope="module")
def one_pool() -> dict:
    return synthesize(1, guard={})


def test_a_stack_without_the_guard_synthesizes_as_before():
    app = cdk.App()
    plain = cdk.Stack(app, "Plain", env=cdk.Environment(account=ACCOUNT, region=REGION))
    build(plain, 2)
    build(cdk.Stack(app, "Other", env=cdk.Environment(account=ACCOUNT, region="eu-west-2")), 2, guard={})
    alone = cdk.App()
    build(cdk.Stack(alone, "Plain", env=cdk.Environment(account=ACCOUNT, region=REGION)), 2)

    beside_a_guard = app.synth().get_stack_by_name("Plain").template
    without = alone.synth().get_stack_by_name("Plain").template

    assert json.dumps(beside_a_guard, sort_keys=True) == json.dumps(without, sort_keys=True)
    assert guard_resources(without) == {}
    assert "Outputs" not in without
    assert {value["Type"] for value in without["Resources"].values()} == {
        "Custom::KinesisVideoStreamPoolRetention",
        "AWS::Logs::LogGroup",
        "AWS::IAM::Role",
        "AWS::IAM::Policy",
        "AWS::Lambda::Function",
        "AWS::Lambda::EventInvokeConfig",
    }


def test_the_guard_adds_thirteen_resources_to_the_stack(one_pool):
    assert len(guard_resources(one_pool)) == 13
    assert {value["Type"] for value in guard_resources(one_pool).values()} == GUARD_TYPES


def test_a_second_call_with_other_options_is_an_error_naming_them():
    app = cdk.App()
    stack = cdk.Stack(app, "Twice")
    first = KinesisVideoStreamPoolRetention.configure_guard(stack, sweep=cdk.Duration.hours(6))
    assert KinesisVideoStreamPoolRetention.configure_guard(stack, sweep=cdk.Duration.hours(6)) is first

    with pytest.raises(ValueError, match=r"other enforce, sweep: a stack has one guard"):
        KinesisVideoStreamPoolRetention.configure_guard(stack, enforce=True, sweep=cdk.Duration.hours(1))


@pytest.mark.parametrize("sweep", [cdk.Duration.minutes(5), cdk.Duration.seconds(3601)])
def test_a_sweep_period_the_guard_cannot_keep_is_refused(sweep):
    with pytest.raises(ValueError, match="sweep must be whole minutes, at least 15"):
        KinesisVideoStreamPoolRetention.configure_guard(cdk.Stack(cdk.App(), "S"), sweep=sweep)


def test_the_rule_matches_the_documented_events_of_the_declared_pools_only(one_pool):
    pattern = resolve(pool_rule(one_pool)["EventPattern"], PSEUDO)
    declared = arn("meeting-audio-000000")

    assert matches(pattern, documented("updated", declared))
    assert matches(pattern, documented("deleted", declared))
    assert not matches(pattern, documented("active", declared))
    assert not matches(pattern, documented("updated", arn("someone-elses")))
    assert pattern["detail"]["poolArn"] == [declared]


def test_past_the_pattern_limit_the_rule_filters_by_type_alone():
    template = synthesize(100, guard={})
    pattern = resolve(pool_rule(template)["EventPattern"], PSEUDO)

    assert "poolArn" not in pattern["detail"]
    assert matches(pattern, documented("updated", arn("meeting-audio-000099")))
    assert not matches(pattern, documented("active", arn("meeting-audio-000099")))


def test_the_arns_filter_the_rule_as_long_as_their_longest_form_fits():
    for pools in (1, 5):
        pattern = pool_rule(synthesize(pools, guard={}))["EventPattern"]
        assert len(pattern["detail"]["poolArn"]) == pools
        longest = json.dumps(resolve(pattern, {**LONGEST, "AWS::Partition": "aws-iso-b"}))
        assert len(longest) <= EVENT_PATTERN_CHARS


def test_the_rule_and_the_sweep_retry_boundedly_into_the_dead_letter_queue(one_pool):
    rules_ = of_type(one_pool, "AWS::Events::Rule")
    assert len(rules_) == 2
    for rule in rules_:
        (target,) = rule["Properties"]["Targets"]
        assert target["RetryPolicy"] == {"MaximumEventAgeInSeconds": 3600, "MaximumRetryAttempts": 4}
        assert "KvsPoolRetentionGuardDeadLetters" in target["DeadLetterConfig"]["Arn"]["Fn::GetAtt"][0]
    (sweep,) = [rule for rule in rules_ if "ScheduleExpression" in rule["Properties"]]
    assert sweep["Properties"]["ScheduleExpression"] == "rate(1 day)"
    (queue_policy,) = of_type(one_pool, "AWS::SQS::QueuePolicy")
    (deny,) = [s for s in queue_policy["Properties"]["PolicyDocument"]["Statement"] if s["Effect"] == "Deny"]
    assert deny["Condition"] == {"Bool": {"aws:SecureTransport": "false"}}


def test_the_alarm_watches_the_stack_gauge_each_minute_and_keeps_its_state_without_points():
    app = cdk.App()
    stack = cdk.Stack(app, "Alarmed")
    build(stack, 1)
    topic = sns.Topic(stack, "Pager")
    KinesisVideoStreamPoolRetention.configure_guard(stack, alarm_actions=[actions.SnsAction(topic)])
    template = app.synth().get_stack_by_name("Alarmed").template

    (alarm,) = of_type(template, "AWS::CloudWatch::Alarm")
    properties = alarm["Properties"]
    assert {
        key: properties[key] for key in properties if key not in ("AlarmDescription", "AlarmActions")
    } == {
        "Namespace": rules.GUARD_NAMESPACE,
        "MetricName": rules.GUARD_METRIC,
        "Dimensions": [{"Name": "Stack", "Value": {"Ref": "AWS::StackName"}}],
        "Statistic": "Maximum",
        "Period": 60,
        "Threshold": 1,
        "ComparisonOperator": "GreaterThanOrEqualToThreshold",
        "EvaluationPeriods": 3,  # 1 of 3: a point extracted late from the logs still counts
        "DatapointsToAlarm": 1,
        "TreatMissingData": "ignore",
    }
    assert properties["AlarmActions"] == [
        {"Ref": next(k for k in template["Resources"] if k.startswith("Pager"))}
    ]
    (output,) = template["Outputs"].values()
    assert output["Value"] == {"Ref": next(k for k in guard_resources(template) if "DriftAlarm" in k)}


def test_the_function_runs_the_guard_from_the_handlers_asset_for_this_stack(one_pool):
    functions = [
        value for value in one_pool["Resources"].values() if value["Type"] == "AWS::Lambda::Function"
    ]
    guard_fn, handler_fn = sorted(functions, key=lambda f: f["Properties"]["Handler"])
    assert guard_fn["Properties"]["Handler"] == "guard.handler"
    assert guard_fn["Properties"]["Code"] == handler_fn["Properties"]["Code"]  # one asset
    environment = guard_fn["Properties"]["Environment"]["Variables"]
    (retention,) = [
        v for v in one_pool["Resources"].values() if v["Type"] == "Custom::KinesisVideoStreamPoolRetention"
    ]
    assert environment[rules.GUARD_STACK_KEY_ENV] == retention["Properties"][rules.STACK_KEY]
    assert environment[rules.GUARD_STACK_ID_ENV] == {"Ref": "AWS::StackId"}
    assert environment[rules.GUARD_RESOURCE_TYPE_ENV] == retention["Type"]
    assert environment[rules.GUARD_ENFORCE_ENV] == "false"
    (logs,) = of_type(one_pool, "AWS::Logs::LogGroup")
    assert logs["Properties"]["RetentionInDays"] == 365


def test_pools_declared_by_arn_in_another_region_are_named_at_synth():
    app = cdk.App()
    stack = cdk.Stack(app, "Regions", env=cdk.Environment(account=ACCOUNT, region=REGION))
    elsewhere = arn("compliance-audio", "eu-west-2")
    KinesisVideoStreamPoolRetention(
        stack, "Far", pool_identifier=elsewhere, data_retention=cdk.Duration.hours(9)
    )
    KinesisVideoStreamPoolRetention(
        stack, "Near", pool_identifier=arn("meeting-audio"), data_retention=cdk.Duration.hours(9)
    )
    KinesisVideoStreamPoolRetention.configure_guard(stack)

    messages = [m.entry.data for m in app.synth().get_stack_by_name("Regions").messages]

    (warning,) = [message for message in messages if "sweep alone" in str(message)]
    assert elsewhere in warning
    assert arn("meeting-audio") not in warning


def test_a_second_call_placing_the_guard_elsewhere_is_an_error():
    from aws_cdk import aws_logs as logs

    stack = cdk.Stack(cdk.App(), "Placed")
    KinesisVideoStreamPoolRetention.configure_guard(stack)

    with pytest.raises(ValueError, match=r"other placement \(log_group\)"):
        KinesisVideoStreamPoolRetention.configure_guard(stack, log_group=logs.LogGroup(stack, "Mine"))


def test_a_second_call_with_an_equal_alarm_action_is_the_same_guard():
    stack = cdk.Stack(cdk.App(), "Paged")
    topic, other = sns.Topic(stack, "Pager"), sns.Topic(stack, "Other")
    first = KinesisVideoStreamPoolRetention.configure_guard(stack, alarm_actions=[actions.SnsAction(topic)])

    again = KinesisVideoStreamPoolRetention.configure_guard(stack, alarm_actions=[actions.SnsAction(topic)])

    assert again is first
    with pytest.raises(ValueError, match=r"other alarm_actions: a stack has one guard"):
        KinesisVideoStreamPoolRetention.configure_guard(stack, alarm_actions=[actions.SnsAction(other)])


def test_an_environment_agnostic_stack_is_told_its_arn_pools_may_be_elsewhere():
    app = cdk.App()
    stack = cdk.Stack(app, "Agnostic")
    KinesisVideoStreamPoolRetention(
        stack, "Pool", pool_identifier=arn("meeting-audio"), data_retention=cdk.Duration.hours(9)
    )
    KinesisVideoStreamPoolRetention.configure_guard(stack)

    messages = [str(m.entry.data) for m in app.synth().get_stack_by_name("Agnostic").messages]

    (warning,) = [message for message in messages if "sweep alone" in message]
    assert "may be outside the stack's region" in warning


def test_pools_declared_in_nested_stacks_are_said_not_covered():
    app = cdk.App()
    stack = cdk.Stack(app, "Parent", env=cdk.Environment(account=ACCOUNT, region=REGION))
    nested = cdk.NestedStack(stack, "Child")
    KinesisVideoStreamPoolRetention(
        nested, "Pool", pool_identifier="meeting-audio", data_retention=cdk.Duration.hours(9)
    )
    KinesisVideoStreamPoolRetention.configure_guard(stack)

    messages = [str(m.entry.data) for m in app.synth().get_stack_by_name("Parent").messages]

    (warning,) = [message for message in messages if "nested stacks" in message]
    assert "Parent/Child" in warning
    assert "configure_guard on each nested stack" in warning
