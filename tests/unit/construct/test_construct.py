"""The construct, through the template CDK synthesizes (aws_cdk.assertions)."""

from __future__ import annotations

import json
import re

import aws_cdk as cdk
import pytest
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template

from kvs_pool_retention import KinesisVideoStreamPoolRetention
from tests.iam_size import LONGEST, iam_chars
from tests.unit.construct.policies import POOL_ACTIONS, declared, pool_documents, stack_env_arn

POOL_ARN = "arn:aws:chime:eu-west-2:111122223333:media-pipeline-kinesis-video-stream-pool/compliance-audio"
STACK_ARN = {"Ref": "AWS::StackId"}


def stack_with(*pools: tuple[str, cdk.Duration]) -> cdk.Stack:
    stack = cdk.Stack(cdk.App(), "Test")
    for index, (identifier, retention) in enumerate(pools):
        KinesisVideoStreamPoolRetention(
            stack, f"Pool{index}", pool_identifier=identifier, data_retention=retention
        )
    return stack


def pool_policy(template: Template) -> dict:
    policies = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"PolicyName": "kvs-pool-retention-pools"}}
    )
    assert len(policies) == 1
    return next(iter(policies.values()))


def test_the_resource_carries_the_identifier_hours_record_version_and_stack_key_as_its_only_properties():
    stack = stack_with(("meeting-audio", cdk.Duration.hours(48)))
    template = Template.from_stack(stack)

    template.has_resource_properties(
        "Custom::KinesisVideoStreamPoolRetention",
        {
            "ServiceToken": {"Fn::GetAtt": [Match.string_like_regexp("Handler"), "Arn"]},
            "ServiceTimeout": "900",
            "PoolIdentifier": "meeting-audio",
            "DataRetentionInHours": 48,
            "RecordVersion": "3",
            "StackKey": Match.string_like_regexp("^[0-9a-f]{16}$"),
        },
    )
    (resource,) = template.find_resources("Custom::KinesisVideoStreamPoolRetention").values()
    assert set(resource["Properties"]) == {
        "ServiceToken",
        "ServiceTimeout",
        "PoolIdentifier",
        "DataRetentionInHours",
        "RecordVersion",
        "StackKey",
    }


def test_queued_events_never_outlive_cloudformations_wait_and_a_crash_is_retried():
    template = Template.from_stack(
        stack_with(("meeting-audio", cdk.Duration.hours(48)), ("support-audio", cdk.Duration.hours(12)))
    )

    (config,) = template.find_resources("AWS::Lambda::EventInvokeConfig").values()
    service_timeouts = {
        int(resource["Properties"]["ServiceTimeout"])
        for resource in template.find_resources("Custom::KinesisVideoStreamPoolRetention").values()
    }
    (handler,) = template.find_resources("AWS::Lambda::Function")
    assert config["Properties"]["FunctionName"] == {"Ref": handler}
    assert config["Properties"]["Qualifier"] == "$LATEST"
    assert config["Properties"]["MaximumEventAgeInSeconds"] <= min(service_timeouts)
    assert config["Properties"]["MaximumRetryAttempts"] == 2


def test_retention_given_in_days_becomes_hours():
    template = Template.from_stack(stack_with(("meeting-audio", cdk.Duration.days(90))))

    template.has_resource_properties(
        "Custom::KinesisVideoStreamPoolRetention", {"DataRetentionInHours": 2160}
    )


def test_several_instances_share_one_function_and_one_role():
    template = Template.from_stack(
        stack_with(
            ("a", cdk.Duration.hours(1)), ("b", cdk.Duration.hours(2)), (POOL_ARN, cdk.Duration.hours(3))
        )
    )

    template.resource_count_is("AWS::Lambda::Function", 1)
    template.resource_count_is("AWS::IAM::Role", 1)
    template.resource_count_is("Custom::KinesisVideoStreamPoolRetention", 3)


def test_the_role_may_touch_only_the_declared_pools_and_only_their_record_tags():
    template = Template.from_stack(
        stack_with(("a", cdk.Duration.hours(1)), (POOL_ARN, cdk.Duration.hours(3)))
    )

    statement = pool_policy(template)["Properties"]["PolicyDocument"]["Statement"][0]
    assert statement == {
        "Sid": "DeclaredPools",
        "Effect": "Allow",
        "Action": POOL_ACTIONS,
        "Resource": [stack_env_arn("a"), POOL_ARN],
        # Tag and Untag may only touch the record's own tags; the other actions carry no tag keys.
        "Condition": {"ForAllValues:StringLike": {"aws:TagKeys": ["kvs-pool-retention:*"]}},
    }


