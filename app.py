#!/usr/bin/env python3
"""Example app: one stack that keeps the retention of the pools listed in cdk.json's `pools` context.

Override on the command line: cdk synth -c 'pools=[{"identifier": "my-pool", "retentionHours": 72}]'

Each of the first 100 pools gets two outputs, its PoolArn and PoolStatus: CloudFormation allows 200
outputs a stack. Pools past the 100th get none, and synthesis warns which (`python -m
kvs_pool_retention drift` reads every pool).
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk

from kvs_pool_retention import KinesisVideoStreamPoolRetention

MAX_OUTPUTS = 200  # CloudFormation's limit a stack
OUTPUTS_PER_POOL = 2


def declared_pools(app: cdk.App) -> list[dict[str, Any]]:
    value = app.node.try_get_context("pools")
    pools = json.loads(value) if isinstance(value, str) else value  # -c passes a string
    if not isinstance(pools, list) or not all(
        isinstance(pool, dict) and {"identifier", "retentionHours"} <= set(pool) for pool in pools
    ):
        raise ValueError(
            'context "pools" must be a list of {"identifier": <pool name or ARN>, "retentionHours": <n>}; '
            f"got {value!r}"
        )
    return pools


def build(app: cdk.App) -> cdk.Stack:
    stack = cdk.Stack(app, app.node.try_get_context("stackName") or "KvsPoolRetention")
    pools = declared_pools(app)
    with_outputs = MAX_OUTPUTS // OUTPUTS_PER_POOL
    for index, pool in enumerate(pools):
        retention = KinesisVideoStreamPoolRetention(
            stack,
            f"Pool{index}",
            pool_identifier=pool["identifier"],
            data_retention=cdk.Duration.hours(int(pool["retentionHours"])),
        )
        if index < with_outputs:
            cdk.CfnOutput(stack, f"Pool{index}Arn", value=retention.pool_arn)
            cdk.CfnOutput(stack, f"Pool{index}Status", value=retention.pool_status)
    if len(pools) > with_outputs:
        cdk.Annotations.of(stack).add_warning_v2(
            "kvs-pool-retention:outputs",
            f"Only the first {with_outputs} of {len(pools)} pools have PoolArn and PoolStatus outputs: "
            f"CloudFormation allows {MAX_OUTPUTS} outputs a stack. Pools {with_outputs} to {len(pools) - 1} "
            "have none; `python -m kvs_pool_retention drift` reads every pool.",
        )
    return stack


if __name__ == "__main__":
    app = cdk.App()
    build(app)
    app.synth()
