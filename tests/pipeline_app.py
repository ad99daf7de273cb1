"""A CDK Pipelines app as users write one: a delivery stack's pipeline deploying stages to two other
accounts and regions (the construct's tests and the drift check's read the same shape)."""

from __future__ import annotations

from pathlib import Path

import aws_cdk as cdk
from aws_cdk import pipelines

STAGES = {"Staging": ("222222222222", "eu-west-2"), "Prod": ("333333333333", "us-west-2")}
CONNECTION = "arn:aws:codeconnections:us-east-1:111111111111:connection/0f3c2a1b-0000-4000-8000-000000000001"


def pipeline_app(outdir: Path, stages: dict[str, type[cdk.Stage]]) -> dict[str, cdk.Stage]:
    """Synthesize the app into `outdir`, each named stage (of STAGES) of the given kind; the stages."""
    app = cdk.App(outdir=str(outdir))
    delivery = cdk.Stack(app, "Delivery", env=cdk.Environment(account="111111111111", region="us-east-1"))
    pipeline = pipelines.CodePipeline(
        delivery,
        "Pipeline",
        synth=pipelines.ShellStep(
            "Synth",
            input=pipelines.CodePipelineSource.connection("example/kvs", "main", connection_arn=CONNECTION),
            commands=["make synth"],
        ),
        cross_account_keys=True,  # stages in other accounts than the pipeline's
    )
    made = {}
    for name, stage in stages.items():
        account, region = STAGES[name]
        made[name] = stage(app, name, env=cdk.Environment(account=account, region=region))
        pipeline.add_stage(made[name])
    app.synth()
    return made