def test_cleanup_deletes_are_granted_the_pools_whose_anchor_names_this_stack_and_nothing_wider():
    stack = stack_with(("a", cdk.Duration.hours(1)))
    template = Template.from_stack(stack)

    (resource,) = template.find_resources("Custom::KinesisVideoStreamPoolRetention").values()
    key = resource["Properties"]["StackKey"]
    statements = pool_policy(template)["Properties"]["PolicyDocument"]["Statement"]
    assert statements[1:] == [
        {
            "Sid": "DeclaredByThisStack",
            "Effect": "Allow",
            "Action": POOL_ACTIONS,
            "Resource": account_wide("chime", "media-pipeline-kinesis-video-stream-pool/*"),
            "Condition": {
                # The anchor tag the handler writes on every pool this stack declares (its key from the
                # resources' StackKey), whose value is the stack's id: another stack's anchor never matches.
                "StringEquals": {f"aws:ResourceTag/kvs-pool-retention:stack-{key}": STACK_ARN},
                "ForAllValues:StringLike": {"aws:TagKeys": ["kvs-pool-retention:*"]},
            },
        },
        {
            # Read-only: whether another declaration's resource still exists and its stack is mid-operation,
            # and whether this stack rolls back, in any stack of the account.
            "Sid": "DeclaringStacks",
            "Effect": "Allow",
            "Action": ["cloudformation:DescribeStackResource", "cloudformation:DescribeStacks"],
            "Resource": account_wide("cloudformation", "stack/*"),
        },
    ]


def account_wide(service: str, resources: str) -> dict:
    """This account's `resources` of `service` in every region, as the construct writes the ARN."""
    return {
        "Fn::Join": [
            "",
            ["arn:", {"Ref": "AWS::Partition"}, f":{service}:*:", {"Ref": "AWS::AccountId"}, f":{resources}"],
        ]
    }


def test_no_statement_grants_a_wildcard_resource_unconditioned_but_the_stack_reads_or_a_managed_policy():
    template = Template.from_stack(stack_with(("a", cdk.Duration.hours(1)), ("b", cdk.Duration.hours(2))))

    wide = [
        statement
        for resource in template.find_resources("AWS::IAM::Policy").values()
        for statement in resource["Properties"]["PolicyDocument"]["Statement"]
        if "*" in json.dumps(statement["Resource"])
    ]
    assert [statement["Sid"] for statement in wide] == ["DeclaredByThisStack", "DeclaringStacks"]
    # Every action on pools across the account is conditioned on this stack's anchor tag; the one
    # unconditioned wildcard reads CloudFormation's resources and changes nothing.
    assert "aws:ResourceTag/kvs-pool-retention:stack-" in json.dumps(wide[0]["Condition"])
    assert wide[1]["Action"] == ["cloudformation:DescribeStackResource", "cloudformation:DescribeStacks"]
    assert "ManagedPolicyArns" not in json.dumps(template.to_json())
    template.resource_count_is("AWS::IAM::ManagedPolicy", 0)


def test_logs_go_to_the_constructs_own_log_group_with_a_retention():
    template = Template.from_stack(stack_with(("a", cdk.Duration.hours(1))))

    template.has_resource_properties("AWS::Logs::LogGroup", {"RetentionInDays": 365})
    template.has_resource_properties(
        "AWS::Lambda::Function", {"LoggingConfig": {"LogGroup": {"Ref": Match.string_like_regexp("Logs")}}}
    )
    template.has_resource_properties(
        "AWS::IAM::Policy",
        {
            "PolicyDocument": {
                "Statement": [
                    {
                        "Action": ["logs:CreateLogStream", "logs:PutLogEvents"],
                        "Effect": "Allow",
                        "Resource": {"Fn::GetAtt": [Match.string_like_regexp("Logs"), "Arn"]},
                    }
                ]
            }
        },
    )


