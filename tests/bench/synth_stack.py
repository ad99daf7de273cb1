"""One measured synthesis, in its own process: `python -m tests.bench.synth_stack KIND N OUTDIR`.

KIND is `ours` (KinesisVideoStreamPoolRetention) or `aws-custom-resource` (CDK's AwsCustomResource calling
UpdateMediaPipelineKinesisVideoStreamPool as its documentation shows, with install_latest_aws_sdk=False);
for where our time goes, `function` (a Lambda-backed custom resource built from Python with our handler
asset, nothing else) and `function-resources` (that, with what AwsCustomResource does not make: a log
group, async-invoke settings, a second inline policy, and a role built apart instead of CDK's default).
Prints, as JSON, the wall time of building the app and synthesizing it (imports excluded) twice in one
process: `seconds` for the first (what one `cdk synth` costs), `warm_seconds` for a second, identical app,
once Node has compiled aws-cdk-lib's code paths and loaded its lazily loaded modules.
"""

from __future__ import annotations

import functools
import json
import sys
import time
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from aws_cdk import custom_resources as cr
from constructs import Construct

from kvs_pool_retention import KinesisVideoStreamPoolRetention
from kvs_pool_retention.handler_asset import handler_code


def declare_ours(stack: cdk.Stack, count: int) -> None:
    for index in range(count):
        KinesisVideoStreamPoolRetention(
            stack,
            f"Pool{index}",
            pool_identifier=f"meeting-audio-{index:03}",
            data_retention=cdk.Duration.hours(48),
        )


def declare_aws_custom_resource(stack: cdk.Stack, count: int) -> None:
    for index in range(count):
        call = cr.AwsSdkCall(
            service="ChimeSDKMediaPipelines",
            action="updateMediaPipelineKinesisVideoStreamPool",
            parameters={
                "Identifier": f"meeting-audio-{index:03}",
                "StreamConfiguration": {"DataRetentionInHours": 48},
            },
            physical_resource_id=cr.PhysicalResourceId.of(f"meeting-audio-{index:03}"),
        )
        cr.AwsCustomResource(
            stack,
            f"Pool{index}",
            on_create=call,
            on_update=call,
            policy=cr.AwsCustomResourcePolicy.from_sdk_calls(
                resources=cr.AwsCustomResourcePolicy.ANY_RESOURCE
            ),
            install_latest_aws_sdk=False,
        )


def declare_function(stack: cdk.Stack, count: int, *, resources: bool = False) -> None:
    scope = Construct(stack, "Provider")
    log_group = logs.LogGroup(scope, "Logs", retention=logs.RetentionDays.ONE_YEAR) if resources else None
    role = None
    if resources:
        assert log_group is not None
        role = iam.Role(scope, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"))
        role.add_to_policy(
            iam.PolicyStatement(actions=["logs:PutLogEvents"], resources=[log_group.log_group_arn])
        )
    function = lambda_.Function(
        scope,
        "Handler",
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler="index.handler",
        code=handler_code(),
        timeout=cdk.Duration.minutes(10),
        role=role,
        log_group=log_group,
        **({"max_event_age": cdk.Duration.minutes(15), "retry_attempts": 2} if resources else {}),
    )
    if role is not None:
        statement = {
            "Effect": "Allow",
            "Action": "chime:GetMediaPipelineKinesisVideoStreamPool",
            "Resource": "*",
        }
        document = {"Version": "2012-10-17", "Statement": [statement]}
        policy = iam.CfnPolicy(
            scope, "PoolAccess", policy_name="pools", roles=[role.role_name], policy_document=document
        )
        function.node.add_dependency(policy)
    for index in range(count):
        cdk.CustomResource(
            stack,
            f"Pool{index}",
            service_token=function.function_arn,
            properties={"PoolIdentifier": f"meeting-audio-{index:03}", "DataRetentionInHours": 48},
        )


KINDS = {
    "ours": declare_ours,
    "aws-custom-resource": declare_aws_custom_resource,
    "function": declare_function,
    "function-resources": functools.partial(declare_function, resources=True),
}


def synthesize(kind: str, count: int, outdir: Path) -> float:
    started = time.perf_counter()
    # CDK refuses a stack over 500 resources at synth; lift that so the report can say by how much.
    app = cdk.App(outdir=str(outdir), context={"@aws-cdk/core:stackResourceLimit": 0})
    KINDS[kind](cdk.Stack(app, "Bench"), count)
    app.synth()
    return time.perf_counter() - started


def main() -> None:
    kind, count, outdir = sys.argv[1], int(sys.argv[2]), Path(sys.argv[3])
    cold = synthesize(kind, count, outdir)
    warm = synthesize(kind, count, outdir.with_name(outdir.name + "-warm"))
    print(
        json.dumps({"seconds": cold, "warm_seconds": warm, "template": str(outdir / "Bench.template.json")})
    )


if __name__ == "__main__":
    main()
