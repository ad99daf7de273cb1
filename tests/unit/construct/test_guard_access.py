"""The guard's access and what reviewers' tools say of it: its role reads only this stack's pools and may
update them only when enforcing, the same two statements at 1, 100 and 400 pools within the stack's 500
resources; cdk-nag and cfn-lint clean; Control Tower's controls pass when it is placed as the handler."""

from __future__ import annotations

import contextlib
import json
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_cloudwatch_actions as actions
from aws_cdk import aws_sns as sns
from cdk_nag import AwsSolutionsChecks

from kvs_pool_retention import KinesisVideoStreamPoolRetention
from kvs_pool_retention.handler import retention_rules as rules
from tests.unit.construct.policies import cfn_lint
from tests.unit.construct.test_guard import ACCOUNT, REGION, build, guard_policy, guard_resources, synthesize


@pytest.fixture(scope="module")
def one_pool() -> dict:
    return synthesize(1, guard={})


def actions_of(policy: dict) -> dict[str, list[str]]:
    return {s["Sid"]: s["Action"] for s in policy["Properties"]["PolicyDocument"]["Statement"]}


def test_without_enforce_the_role_cannot_update_pools_and_reads_only_this_stacks(one_pool):
    policy = guard_policy(one_pool)
    statements = {s["Sid"]: s for s in policy["Properties"]["PolicyDocument"]["Statement"]}

    assert actions_of(policy) == {
        "DeclaredByThisStack": [rules.GET_POOL, rules.LIST_TAGS],
        "ThisStack": [rules.DESCRIBE_STACKS, rules.LIST_STACK_RESOURCES],
    }
    (key,) = [
        v for v in one_pool["Resources"].values() if v["Type"] == "Custom::KinesisVideoStreamPoolRetention"
    ]
    anchor = f"aws:ResourceTag/{rules.STACK_TAG_PREFIX}{key['Properties'][rules.STACK_KEY]}"
    assert statements["DeclaredByThisStack"]["Condition"] == {
        "StringEquals": {anchor: {"Ref": "AWS::StackId"}}
    }
    assert statements["ThisStack"]["Resource"] == {"Ref": "AWS::StackId"}
    every_action = json.dumps(
        [v for v in guard_resources(one_pool).values() if v["Type"] == "AWS::IAM::Policy"]
    )
    assert rules.UPDATE_POOL not in every_action
    assert "chime:TagResource" not in every_action


def test_enforcing_adds_the_update_on_the_same_pools_only():
    policy = guard_policy(synthesize(1, guard={"enforce": True}))

    assert actions_of(policy)["DeclaredByThisStack"] == [rules.GET_POOL, rules.LIST_TAGS, rules.UPDATE_POOL]


@pytest.mark.parametrize("pools", [1, 100, 400])
def test_least_privilege_and_the_resource_budget_hold_at_scale(pools, tmp_path):
    app = cdk.App(outdir=str(tmp_path), analytics_reporting=True)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = cdk.Stack(app, "Scaled", env=cdk.Environment(account=ACCOUNT, region=REGION))
    build(stack, pools, guard={"enforce": True})

    artifact = app.synth().get_stack_by_name("Scaled")  # raises on any cdk-nag finding
    template = artifact.template

    policy = guard_policy(template)
    document = policy["Properties"]["PolicyDocument"]
    # The same two statements whatever the number of pools: nothing grows with them.
    assert len(json.dumps(document)) < 1_000
    assert next(s["Resource"] for s in document["Statement"]) == {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, f":chime:*:{ACCOUNT}:{rules.POOL_RESOURCE_TYPE}/*"],
        ]
    }
    assert len(template["Resources"]) <= 500
    assert len(guard_resources(template)) == 13
    assert not [m for m in artifact.messages if "GrantWidened" in str(m.entry.data)]


def test_cdk_nag_and_cfn_lint_report_nothing_with_the_guard_on(tmp_path):
    app = cdk.App(outdir=str(tmp_path))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = cdk.Stack(app, "Linted")
    KinesisVideoStreamPoolRetention(
        stack, "Name", pool_identifier="meeting-audio", data_retention=cdk.Duration.hours(9)
    )
    KinesisVideoStreamPoolRetention(
        stack,
        "Param",
        pool_identifier=cdk.CfnParameter(stack, "PoolName").value_as_string,
        data_retention=cdk.Duration.hours(9),
    )
    KinesisVideoStreamPoolRetention.configure_guard(stack, enforce=True)
    app.synth()  # raises on any cdk-nag finding

    report = json.loads((tmp_path / "validation-report.json").read_text())
    assert [v for plugin in report["pluginReports"] for v in plugin["violations"]] == []
    result = cfn_lint(tmp_path / "Linted.template.json")
    assert (result.returncode, result.stdout) == (0, "")


def control_tower_findings(outdir: Path, *, hardened: bool) -> set[tuple[str, str]]:
    """Control Tower's proactive controls and cdk-nag on a stack with the guard, placed as an organisation
    that requires a VPC and encrypted logs places it (hardened) or by default."""
    from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

    from tests.unit.construct.test_guardrails import hardening, plugin_findings

    app = cdk.App(outdir=str(outdir))
    cdk.Validations.of(app).add_plugins(CfnGuardValidator(), AwsSolutionsChecks(app))
    stack = cdk.Stack(app, "Guarded", env=cdk.Environment(account=ACCOUNT, region="eu-west-2"))
    options = hardening(stack) if hardened else {}
    KinesisVideoStreamPoolRetention(
        stack, "Pool", pool_identifier="meeting-audio", data_retention=cdk.Duration.hours(48), **options
    )
    pager = sns.Topic(stack, "Pager", enforce_ssl=True)
    KinesisVideoStreamPoolRetention.configure_guard(
        stack, alarm_actions=[actions.SnsAction(pager)] if hardened else [], **options
    )
    with contextlib.suppress(RuntimeError):  # jsii's form of ValidationFailed: the findings are reported
        app.synth()
    return {(control, path) for control, path in plugin_findings(outdir) if "KvsPoolRetentionGuard" in path}


def test_a_guard_placed_as_the_handler_passes_control_tower_controls_and_cdk_nag(tmp_path):
    assert control_tower_findings(tmp_path, hardened=True) == set()


def test_a_default_guard_fails_only_the_controls_its_options_clear(tmp_path):
    assert control_tower_findings(tmp_path, hardened=False) == {
        ("CT.CLOUDWATCH.PR.1", "Guarded/KvsPoolRetentionGuard/DriftAlarm/Resource"),
        ("CT.CLOUDWATCH.PR.3", "Guarded/KvsPoolRetentionGuard/Logs/Resource"),
        ("CT.LAMBDA.PR.3", "Guarded/KvsPoolRetentionGuard/Function/Resource"),
    }


def test_the_edge_where_the_guard_widens_the_handlers_grant_is_said_at_synth():
    """20-character names: exact grants up to 484 pools without the guard, 472 with its 13 resources."""
    app = cdk.App(analytics_reporting=True)
    stack = cdk.Stack(app, "Edge", env=cdk.Environment(account=ACCOUNT, region=REGION))
    KinesisVideoStreamPoolRetention.configure_guard(stack)  # before the pools: said all the same
    build(stack, 473)

    messages = [str(m.entry.data) for m in app.synth().get_stack_by_name("Edge").messages]

    (warning,) = [message for message in messages if "GrantWidened" in message]
    assert "the handler's pool grant is this account's pools in the stack's region" in warning
