"""Where the handler runs and logs: `vpc`, `vpc_subnets`, `security_groups`, `log_group`, and how instances
share functions by those options."""

from __future__ import annotations

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_kms as kms
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


def test_instances_asking_for_other_options_fail_naming_both_and_why():
    scope = stack()
    vpc, other_vpc = imported_vpc(scope), imported_vpc(scope, "vpc-0fedcba9876543210")
    first = declare(scope, "First", vpc=vpc)
    second = declare(scope, "Second", vpc=vpc)
    plain = declare(scope, "Plain")  # asks for nothing: takes the stack's handler as it is

    with pytest.raises(
        ValueError, match=r"Options/Elsewhere asks for handler options \(vpc\) other than those"
    ) as error:
        declare(scope, "Elsewhere", vpc=other_vpc)

    assert "Options/First set for the stack's handler" in str(error.value)
    assert "ServiceToken cannot change" in str(error.value)
    assert first.function is second.function is plain.function
    Template.from_stack(scope).resource_count_is("AWS::Lambda::Function", 1)


def test_options_asked_after_the_handler_was_made_without_them_fail_pointing_at_configure_handler():
    scope = stack()
    declare(scope, "Plain")

    with pytest.raises(ValueError, match="configure_handler") as error:
        declare(scope, "Hardened", log_group=logs.LogGroup.from_log_group_name(scope, "Mine", "/mine"))

    assert "other than those Options/Plain set" in str(error.value)


def test_configure_handler_sets_the_stacks_one_handler_before_any_instance():
    scope = stack()
    mine = logs.LogGroup.from_log_group_name(scope, "Mine", "/platform/kvs-pool-retention")

    vpc = imported_vpc(scope)

    function = KinesisVideoStreamPoolRetention.configure_handler(scope, vpc=vpc, log_group=mine)
    meeting = declare(scope, "Meeting")
    support = declare(scope, "Support", log_group=mine, vpc=vpc)  # the same options again: accepted

    assert meeting.function is support.function is function
    template = Template.from_stack(scope)
    template.resource_count_is("AWS::Lambda::Function", 1)
    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"VpcConfig": Match.any_value(), "LoggingConfig": {"LogGroup": "/platform/kvs-pool-retention"}},
    )


def synthesized(**options: object) -> dict:
    """The same two retention resources, with the handler options given (set on the stack)."""
    app = cdk.App()
    scope = cdk.Stack(app, "Options", env=cdk.Environment(account="111122223333", region="eu-west-2"))
    built = {key: value(scope) if callable(value) else value for key, value in options.items()}
    if built:
        KinesisVideoStreamPoolRetention.configure_handler(scope, **built)
    declare(scope, "Meeting")
    declare(scope, "Support", restore_on_delete=True)
    return Template.from_stack(scope).to_json()["Resources"]


def kms_log_group(scope: cdk.Stack) -> logs.ILogGroup:
    key = kms.Key.from_key_arn(
        scope, "Key", "arn:aws:kms:eu-west-2:111122223333:key/0f3c2a1b-0000-4000-8000-0000000001"
    )
    return logs.LogGroup(scope, "HandlerLogs", encryption_key=key, retention=logs.RetentionDays.ONE_YEAR)


def other_subnets(scope: cdk.Stack) -> ec2.SubnetSelection:
    return ec2.SubnetSelection(subnets=[ec2.Subnet.from_subnet_id(scope, "Only", "subnet-0cccccccccccccccc")])


@pytest.mark.parametrize(
    "options",
    [
        {"vpc": imported_vpc, "log_group": kms_log_group},
        {"vpc": imported_vpc, "vpc_subnets": other_subnets},
        {"log_group": kms_log_group},
    ],
    ids=["vpc-and-kms-log-group", "other-subnets", "log-group-only"],
)
def test_options_added_changed_or_removed_keep_every_logical_id_and_service_token(options):
    """A stack deployed without options, then with them (and back): the retention resources, the function
    and its role stay the same resources, so CloudFormation updates the function in place and never
    sees a ServiceToken change, which it would refuse."""
    without = synthesized()
    hardened = synthesized(**options)

    def retention(resources: dict) -> dict:
        return {
            logical_id: resource["Properties"]["ServiceToken"]
            for logical_id, resource in resources.items()
            if resource["Type"] == RESOURCE_TYPE
        }

    assert retention(hardened) == retention(without)
    assert len(retention(without)) == 2
    for kind in ("AWS::Lambda::Function", "AWS::IAM::Role"):
        assert {key for key, value in without.items() if value["Type"] == kind} == {
            key for key, value in hardened.items() if value["Type"] == kind
        }
    assert all(
        token == {"Fn::GetAtt": ["KvsPoolRetentionProviderHandler67D9E5ED", "Arn"]}
        for token in retention(hardened).values()
    )


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


def test_a_permissions_boundary_on_the_stack_reaches_the_handlers_role():
    scope = stack()
    declare(scope, "Vpc", vpc=imported_vpc(scope))
    boundary = iam.ManagedPolicy.from_managed_policy_name(scope, "Boundary", "platform-boundary")

    iam.PermissionsBoundary.of(scope).apply(boundary)

    (role,) = Template.from_stack(scope).find_resources("AWS::IAM::Role").values()
    assert "policy/platform-boundary" in str(scope.resolve(role["Properties"]["PermissionsBoundary"]))


def test_a_pool_declared_twice_with_the_same_options_is_still_a_duplicate():
    scope = stack()
    vpc = imported_vpc(scope)
    declare(scope, "Meeting", vpc=vpc)

    with pytest.raises(ValueError, match="already managed by Options/Meeting"):
        KinesisVideoStreamPoolRetention(
            scope, "AgainInVpc", pool_identifier="meeting", data_retention=cdk.Duration.hours(24), vpc=vpc
        )


@pytest.mark.parametrize(
    ("options", "handler_resources"),
    [({}, 6), ({"vpc": imported_vpc}, 7), ({"log_group": "mine"}, 5)],
    ids=["defaults", "vpc", "own-log-group"],
)
def test_the_handler_takes_the_resources_the_readme_counts(options, handler_resources):
    scope = stack()
    built = {
        key: (value(scope) if callable(value) else logs.LogGroup.from_log_group_name(scope, "Mine", "/mine"))
        for key, value in options.items()
    }
    declare(scope, "Meeting", **built)

    resources = Template.from_stack(scope).to_json()["Resources"]

    assert len(resources) - 1 == handler_resources  # all but the retention resource
