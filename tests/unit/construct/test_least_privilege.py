"""Least privilege at every scale: the role may update exactly the declared pools (lowering retention
deletes media), inline first, then in customer managed policies, each within IAM's limits counted as IAM
counts them with the longest values the pseudo parameters can take; the account-wide grant only where the
stack's 500 resources leave no room for another policy resource. Synthesized as the CDK CLI does, with
version reporting on: CDK adds AWS::CDK::Metadata after the construct has planned its grants."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks

from kvs_pool_retention import KinesisVideoStreamPoolRetention
from tests.iam_size import LONGEST, iam_chars
from tests.unit.construct.policies import declared, pool_documents, pool_policy, suppression_reasons

# 20-character names, the README's yardstick: exact grants fit up to here, and no further (with version
# reporting on, as the CLI synthesizes).
LAST_EXACT = 484


def name(index: int) -> str:
    return f"meeting-audio-{index:06d}"


def synthesize(tmp_path, pools: int, *, restoring: int = 0) -> dict:
    """A stack of `pools` pools, the first `restoring` with restore_on_delete, synthesized under cdk-nag."""
    app = cdk.App(outdir=str(tmp_path), analytics_reporting=True)
    cdk.Validations.of(app).add_plugins(AwsSolutionsChecks(app))
    stack = cdk.Stack(app, "Scaled")
    for index in range(pools):
        KinesisVideoStreamPoolRetention(
            stack,
            f"Pool{index}",
            pool_identifier=name(index),
            data_retention=cdk.Duration.hours(48),
            restore_on_delete=index < restoring,
        )
    return app.synth().get_stack_by_name("Scaled").template  # raises on any cdk-nag finding


def arn(index: int | str) -> str:
    """A pool's ARN resolved with the longest pseudo parameter values."""
    pool = name(index) if isinstance(index, int) else index
    return f"arn:aws-iso-b:chime:ap-southeast-10:123456789012:media-pipeline-kinesis-video-stream-pool/{pool}"


@pytest.mark.parametrize("pools", [100, 200, 400])
def test_every_declared_pool_and_no_other_is_granted_within_iams_limits(tmp_path, pools):
    template = synthesize(tmp_path, pools, restoring=pools // 10)

    inline, managed = pool_documents(template)
    assert sorted(declared(inline + managed)) == sorted(arn(index) for index in range(pools))
    assert "pool/*" not in json.dumps(declared(inline + managed))
    role_inline = [
        r["Properties"]["PolicyDocument"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy"
    ]
    # Full to within one ARN: the plan budgets the fixed statements at their real size, so the next
    # declared ARN (quoted, with its comma) is the one that would not fit the role's 10 240 characters.
    next_arn = len(arn(len(declared(inline)))) + 3
    assert 10_240 - next_arn < sum(iam_chars(document, LONGEST) for document in role_inline) <= 10_240
    assert all(iam_chars(document, LONGEST) <= 6_144 for document in managed)
    assert 1 <= len(managed) <= 10
    # As few managed policies as the ARNs need: none could go without (each is more than half full).
    assert all(iam_chars(document, LONGEST) > 6_144 / 2 for document in managed[:-1])


def test_a_single_pool_is_granted_exactly_inline_beside_the_fixed_statements(tmp_path):
    template = synthesize(tmp_path, 1, restoring=1)

    inline, managed = pool_documents(template)
    assert declared(inline) == [arn(0)]
    assert managed == []
    assert [statement["Sid"] for statement in inline[0]["Statement"]] == [
        "DeclaredPools",
        "DeclaredByThisStack",
        "DeclaringStacks",
    ]
    role_inline = [
        r["Properties"]["PolicyDocument"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy"
    ]
    assert sum(iam_chars(document, LONGEST) for document in role_inline) <= 10_240


def test_the_last_stack_that_fits_under_500_resources_is_still_exact(tmp_path):
    template = synthesize(tmp_path, LAST_EXACT)

    inline, managed = pool_documents(template)
    # 76 inline, 8 managed policies of 51: 499 resources, AWS::CDK::Metadata included. One pool more needs
    # a ninth managed policy, 501 resources (the next test).
    assert len(template["Resources"]) == 499
    assert "AWS::CDK::Metadata" in {resource["Type"] for resource in template["Resources"].values()}
    assert len(declared(inline + managed)) == LAST_EXACT
    assert "pool/*" not in json.dumps(declared(inline + managed))


def test_past_it_the_grant_widens_with_the_acknowledged_reason(tmp_path):
    template = synthesize(tmp_path, LAST_EXACT + 1)

    inline, managed = pool_documents(template)
    assert len(template["Resources"]) <= 500
    assert managed == []
    assert declared(inline) == [arn("*")]
    assert any(
        "CloudFormation's 500 resources a stack leave room for" in reason
        for reason in suppression_reasons(pool_policy(template))
    )


def test_the_readmes_figures_for_twenty_character_names(tmp_path):
    """76 ARNs inline, 51 in each managed policy: what the README quotes."""
    inline, managed = pool_documents(synthesize(tmp_path, 76 + 51 + 1))

    assert [len(declared(inline)), *(len(declared([document])) for document in managed)] == [76, 51, 1]


def test_a_default_stack_holds_at_most_493_pools_and_cdk_refuses_494(tmp_path):
    """The handler's 6 resources and AWS::CDK::Metadata leave 493 of CloudFormation's 500 for pools."""
    template = synthesize(tmp_path / "fits", LAST_EXACT + 9)
    assert len(template["Resources"]) == 500

    with pytest.raises(RuntimeError, match="greater than allowed maximum of 500"):
        synthesize(tmp_path / "over", LAST_EXACT + 10)
