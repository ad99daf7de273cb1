"""What the handler reads of its stack from CloudFormation's API, stubbed."""

from __future__ import annotations

import json

import boto3
import pytest
from botocore.stub import Stubber
from retention_rules import same_pool
from stack_view import Declared, declared_retention, destination_resources, stack_status

from tests.fakes import POOL_ARN, STACK_ID

TYPE = "Custom::KinesisVideoStreamPoolRetention"


@pytest.fixture
def client():
    cloudformation = boto3.client("cloudformation", region_name="us-east-1")
    with Stubber(cloudformation) as stub:
        yield cloudformation, stub
        stub.assert_no_pending_responses()


def test_the_status_is_read_and_a_failure_is_unknown(client):
    cloudformation, stub = client
    stub.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {
                    "StackName": "R",
                    "CreationTime": "2026-11-30T00:00:00Z",
                    "StackStatus": "DELETE_IN_PROGRESS",
                }
            ]
        },
    )
    stub.add_client_error("describe_stacks", service_error_code="Throttling", http_status_code=400)

    assert stack_status(cloudformation, STACK_ID) == "DELETE_IN_PROGRESS"
    assert stack_status(cloudformation, STACK_ID) is None


def test_the_destination_templates_resources_are_read(client):
    """botocore decodes a JSON body (its after-call handler for GetTemplate); a text body is decoded too."""
    cloudformation, stub = client
    template = {"Resources": {"Pool": {"Type": TYPE}}}
    stub.add_response("get_template", {"TemplateBody": json.dumps(template)})

    assert destination_resources(cloudformation, STACK_ID) == {"Pool": {"Type": TYPE}}


def test_a_template_that_cannot_be_read_is_unknown(client):
    cloudformation, stub = client
    stub.add_response("get_template", {"TemplateBody": "Resources:\n  Pool: {Type: X}\n"})  # YAML: not ours
    stub.add_client_error("get_template", service_error_code="AccessDenied", http_status_code=403)

    assert destination_resources(cloudformation, STACK_ID) is None
    assert destination_resources(cloudformation, STACK_ID) is None


def names_the_pool(identifier: str) -> bool:
    return same_pool(identifier, POOL_ARN, region="us-east-1", account="111122223333")


@pytest.mark.parametrize(
    ("properties", "declared"),
    [
        ({"PoolIdentifier": "meeting-audio", "DataRetentionInHours": 168}, Declared(168, False)),
        ({"PoolIdentifier": POOL_ARN, "DataRetentionInHours": "72"}, Declared(72, False)),
        ({"PoolIdentifier": "other-pool", "DataRetentionInHours": 168}, Declared(None, False)),
        ({"PoolIdentifier": {"Ref": "Pool"}, "DataRetentionInHours": 168}, Declared(None, True)),
        ({"PoolIdentifier": "meeting-audio", "DataRetentionInHours": {"Ref": "Hours"}}, Declared(None, True)),
        ({"PoolIdentifier": "meeting-audio", "DataRetentionInHours": "²"}, Declared(None, True)),
    ],
    ids=["by-name", "by-arn", "another-pool", "deploy-time-pool", "deploy-time-hours", "not-hours"],
)
def test_the_retention_a_template_declares_for_the_pool(properties, declared):
    resources = {"Retention": {"Type": TYPE, "Properties": properties}, "Other": {"Type": "AWS::IAM::Role"}}

    assert declared_retention(resources, TYPE, names_the_pool) == declared
