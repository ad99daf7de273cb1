"""One measured synthesis, in its own process: `python -m tests.bench.synth_stack KIND N OUTDIR`.

KIND is `ours` (KinesisVideoStreamPoolRetention) or `aws-custom-resource` (CDK's AwsCustomResource calling
UpdateMediaPipelineKinesisVideoStreamPool as its documentation shows, with install_latest_aws_sdk=False).
Prints, as JSON, the wall time of building the app and synthesizing it (imports excluded) twice in one
process: `seconds` for the first (what one `cdk synth` costs), `warm_seconds` for a second, identical app,
once Node has compiled aws-cdk-lib's code paths and loaded its lazily loaded modules.
"""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import aws_cdk as cdk
from aws_cdk import custom_resources as cr

from kvs_pool_retention import KinesisVideoStreamPoolRetention


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


KINDS = {"ours": declare_ours, "aws-custom-resource": declare_aws_custom_resource}


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