def test_the_function_runs_the_newest_python_runtime_cdk_offers():
    newest = max(
        (name for name in dir(lambda_.Runtime) if name.startswith("PYTHON_3_")),
        key=lambda n: int(n.split("_")[2]),
    )
    template = Template.from_stack(stack_with(("a", cdk.Duration.hours(1))))

    template.has_resource_properties(
        "AWS::Lambda::Function",
        {"Runtime": getattr(lambda_.Runtime, newest).name, "Handler": "index.handler"},
    )


def test_each_resource_waits_for_its_pool_grant_through_the_function():
    template = Template.from_stack(stack_with(("a", cdk.Duration.hours(1))))

    (resource,) = template.find_resources("Custom::KinesisVideoStreamPoolRetention").values()
    ((function_id, function),) = template.find_resources("AWS::Lambda::Function").items()
    (policy_id,) = template.find_resources(
        "AWS::IAM::Policy", {"Properties": {"PolicyName": "kvs-pool-retention-pools"}}
    )
    assert resource["Properties"]["ServiceToken"] == {"Fn::GetAtt": [function_id, "Arn"]}
    assert policy_id in function["DependsOn"]


def test_attributes_are_the_resources_data_fields():
    stack = cdk.Stack(cdk.App(), "Test")
    retention = KinesisVideoStreamPoolRetention(
        stack, "Pool", pool_identifier="a", data_retention=cdk.Duration.hours(1)
    )
    attributes = {
        "PoolArn": retention.pool_arn,
        "PoolStatus": retention.pool_status,
        "PoolId": retention.pool_id,
        "PoolName": retention.pool_name,
        "PoolSize": retention.pool_size,
        "DataRetentionInHours": retention.data_retention_in_hours,
    }

    logical_id = stack.get_logical_id(retention.custom_resource.node.default_child)
    for field, token in attributes.items():
        assert stack.resolve(token) == {"Fn::GetAtt": [logical_id, field]}
    assert retention.function.node.path.endswith("KvsPoolRetentionProvider/Handler")


@pytest.mark.parametrize(
    ("retention", "shown"),
    [
        (cdk.Duration.hours(0), "got 0 hours"),
        (cdk.Duration.minutes(90), "got 1.5 hours (1 hour 30 minutes)"),
        (cdk.Duration.hours(87601), "got 87601 hours"),
        (cdk.Duration.days(3651), "got 87624 hours (3651 days)"),
    ],
)
def test_a_literal_retention_out_of_range_fails_at_synth_naming_prop_value_and_range(retention, shown):
    with pytest.raises(ValueError, match=r"^data_retention must be whole hours from 1 to 87600") as error:
        stack_with(("a", retention))

    assert shown in str(error.value)


@pytest.mark.parametrize(
    "identifier",
    [
        "",
        "my pool",
        "x" * 129,
        "arn:aws:chime:us-east-1:111122223333:media-pipeline-kinesis-video-stream-pool/",
        "arn:aws:s3:::b",
    ],
)
def test_a_malformed_literal_identifier_fails_at_synth(identifier):
    with pytest.raises(ValueError, match=r"^pool_identifier must be a pool name \(1-128 characters"):
        stack_with((identifier, cdk.Duration.hours(1)))


def test_tokens_pass_through_to_the_handler_and_scope_to_this_accounts_pools():
    stack = cdk.Stack(cdk.App(), "Test")
    name = cdk.CfnParameter(stack, "PoolName")
    hours = cdk.CfnParameter(stack, "Hours", type="Number")
    KinesisVideoStreamPoolRetention(
        stack,
        "Pool",
        pool_identifier=name.value_as_string,
        data_retention=cdk.Duration.hours(hours.value_as_number),
    )
    template = Template.from_stack(stack)

    template.has_resource_properties(
        "Custom::KinesisVideoStreamPoolRetention",
        {"PoolIdentifier": {"Ref": "PoolName"}, "DataRetentionInHours": {"Ref": "Hours"}},
    )
    policy = pool_policy(template)
    resources = policy["Properties"]["PolicyDocument"]["Statement"][0]["Resource"]
    assert json.dumps(resources).endswith(':media-pipeline-kinesis-video-stream-pool/*"]]}]')
    assert policy["Metadata"]["cdk_nag"]["rules_to_suppress"][0]["id"] == "AwsSolutions-IAM5"


