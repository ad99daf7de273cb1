"""The construct in CDK Pipelines: one pipeline deploying the same stage to two accounts and regions."""

from __future__ import annotations

import aws_cdk as cdk
from aws_cdk import pipelines

from kvs_pool_retention import KinesisVideoStreamPoolRetention

STAGES = {"Staging": ("222222222222", "eu-west-2"), "Prod": ("333333333333", "us-west-2")}
CONNECTION = "arn:aws:codeconnections:us-east-1:111111111111:connection/0f3c2a1b-0000-4000-8000-000000000001"


class MeetingAudioRetention(cdk.Stage):
    """What each stage deploys: the retention of the same pool name, in the stage's account and region."""

    def __init__(self, scope: cdk.App, construct_id: str, *, env: cdk.Environment) -> None:
        super().__init__(scope, construct_id, env=env)
        stack = cdk.Stack(self, "Retention")
        KinesisVideoStreamPoolRetention(
            stack, "MeetingAudio", pool_identifier="meeting-audio", data_retention=cdk.Duration.days(30)
        )


def test_each_stage_grants_exactly_its_own_accounts_and_regions_pool(tmp_path):
    app = cdk.App(outdir=str(tmp_path))
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
    stages = {}
    for name, (account, region) in STAGES.items():
        stages[name] = MeetingAudioRetention(app, name, env=cdk.Environment(account=account, region=region))
        pipeline.add_stage(stages[name])

    app.synth()

    for name, (account, region) in STAGES.items():
        (stack,) = stages[name].synth().stacks
        (policy,) = (
            resource
            for resource in stack.template["Resources"].values()
            if resource["Properties"].get("PolicyName") == "kvs-pool-retention-pools"
        )
        statement = policy["Properties"]["PolicyDocument"]["Statement"][0]
        assert statement["Sid"] == "DeclaredPools"
        assert statement["Resource"] == [
            {
                "Fn::Join": [
                    "",
                    [
                        "arn:",
                        {"Ref": "AWS::Partition"},
                        f":chime:{region}:{account}:media-pipeline-kinesis-video-stream-pool/meeting-audio",
                    ],
                ]
            }
        ]
