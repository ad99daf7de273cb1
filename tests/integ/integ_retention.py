"""Integ test: the construct against the real service, in the CDK convention for construct libraries.

A stack with two native pools created at 24 h, the construct setting both to 48 h (the second with
restore_on_delete), and an assertion stack (aws_cdk.integ_tests_alpha) whose custom resources call
GetMediaPipelineKinesisVideoStreamPool during deployment and fail it unless each pool is ACTIVE at 48 h.

`make integ-deploy` deploys both stacks with the caller's credentials and destroys them, whatever the
outcome; `make test` compares its synthesized templates with the committed snapshot (tests/integ/snapshot.py).
Run as a CDK app: `python tests/integ/integ_retention.py`.
"""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import aws_chime as chime
from aws_cdk.integ_tests_alpha import ExpectedResult, IntegTest

from kvs_pool_retention import KinesisVideoStreamPoolRetention

STACK = "KvsPoolRetentionInteg"
POOLS = {"kvs-pool-retention-integ": False, "kvs-pool-retention-integ-restored": True}  # name: restore


def build(app: cdk.App) -> IntegTest:
    stack = cdk.Stack(app, STACK, description="kvs-pool-retention integ test: safe to delete")
    for index, (name, restore_on_delete) in enumerate(POOLS.items()):
        pool = chime.CfnMediaPipelineKinesisVideoStreamPool(
            stack,
            f"Pool{index}",
            pool_name=name,
            stream_configuration=chime.CfnMediaPipelineKinesisVideoStreamPool.StreamConfigurationProperty(
                region=stack.region, data_retention_in_hours=24
            ),
        )
        retention = KinesisVideoStreamPoolRetention(
            stack,
            f"Retention{index}",
            pool_identifier=name,  # a literal name, so the role is granted this pool's exact ARN
            data_retention=cdk.Duration.hours(48),
            restore_on_delete=restore_on_delete,
        )
        retention.node.add_dependency(pool)
    integ = IntegTest(app, "Retention", test_cases=[stack])
    for name in POOLS:
        integ.assertions.aws_api_call(
            "ChimeSDKMediaPipelines", "getMediaPipelineKinesisVideoStreamPool", {"Identifier": name}
        ).expect(
            ExpectedResult.object_like(
                {
                    "KinesisVideoStreamPoolConfiguration": {
                        "PoolStatus": "ACTIVE",
                        "StreamConfiguration": {"DataRetentionInHours": 48},
                    }
                }
            )
        )
    return integ


if __name__ == "__main__":
    app = cdk.App()
    build(app)
    app.synth()