def pools(count: int) -> list[tuple[str, cdk.Duration]]:
    return [(f"pool-{index:03}", cdk.Duration.hours(1)) for index in range(count)]


def test_exact_arns_fill_the_inline_policy_then_spill_into_a_managed_policy_never_a_wildcard():
    template = Template.from_stack(stack_with(*pools(100))).to_json()

    inline, managed = pool_documents(template)
    (spilled,) = managed
    assert len(declared(inline)) + len(declared([spilled])) == 100
    assert declared([spilled])[0].endswith(f"pool/pool-{len(declared(inline)):03}")  # in declaration order
    assert "pool/*" not in json.dumps(declared(inline + managed))
    role_inline = [
        r["Properties"]["PolicyDocument"]
        for r in template["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy"
    ]
    # Full: one more ARN would not have fitted the role's 10 240 characters.
    assert (
        10_240 - len(f"{declared(inline)[-1]}") - 3
        < sum(iam_chars(d, LONGEST) for d in role_inline)
        <= 10_240
    )


def test_the_roles_other_inline_statements_come_off_the_pool_arns_budget():
    plain = stack_with(*pools(80))
    crowded = stack_with(*pools(80))
    retention = crowded.node.find_child("Pool0")
    for index in range(20):  # a user's own additions to the shared role
        retention.function.add_to_role_policy(
            iam.PolicyStatement(
                actions=["s3:GetObject"], resources=[f"arn:aws:s3:::platform-bucket-{index:02}/recordings/*"]
            )
        )

    inline_plain, _ = pool_documents(Template.from_stack(plain).to_json())
    crowded_template = Template.from_stack(crowded).to_json()
    inline_crowded, managed = pool_documents(crowded_template)

    assert len(declared(inline_crowded)) < len(declared(inline_plain))
    role_inline = [
        r["Properties"]["PolicyDocument"]
        for r in crowded_template["Resources"].values()
        if r["Type"] == "AWS::IAM::Policy"
    ]
    assert sum(iam_chars(document, LONGEST) for document in role_inline) <= 10_240
    assert len(declared(inline_crowded + managed)) == 80
    assert managed


def test_restore_on_delete_adds_its_property_to_that_resource_only():
    stack = cdk.Stack(cdk.App(), "Test")
    KinesisVideoStreamPoolRetention(stack, "Kept", pool_identifier="a", data_retention=cdk.Duration.hours(1))
    KinesisVideoStreamPoolRetention(
        stack,
        "Restored",
        pool_identifier=POOL_ARN,
        data_retention=cdk.Duration.hours(2),
        restore_on_delete=True,
    )
    template = Template.from_stack(stack)

    template.has_resource_properties(
        "Custom::KinesisVideoStreamPoolRetention",
        {"PoolIdentifier": POOL_ARN, "RestoreOnDelete": "true", "RecordVersion": "3"},
    )
    template.has_resource_properties(
        "Custom::KinesisVideoStreamPoolRetention",
        {"PoolIdentifier": "a", "RestoreOnDelete": Match.absent(), "RecordVersion": "3"},
    )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ("meeting-audio", "meeting-audio"),
        (
            "meeting-audio",
            "arn:aws:chime:eu-west-2:123456789012:media-pipeline-kinesis-video-stream-pool/meeting-audio",
        ),
    ],
    ids=["same-name", "name-and-arn"],
)
def test_two_instances_for_one_pool_fail_at_synth_naming_both(first, second):
    app = cdk.App()
    env = cdk.Environment(account="123456789012", region="eu-west-2")
    KinesisVideoStreamPoolRetention(
        cdk.Stack(app, "One", env=env),
        "Retention",
        pool_identifier=first,
        data_retention=cdk.Duration.hours(1),
    )

    with pytest.raises(
        ValueError, match="already managed by One/Retention; Two/Retention targets the same pool"
    ):
        KinesisVideoStreamPoolRetention(
            cdk.Stack(app, "Two", env=env),
            "Retention",
            pool_identifier=second,
            data_retention=cdk.Duration.hours(2),
        )


