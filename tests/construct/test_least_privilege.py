"""Least privilege at every scale: the role may update exactly the declared pools (lowering retention
deletes media), inline first, then in customer managed policies, each within IAM's limits counted as IAM
counts them with the longest values the pseudo parameters can take; the account-wide grant only where the
stack's 500 resources leave no room for another policy resource."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from cdk_nag import AwsSolutionsChecks

from kvs_pool_retention import KinesisVideoStreamPoolRetention
from tests.iam_size import LONGEST, iam_chars, resolve

POOL_ACTIONS = [
    "chime:GetMediaPipelineKinesisVideoStreamPool",
    "chime:UpdateMediaPipelineKinesisVideoStreamPool",
]
TAG_ACTIONS = ["chime:ListTagsForResource", "chime:TagResource", "chime:UntagResource"]
# 20-character names, the README's yardstick: exact grants fit up to here, and no further.
LAST_EXACT = 486


def name(index: int) -> str:
    return f"meeting-audio-{index:06d}"


def synthesize(tmp_path, pools: int, *, restoring: int = 0) -> dict:
    """A stack of `pools` pools, the first `restoring` with restore_on_delete, synthesized under cdk-nag."""
    app = cdk.App(outdir=str(tmp_path))
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


def pool_documents(template: dict) -> tuple[list[dict], list[dict]]:
    """The role's pool policies: (inline, managed) documents."""
    resources = template["Resources"].values()
    inline = [
        r["Properties"]["PolicyDocument"]
        for r in resources
        if r["Type"] == "AWS::IAM::Policy" and r["Properties"]["PolicyName"] == "kvs-pool-retention-pools"
    ]
    managed = [r["Properties"]["PolicyDocument"] for r in resources if r["Type"] == "AWS::IAM::ManagedPolicy"]
    return inline, managed


def granted(documents: list[dict], actions: list[str]) -> list[str]:
    return [
        arn
        for document in documents
        for statement in document["Statement"]
        if statement["Action"] == actions
        for arn in resolve(statement["Resource"], LONGEST)
    ]


def arn(index: int | str) -> str:
    """A pool's ARN resolved with the longest pseudo parameter values."""
    pool = name(index) if isinstance(index, int) else index
    return f"arn:aws-iso-b:chime:ap-southeast-10:123456789012:media-pipeline-kinesis-video-stream-pool/{pool}"


@pytest.mark.parametrize("pools", [100, 200, 400])
def test_every_declared_pool_and_no_other_is_granted_within_iams_limits(tmp_path, pools):
    template = synthesize(tmp_path, pools, restoring=pools // 10)

    inline, managed = pool_documents(template)
    assert sorted(granted(inline + managed, POOL_ACTIONS)) == sorted(arn(index) for index in range(pools))
    assert sorted(granted(inline + managed, TAG_ACTIONS)) == sorted(
        arn(index) for index in range(pools // 10)
    )
    assert "pool/*" not in json.dumps(template)
    role_inline = [
        r["Properties"]["PolicyDocument"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy"
    ]
    assert sum(iam_chars(document, LONGEST) for document in role_inline) <= 10_240
    assert all(iam_chars(document, LONGEST) <= 6_144 for document in managed)
    assert 1 <= len(managed) <= 10
    # As few managed policies as the ARNs need: none could go without (each is more than half full).
    assert all(iam_chars(document, LONGEST) > 6_144 / 2 for document in managed[:-1])


def test_the_last_stack_that_fits_under_500_resources_is_still_exact(tmp_path):
    template = synthesize(tmp_path, LAST_EXACT)

    inline, managed = pool_documents(template)
    assert len(template["Resources"]) == 500
    assert len(granted(inline + managed, POOL_ACTIONS)) == LAST_EXACT
    assert "pool/*" not in json.dumps(template)


def test_past_it_the_grant_widens_with_the_acknowledged_reason(tmp_path):
    template = synthesize(tmp_path, LAST_EXACT + 1)

    inline, managed = pool_documents(template)
    assert managed == []
    assert granted(inline, POOL_ACTIONS) == [arn("*")]
    (policy,) = (
        r
        for r in template["Resources"].values()
        if r["Properties"].get("PolicyName") == "kvs-pool-retention-pools"
    )
    reason = policy["Metadata"]["cdk_nag"]["rules_to_suppress"][0]["reason"]
    assert "CloudFormation's 500 resources a stack leave room for" in reason
