"""Templates for the CloudFormation stand-in's tests: a role, its policy, one function running the scripted
handler (`scripted_resource/index.py`), and custom resources whose properties script its answers."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

SCRIPTED_ASSET_KEY = "scripted-resource.zip"
SCRIPTED_RESOURCE = Path(__file__).with_name("scripted_resource")  # a custom resource that does as told
FUNCTION = "Handler"
ROLE = "HandlerRole"
POLICY = "HandlerPolicy"
RESOURCE_TYPE = "Custom::Scripted"


def scripted_template(resources: dict[str, dict[str, Any]], *, function_timeout: int = 30) -> dict:
    """A stack of scripted custom resources: `resources` maps logical ids to their own properties, plus
    `DependsOn` (a list) and `DeletionPolicy`, taken out as the resource's attributes. The function's role
    may DescribeStacks on this stack only."""
    template: dict = {
        "Resources": {
            ROLE: {
                "Type": "AWS::IAM::Role",
                "Properties": {
                    "AssumeRolePolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Principal": {"Service": "lambda.amazonaws.com"},
                                "Action": "sts:AssumeRole",
                            }
                        ],
                    }
                },
            },
            POLICY: {
                "Type": "AWS::IAM::Policy",
                "Properties": {
                    "PolicyName": "describe-own-stack",
                    "Roles": [{"Ref": ROLE}],
                    "PolicyDocument": {
                        "Version": "2012-10-17",
                        "Statement": [
                            {
                                "Effect": "Allow",
                                "Action": "cloudformation:DescribeStacks",
                                "Resource": {"Ref": "AWS::StackId"},
                            }
                        ],
                    },
                },
            },
            FUNCTION: {
                "Type": "AWS::Lambda::Function",
                "DependsOn": [POLICY],
                "Properties": {
                    "Code": {"S3Bucket": "cdk-assets", "S3Key": SCRIPTED_ASSET_KEY},
                    "Handler": "index.handler",
                    "Runtime": "python3.14",
                    "Timeout": function_timeout,
                    "Role": {"Fn::GetAtt": [ROLE, "Arn"]},
                },
            },
        }
    }
    for logical_id, declared in resources.items():
        properties = copy.deepcopy(declared)
        attributes = {
            name: properties.pop(name) for name in ("DependsOn", "DeletionPolicy") if name in properties
        }
        template["Resources"][logical_id] = {
            "Type": RESOURCE_TYPE,
            "Properties": {"ServiceToken": {"Fn::GetAtt": [FUNCTION, "Arn"]}, **properties},
            **attributes,
        }
    return template
