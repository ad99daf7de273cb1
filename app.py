#!/usr/bin/env python3
"""Example app: one stack that keeps the retention of the pools listed in cdk.json's `pools` context.

Override on the command line: cdk synth -c 'pools=[{"identifier": "my-pool", "retentionHours": 72}]'
"""

from __future__ import annotations

import json
from typing import Any

import aws_cdk as cdk

from kvs_pool_retention import KinesisVideoStreamPoolRetention


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
    for index, pool in enumerate(declared_pools(app)):
        retention = KinesisVideoStreamPoolRetention(
            stack,
            f"Pool{index}",
            pool_identifier=pool["identifier"],
            data_retention=cdk.Duration.hours(int(pool["retentionHours"])),
        )
        cdk.CfnOutput(stack, f"Pool{index}Arn", value=retention.pool_arn)
        cdk.CfnOutput(stack, f"Pool{index}Status", value=retention.pool_status)
    return stack


if __name__ == "__main__":
    app = cdk.App()
    build(app)
    app.synth()
