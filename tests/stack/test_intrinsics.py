"""Intrinsic functions as the CloudFormation stand-in resolves them, on the shapes aws-cdk-lib writes."""

from __future__ import annotations

from typing import Any, ClassVar

import pytest

from tests.standins.intrinsics import TemplateError, references, resolve, stringify

STACK_ID = (
    "arn:aws:cloudformation:us-east-1:111122223333:stack/Retention/7d2f1c9e-0000-4000-8000-000000000001"
)


class Facts:
    """One stack's facts: pseudo parameters, a parameter, two resources."""

    physical_ids: ClassVar[dict[str, str]] = {
        "HandlerRole": "Retention-HandlerRole-AbC123",
        "Handler": "Retention-Handler-XyZ789",
    }
    attributes: ClassVar[dict[tuple[str, str], str]] = {
        ("HandlerRole", "Arn"): "arn:aws:iam::111122223333:role/Retention-HandlerRole-AbC123"
    }

    def ref(self, name: str) -> Any:
        known = {
            "AWS::Partition": "aws",
            "AWS::Region": "us-east-1",
            "AWS::AccountId": "111122223333",
            "AWS::StackId": STACK_ID,
            "AWS::StackName": "Retention",
            "AWS::URLSuffix": "amazonaws.com",
            "PoolName": "meeting-audio",
            "Zones": ["a", "b"],
            **self.physical_ids,
        }
        if name not in known:
            raise TemplateError(f"unknown {name}")
        return known[name]

    def get_att(self, logical_id: str, attribute: str) -> Any:
        return self.attributes[(logical_id, attribute)]

    def condition(self, name: str) -> bool:
        return name == "InProduction"

    def find_in_map(self, map_name: str, top_key: str, second_key: str) -> Any:
        return {"Retention": {"us-east-1": {"Hours": 48}}}[map_name][top_key][second_key]

    def import_value(self, export_name: str) -> Any:
        return f"imported:{export_name}"


def test_a_cdk_pool_grant_resolves_to_the_arn_the_api_authorizes():
    document = {
        "Statement": [
            {
                "Effect": "Allow",
                "Action": ["chime:GetMediaPipelineKinesisVideoStreamPool"],
                "Resource": [
                    {
                        "Fn::Join": [
                            "",
                            [
                                "arn:",
                                {"Ref": "AWS::Partition"},
                                ":chime:us-east-1:111122223333:media-pipeline-kinesis-video-stream-pool/meeting-audio",
                            ],
                        ]
                    }
                ],
            }
        ]
    }

    resolved = resolve(document, Facts())

    assert resolved["Statement"][0]["Resource"] == [
        "arn:aws:chime:us-east-1:111122223333:media-pipeline-kinesis-video-stream-pool/meeting-audio"
    ]


@pytest.mark.parametrize(
    ("expression", "value"),
    [
        ({"Ref": "AWS::StackId"}, STACK_ID),
        ({"Ref": "PoolName"}, "meeting-audio"),
        ({"Ref": "Handler"}, "Retention-Handler-XyZ789"),
        (
            {"Fn::GetAtt": ["HandlerRole", "Arn"]},
            "arn:aws:iam::111122223333:role/Retention-HandlerRole-AbC123",
        ),
        ({"Fn::GetAtt": "HandlerRole.Arn"}, "arn:aws:iam::111122223333:role/Retention-HandlerRole-AbC123"),
        (
            {"Fn::Sub": "arn:${AWS::Partition}:lambda:${AWS::Region}:${AWS::AccountId}:function:${Handler}"},
            "arn:aws:lambda:us-east-1:111122223333:function:Retention-Handler-XyZ789",
        ),
        ({"Fn::Sub": "${HandlerRole.Arn}"}, "arn:aws:iam::111122223333:role/Retention-HandlerRole-AbC123"),
        ({"Fn::Sub": ["${Pool}/${AWS::Region}", {"Pool": {"Ref": "PoolName"}}]}, "meeting-audio/us-east-1"),
        ({"Fn::Sub": "${!Literal} and ${!aws:username}"}, "${Literal} and ${aws:username}"),
        ({"Fn::Select": [1, {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}, "Retention"),
        ({"Fn::Select": ["2", {"Fn::Split": ["/", {"Ref": "AWS::StackId"}]}]}, STACK_ID.rsplit("/", 1)[1]),
        ({"Fn::Join": [",", {"Ref": "Zones"}]}, "a,b"),
        ({"Fn::If": ["InProduction", "prod", "dev"]}, "prod"),
        ({"Fn::If": ["InTest", "test", {"Ref": "AWS::Region"}]}, "us-east-1"),
        ({"Fn::FindInMap": ["Retention", {"Ref": "AWS::Region"}, "Hours"]}, 48),
        ({"Fn::ImportValue": "PoolArn"}, "imported:PoolArn"),
        ({"Fn::GetAZs": ""}, ["us-east-1a", "us-east-1b", "us-east-1c"]),
        ({"Fn::Base64": "hi"}, "aGk="),
    ],
)
def test_functions(expression, value):
    assert resolve(expression, Facts()) == value


def test_no_value_removes_the_property_and_the_list_element():
    template = {
        "Kept": "yes",
        "Dropped": {"Fn::If": ["InTest", "x", {"Ref": "AWS::NoValue"}]},
        "List": ["a", {"Ref": "AWS::NoValue"}, "b"],
    }

    assert resolve(template, Facts()) == {"Kept": "yes", "List": ["a", "b"]}


def test_selecting_past_the_end_is_a_template_error():
    with pytest.raises(TemplateError, match="Fn::Select"):
        resolve({"Fn::Select": [5, ["a"]]}, Facts())


def test_an_unknown_reference_is_a_template_error():
    with pytest.raises(TemplateError):
        resolve({"Ref": "Missing"}, Facts())


def test_references_follow_ref_getatt_and_sub_but_not_sub_variables_or_literals():
    definition = {
        "Properties": {
            "Role": {"Fn::GetAtt": ["HandlerRole", "Arn"]},
            "Name": {
                "Fn::Sub": [
                    "${Prefix}-${Handler}-${AWS::Region}-${!Escaped}",
                    {"Prefix": {"Ref": "PoolName"}},
                ]
            },
            "Log": {"Fn::Sub": "${Logs.Arn}"},
        }
    }

    assert references(definition) == {"HandlerRole", "Handler", "AWS::Region", "PoolName", "Logs"}


def test_custom_resource_properties_arrive_as_strings():
    properties = {
        "ServiceTimeout": 900,
        "DataRetentionInHours": 48,
        "Ratio": 1.5,
        "RestoreOnDelete": True,
        "Nested": {"Flags": [False, 3, "x"]},
    }

    assert stringify(properties) == {
        "ServiceTimeout": "900",
        "DataRetentionInHours": "48",
        "Ratio": "1.5",
        "RestoreOnDelete": "true",
        "Nested": {"Flags": ["false", "3", "x"]},
    }
