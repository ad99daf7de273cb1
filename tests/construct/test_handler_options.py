"""Where the handler runs and logs: `vpc`, `vpc_subnets`, `security_groups`, `log_group`, and how instances
share functions by those options."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk.assertions import Match, Template

from kvs_pool_retention import KinesisVideoStreamPoolRetention

RESOURCE_TYPE = "Custom::KinesisVideoStreamPoolRetention"


def imported_vpc(stack: cdk.Stack, vpc_id: str = "vpc-0123456789abcdef0") -> ec2.IVpc:
    return ec2.Vpc.from_vpc_attributes(
        stack,
        f"Vpc{vpc_id[-4:]}",
        vpc_id=vpc_id,
        availability_zones=["eu-west-2a", "eu-west-2b"],
        private_subnet_ids=["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
    )


def stack() -> cdk.Stack:
    return cdk.Stack(cdk.App(), "Options", env=cdk.Environment(account="111122223333", region="eu-west-2"))


def declare(scope: cdk.Stack, name: str, **options: object) -> KinesisVideoStreamPoolRetention:
    return KinesisVideoStreamPoolRetention(
        scope, name, pool_identifier=name.lower(), data_retention=cdk.Duration.hours(48), **options
    )


def test_without_options_the_template_keeps_the_logical_ids_and_service_token_deployed_stacks_have():
    scope = stack()
    declare(scope, "Meeting")

    template = Template.from_stack(scope).to_json()["Resources"]

    assert {
        "KvsPoolRetentionProviderLogs8FF1A635",
        "KvsPoolRetentionProviderRoleF78D2895",
        "KvsPoolRetentionProviderHandler67D9E5ED",
        "KvsPoolRetentionProviderPoolAccessD5847D64",
    } <= set(template)
    (retention,) = (resource for resource in template.values() if resource["Type"] == RESOURCE_TYPE)
    assert retention["Properties"]["ServiceToken"] == {
        "Fn::GetAtt": ["KvsPoolRetentionProviderHandler67D9E5ED", "Arn"]
    }


def test_instances_with_the_same_options_share_one_function_others_get_their_own():
    scope = stack()
    vpc, other_vpc = imported_vpc(scope), imported_vpc(scope, "vpc-0fedcba9876543210")
    declare(scope, "Plain")
    first, second = declare(scope, "First", vpc=vpc), declare(scope, "Second", vpc=vpc)
    elsewhere = declare(scope, "Elsewhere", vpc=other_vpc)

    template = Template.from_stack(scope)

    template.resource_count_is("AWS::Lambda::Function", 3)
    template.resource_count_is("AWS::IAM::Role", 3)
    assert first.function is second.function
    assert elsewhere.function is not first.function
    # Each function's role may reach only the pools of the instances it serves.
    policies = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"PolicyName": "kvs-pool-retention-pools"}}
    )
    granted = sorted(
        sorted(
            str(arn["Fn::Join"][1][-1]).rsplit("/", 1)[-1]
            for arn in policy["Properties"]["PolicyDocument"]["Statement"][0]["Resource"]
        )
        for policy in policies.values()
    )
    assert granted == [["elsewhere"], ["first", "second"], ["plain"]]


def test_in_a_vpc_the_role_gets_inline_network_permissions_and_no_managed_policy():
    scope = stack()
    declare(scope, "Meeting", vpc=imported_vpc(scope))

    template = Template.from_stack(scope)

    template.has_resource_properties(
        "AWS::Lambda::Function",
        {
            "VpcConfig": {
                "SubnetIds": ["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
                "SecurityGroupIds": Match.any_value(),
            }
        },
    )
    (role,) = template.find_resources("AWS::IAM::Role").values()
    assert "ManagedPolicyArns" not in role["Properties"]
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": Match.array_with(
                    [
                        Match.object_like(
                            {
                                "Action": ["ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets"],
                                "Resource": "*",
                            }
                        ),
                        Match.object_like(
                            {
                                "Action": Match.array_with(
                                    ["ec2:CreateNetworkInterface", "ec2:DeleteNetworkInterface"]
                                ),
                                "Resource": {
                                    "Fn::Join": [
                                        "",
                                        [
                                            "arn:",
                                            {"Ref": "AWS::Partition"},
                                            ":ec2:eu-west-2:111122223333:*/*",
                                        ],
                                    ]
                                },
                            }
                        ),
                    ]
                )
            }
        },
    )


def test_in_a_vpc_without_security_groups_the_handler_gets_one_that_only_sends_https():
    scope = stack()
    declare(scope, "Meeting", vpc=imported_vpc(scope))

    (group,) = Template.from_stack(scope).find_resources("AWS::EC2::SecurityGroup").values()

    assert "SecurityGroupIngress" not in group["Properties"]
    assert [
        (rule["IpProtocol"], rule["FromPort"], rule["ToPort"])
        for rule in group["Properties"]["SecurityGroupEgress"]
    ] == [("tcp", 443, 443)]


def test_given_security_groups_are_used_as_they_are():
    scope = stack()
    vpc = imported_vpc(scope)
    mine = ec2.SecurityGroup.from_security_group_id(scope, "Mine", "sg-0123456789abcdef0")
    declare(scope, "Meeting", vpc=vpc, security_groups=[mine])

    template = Template.from_stack(scope)

    template.resource_count_is("AWS::EC2::SecurityGroup", 0)
    template.has_resource_properties(
        "AWS::Lambda::Function", {"VpcConfig": {"SecurityGroupIds": ["sg-0123456789abcdef0"]}}
    )


def test_a_given_log_group_replaces_the_constructs_own_and_is_the_only_one_the_role_writes_to():
    scope = stack()
    mine = logs.LogGroup.from_log_group_name(scope, "Mine", "/platform/kvs-pool-retention")
    declare(scope, "Meeting", log_group=mine)

    template = Template.from_stack(scope)

    template.resource_count_is("AWS::Logs::LogGroup", 0)
    template.has_resource_properties(
        "AWS::Lambda::Function", {"LoggingConfig": {"LogGroup": "/platform/kvs-pool-retention"}}
    )
    statements = [
        statement
        for policy in template.find_resources("AWS::IAM::Policy").values()
        for statement in policy["Properties"]["PolicyDocument"]["Statement"]
        if any(str(action).startswith("logs:") for action in statement["Action"])
    ]
    assert len(statements) == 1
    assert "/platform/kvs-pool-retention" in str(scope.resolve(statements[0]["Resource"]))


@pytest.mark.parametrize("option", ["vpc_subnets", "security_groups"])
def test_network_options_without_a_vpc_fail_at_synth_naming_what_to_add(option):
    scope = stack()
    value = (
        ec2.SubnetSelection(subnet_type=ec2.SubnetType.PRIVATE_WITH_EGRESS)
        if option == "vpc_subnets"
        else [ec2.SecurityGroup.from_security_group_id(scope, "Mine", "sg-0123456789abcdef0")]
    )

    with pytest.raises(ValueError, match="also pass vpc"):
        declare(scope, "Meeting", **{option: value})


def test_a_permissions_boundary_on_the_stack_reaches_every_handler_role():
    scope = stack()
    declare(scope, "Plain")
    declare(scope, "Vpc", vpc=imported_vpc(scope))
    boundary = iam.ManagedPolicy.from_managed_policy_name(scope, "Boundary", "platform-boundary")

    iam.PermissionsBoundary.of(scope).apply(boundary)

    roles = Template.from_stack(scope).find_resources("AWS::IAM::Role")
    assert len(roles) == 2
    for role in roles.values():
        assert "policy/platform-boundary" in str(scope.resolve(role["Properties"]["PermissionsBoundary"]))


def test_a_pool_declared_twice_with_different_options_is_still_a_duplicate():
    scope = stack()
    declare(scope, "Meeting")

    with pytest.raises(ValueError, match="already managed by Options/Meeting"):
        KinesisVideoStreamPoolRetention(
            scope,
            "AgainInVpc",
            pool_identifier="meeting",
            data_retention=cdk.Duration.hours(24),
            vpc=imported_vpc(scope),
        )
