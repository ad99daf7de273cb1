"""What the CloudFormation stand-in refuses before touching a resource, and how it reads parameters, rules,
conditions and outputs. Templates of record-only resources: no process is started."""

from __future__ import annotations

import pytest

from tests.standins.cloudformation import BOOTSTRAP_VERSION_PARAMETER, ValidationError

LOGS = {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"RetentionInDays": 365}}}
# What aws-cdk-lib adds to every stack it synthesizes with the default synthesizer.
CDK_BOOTSTRAP = {
    "Parameters": {
        "BootstrapVersion": {
            "Type": "AWS::SSM::Parameter::Value<String>",
            "Default": BOOTSTRAP_VERSION_PARAMETER,
        }
    },
    "Rules": {
        "CheckBootstrapVersion": {
            "Assertions": [
                {
                    "Assert": {
                        "Fn::Not": [
                            {"Fn::Contains": [["1", "2", "3", "4", "5"], {"Ref": "BootstrapVersion"}]}
                        ]
                    },
                    "AssertDescription": "CDK bootstrap stack version 6 required.",
                }
            ]
        }
    },
}


def test_redeploying_the_same_template_is_refused(cloudformation):
    cloudformation.deploy("Logs", {"Resources": LOGS})

    with pytest.raises(ValidationError, match=r"^No updates are to be performed\.$"):
        cloudformation.deploy("Logs", {"Resources": LOGS})


@pytest.mark.parametrize(
    ("resources", "message"),
    [
        ({}, "At least one Resources member must be defined"),
        (
            {"Logs": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": {"Ref": "Missing"}}}},
            r"Unresolved resource dependencies \[Missing\] in the Resources block",
        ),
        (
            {"Logs": {"Type": "AWS::Logs::LogGroup", "DependsOn": "Missing"}},
            r"Unresolved resource dependencies \[Missing\]",
        ),
        (
            {
                "A": {"Type": "AWS::Logs::LogGroup", "DependsOn": "B"},
                "B": {"Type": "AWS::Logs::LogGroup", "Properties": {"LogGroupName": {"Fn::Sub": "${A}"}}},
            },
            r"Circular dependency between resources: \[A, B\]",
        ),
    ],
    ids=["empty", "unresolved-ref", "unresolved-depends-on", "cycle"],
)
def test_an_inconsistent_template_is_refused(cloudformation, resources, message):
    with pytest.raises(ValidationError, match=message):
        cloudformation.deploy("Broken", {"Resources": resources})


def test_a_resource_type_cannot_change(cloudformation):
    cloudformation.deploy("Logs", {"Resources": LOGS})

    with pytest.raises(ValidationError, match=r"modifies resource type of the following resources: \[Logs\]"):
        cloudformation.deploy("Logs", {"Resources": {"Logs": {"Type": "AWS::EC2::SecurityGroup"}}})
    assert cloudformation.stack("Logs").status == "CREATE_COMPLETE"


def test_cdks_bootstrap_version_rule_reads_the_ssm_parameter(cloudformation):
    created = cloudformation.deploy("Cdk", {"Resources": LOGS, **CDK_BOOTSTRAP})
    assert created.status == "CREATE_COMPLETE"

    cloudformation.ssm_parameters[BOOTSTRAP_VERSION_PARAMETER] = "5"
    with pytest.raises(ValidationError, match="CDK bootstrap stack version 6 required"):
        cloudformation.deploy("Old", {"Resources": LOGS, **CDK_BOOTSTRAP})


def test_parameters_must_have_values_and_exist(cloudformation):
    template = {"Parameters": {"Hours": {"Type": "Number"}}, "Resources": LOGS}

    with pytest.raises(ValidationError, match=r"Parameters: \[Hours\] must have values"):
        cloudformation.deploy("Params", template)
    with pytest.raises(ValidationError, match=r"Parameters: \[Days\] do not exist in the template"):
        cloudformation.deploy("Params", template, {"Hours": 48, "Days": 2})


def test_conditions_parameters_and_outputs(cloudformation):
    template = {
        "Parameters": {"Stage": {"Type": "String", "AllowedValues": ["test", "prod"]}},
        "Conditions": {"InProduction": {"Fn::Equals": [{"Ref": "Stage"}, "prod"]}},
        "Resources": {
            "Logs": {
                "Type": "AWS::Logs::LogGroup",
                "Properties": {"LogGroupName": {"Fn::Sub": "/retention/${Stage}"}},
            },
            "ProductionOnly": {"Type": "AWS::Logs::LogGroup", "Condition": "InProduction"},
        },
        "Outputs": {
            "LogsArn": {"Value": {"Fn::GetAtt": ["Logs", "Arn"]}, "Export": {"Name": "retention-logs"}},
            "Stage": {"Value": {"Fn::If": ["InProduction", "production", "testing"]}},
        },
    }

    created = cloudformation.deploy("Conditional", template, {"Stage": "test"})

    stack = cloudformation.stack("Conditional")
    assert created.status == "CREATE_COMPLETE"
    assert set(stack.resources) == {"Logs"}
    assert stack.outputs == {
        "LogsArn": "arn:aws:logs:us-east-1:111122223333:log-group:/retention/test:*",
        "Stage": "testing",
    }
    assert cloudformation.export("retention-logs") == stack.outputs["LogsArn"]
    with pytest.raises(ValidationError, match="must be one of AllowedValues"):
        cloudformation.deploy("Conditional", template, {"Stage": "staging"})


def test_a_native_pool_resource_owns_its_pool(cloudformation, pool_api):
    template = {
        "Resources": {
            "Pool": {
                "Type": "AWS::Chime::MediaPipelineKinesisVideoStreamPool",
                "Properties": {
                    "PoolName": "meeting-audio",
                    "StreamConfiguration": {"Region": {"Ref": "AWS::Region"}, "DataRetentionInHours": 24},
                },
            }
        },
        "Outputs": {"PoolArn": {"Value": {"Fn::GetAtt": ["Pool", "PoolArn"]}}},
    }

    cloudformation.deploy("Pools", template)
    created = pool_api.pools["meeting-audio"]
    outputs = dict(cloudformation.stack("Pools").outputs)
    cloudformation.delete("Pools")

    assert created.retention == 24
    assert outputs["PoolArn"] == created.arn
    assert pool_api.pools == {}
