"""What reviewers' pipelines run on a synthesized stack: cdk-nag (AwsSolutions) and cfn-lint."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks

from kvs_pool_retention import KinesisVideoStreamPoolRetention
from tests.unit.construct.policies import (
    cfn_lint,
    declared,
    pool_documents,
    pool_policy,
    stack_env_arn,
    suppression_reasons,
)

ARN = "arn:aws:chime:eu-west-2:111122223333:media-pipeline-kinesis-video-stream-pool/compliance-audio"


def nagged_app(tmp_path) -> cdk.App:
    app = cdk.App(outdir=str(tmp_path))
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    return app


def declare(stack: cdk.Stack, *identifiers: str) -> None:
    for index, identifier in enumerate(identifiers):
        KinesisVideoStreamPoolRetention(
            stack, f"Pool{index}", pool_identifier=identifier, data_retention=cdk.Duration.hours(24 + index)
        )


def findings(tmp_path) -> list[str]:
    report = json.loads((tmp_path / "validation-report.json").read_text())
    return [violation["ruleName"] for plugin in report["pluginReports"] for violation in plugin["violations"]]


def test_several_instances_have_no_aws_solutions_findings(tmp_path):
    app = nagged_app(tmp_path)
    declare(cdk.Stack(app, "Reviewed"), "meeting-audio", "support-audio", ARN)

    app.synth()  # raises ValidationFailed on any finding

    assert findings(tmp_path) == []


@pytest.mark.parametrize(
    "env",
    [None, cdk.Environment(account="123456789012", region="eu-west-2")],
    ids=["env-agnostic", "env-bound"],
)
def test_the_account_wide_fallback_is_acknowledged_by_the_construct_itself(tmp_path, env):
    app = nagged_app(tmp_path)
    stack = cdk.Stack(app, "Reviewed", env=env)
    declare(stack, "meeting-audio", cdk.CfnParameter(stack, "PoolName").value_as_string)

    template = app.synth().get_stack_by_name("Reviewed").template

    assert findings(tmp_path) == []
    reasons = suppression_reasons(pool_policy(template))
    assert any("only known at deploy time" in reason for reason in reasons)


def test_deploy_time_pool_names_and_arns_are_granted_exactly_with_no_finding(tmp_path):
    app = nagged_app(tmp_path)
    stack = cdk.Stack(app, "Reviewed")
    name = cdk.CfnParameter(stack, "PoolName").value_as_string
    arn = cdk.CfnParameter(stack, "PoolArn").value_as_string
    KinesisVideoStreamPoolRetention(stack, "ByName", pool_name=name, data_retention=cdk.Duration.hours(24))
    KinesisVideoStreamPoolRetention(
        stack, "ByArn", pool_arn=arn, data_retention=cdk.Duration.hours(24), restore_on_delete=True
    )

    template = app.synth().get_stack_by_name("Reviewed").template

    assert findings(tmp_path) == []
    (document,), _ = pool_documents(template)
    assert declared([document], pseudo=None) == [
        stack_env_arn({"Ref": "PoolName"}),
        {"Ref": "PoolArn"},
    ]
    # The only wildcards: the pool grant conditioned on the pools' record naming this stack, and the
    # read-only look at the account's stacks; no account-wide fallback for the pools themselves.
    rules = pool_policy(template)["Metadata"]["cdk_nag"]["rules_to_suppress"]
    assert [(rule["applies_to"], rule["reason"].split(" (")[0].split(":")[0]) for rule in rules] == [
        (
            [
                "Resource::arn:<AWS::Partition>:chime:*:<AWS::AccountId>:"
                "media-pipeline-kinesis-video-stream-pool/*"
            ],
            "Conditioned on the pool's record naming this stack",
        ),
        (["Resource::arn:<AWS::Partition>:cloudformation:*:<AWS::AccountId>:stack/*"], "Read-only"),
    ]


def test_cfn_lint_reports_nothing_on_the_synthesized_template(tmp_path):
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Linted")
    declare(stack, "meeting-audio", ARN, cdk.CfnParameter(stack, "PoolName").value_as_string)
    app.synth()

    result = cfn_lint(tmp_path / "Linted.template.json")

    assert (result.returncode, result.stdout) == (0, "")
