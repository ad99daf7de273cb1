"""The construct in CDK Pipelines: one pipeline deploying the same stage to two accounts and regions."""

from __future__ import annotations

import aws_cdk as cdk

from kvs_pool_retention import KinesisVideoStreamPoolRetention
from tests.pipeline_app import STAGES, pipeline_app


class MeetingAudioRetention(cdk.Stage):
    """What each stage deploys: the retention of the same pool name, in the stage's account and region."""

    def __init__(self, scope: cdk.App, construct_id: str, *, env: cdk.Environment) -> None:
        super().__init__(scope, construct_id, env=env)
        stack = cdk.Stack(self, "Retention")
        KinesisVideoStreamPoolRetention(
            stack, "MeetingAudio", pool_identifier="meeting-audio", data_retention=cdk.Duration.days(30)
        )


def test_each_stage_grants_exactly_its_own_accounts_and_regions_pool(tmp_path):
    stages = pipeline_app(tmp_path, dict.fromkeys(STAGES, MeetingAudioRetention))

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