def test_same_name_in_two_env_agnostic_stacks_is_not_called_a_duplicate():
    app = cdk.App()
    stacks = [cdk.Stack(app, name) for name in ("One", "Two")]
    for stack in stacks:
        KinesisVideoStreamPoolRetention(
            stack, "Retention", pool_identifier="meeting-audio", data_retention=cdk.Duration.hours(1)
        )

    for stack in stacks:
        Template.from_stack(stack).resource_count_is("Custom::KinesisVideoStreamPoolRetention", 1)


def test_same_name_twice_in_one_env_agnostic_stack_is_a_duplicate():
    with pytest.raises(ValueError, match="already managed by Test/Pool0; Test/Pool1 targets the same pool"):
        stack_with(("meeting-audio", cdk.Duration.hours(1)), ("meeting-audio", cdk.Duration.hours(2)))


@pytest.mark.parametrize(
    ("given", "message"),
    [
        (
            {},
            "Name the pool with exactly one of pool_identifier (a name or an ARN), pool_name or pool_arn; "
            "got none",
        ),
        (
            {"pool_identifier": "a", "pool_name": "a"},
            "Name the pool with exactly one of pool_identifier (a name or an ARN), pool_name or pool_arn; "
            "got pool_identifier, pool_name.",
        ),
        (
            {"pool_name": POOL_ARN},
            f"pool_name must be a pool name, not an ARN: pass {POOL_ARN!r} as pool_arn",
        ),
        ({"pool_arn": "meeting-audio"}, "pool_arn must be a pool ARN (arn:<partition>:chime:"),
        ({"pool_name": "my pool"}, "pool_name must be a pool name (1-128 characters"),
    ],
)
def test_the_pool_is_named_once_and_by_the_right_prop(given, message):
    with pytest.raises(ValueError, match=f"^{re.escape(message)}"):
        KinesisVideoStreamPoolRetention(
            cdk.Stack(cdk.App(), "Test"), "Pool", data_retention=cdk.Duration.hours(1), **given
        )


@pytest.mark.parametrize(
    ("first", "second"),
    [
        ({"pool_name": "meeting-audio"}, {"pool_identifier": "meeting-audio"}),
        (
            {"pool_arn": "arn:aws:chime:eu-west-2:123456789012:media-pipeline-kinesis-video-stream-pool/x"},
            {"pool_name": "x"},
        ),
    ],
    ids=["name-and-identifier", "arn-and-name"],
)
def test_duplicates_are_found_whichever_prop_names_the_pool(first, second):
    stack = cdk.Stack(cdk.App(), "Test", env=cdk.Environment(account="123456789012", region="eu-west-2"))
    KinesisVideoStreamPoolRetention(stack, "One", data_retention=cdk.Duration.hours(1), **first)

    with pytest.raises(ValueError, match="already managed by Test/One; Test/Two targets the same pool"):
        KinesisVideoStreamPoolRetention(stack, "Two", data_retention=cdk.Duration.hours(1), **second)


def test_the_same_deploy_time_value_twice_is_a_duplicate():
    stack = cdk.Stack(cdk.App(), "Test")
    name = cdk.CfnParameter(stack, "PoolName").value_as_string
    KinesisVideoStreamPoolRetention(stack, "One", pool_name=name, data_retention=cdk.Duration.hours(1))

    with pytest.raises(ValueError, match="already managed by Test/One; Test/Two targets the same pool"):
        KinesisVideoStreamPoolRetention(stack, "Two", pool_name=name, data_retention=cdk.Duration.hours(2))


def test_every_acknowledgement_names_the_resources_it_covers():
    stack = cdk.Stack(cdk.App(), "Test")
    KinesisVideoStreamPoolRetention(
        stack,
        "Pool",
        pool_identifier=cdk.CfnParameter(stack, "PoolName").value_as_string,
        data_retention=cdk.Duration.hours(1),
    )

    rules = pool_policy(Template.from_stack(stack))["Metadata"]["cdk_nag"]["rules_to_suppress"]

    assert [rule["applies_to"] for rule in rules] == [
        [
            "Resource::arn:<AWS::Partition>:chime:*:<AWS::AccountId>:media-pipeline-kinesis-video-stream-pool/*"
        ],
        ["Resource::arn:<AWS::Partition>:cloudformation:*:<AWS::AccountId>:stack/*"],
        [
            "Resource::arn:<AWS::Partition>:chime:<AWS::Region>:<AWS::AccountId>:media-pipeline-kinesis-video-stream-pool/*"
        ],
    ]
