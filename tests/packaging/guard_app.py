"""A CDK app for `cdk diff` of turning the guard on: two pools, the guard when `-c guard=true`."""

from __future__ import annotations

import aws_cdk as cdk

from kvs_pool_retention import KinesisVideoStreamPoolRetention

app = cdk.App()
stack = cdk.Stack(app, "Guarded", env=cdk.Environment(account="111122223333", region="us-east-1"))
for index, name in enumerate(("meeting-audio", "support-audio")):
    KinesisVideoStreamPoolRetention(
        stack, f"Pool{index}", pool_identifier=name, data_retention=cdk.Duration.hours(48)
    )
if app.node.try_get_context("guard") == "true":
    KinesisVideoStreamPoolRetention.configure_guard(stack)
app.synth()
