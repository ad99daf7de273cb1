"""The construct, through the template CDK synthesizes (aws_cdk.assertions)."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest
from aws_cdk import aws_lambda as lambda_
from aws_cdk.assertions import Match, Template

from kvs_pool_retention import KinesisVideoStreamPoolRetention
from kvs_pool_retention.provider import EXACT_ARN_BUDGET

POOL_ARN = "arn:aws:chime:eu-west-2:111122223333:media-pipeline-kinesis-video-stream-pool/compliance-audio"
ACTIONS = [
    "chime:GetMediaPipelineKinesisVideoStreamPool",
    "chime:UpdateMediaPipelineKinesisVideoStreamPool",
]


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


def test_the_resource_carries_the_identifier_and_hours_as_its_only_properties():
    template = Template.from_stack(stack_with(("meeting-audio", cdk.Duration.hours(48))))

    template.has_resource_properties(
        "Custom::KinesisVideoStreamPoolRetention",
        {
            "ServiceToken": {"Fn::GetAtt": [Match.string_like_regexp("Handler"), "Arn"]},
            "ServiceTimeout": "900",
            "PoolIdentifier": "meeting-audio",
            "DataRetentionInHours": 48,
        },
    )
    (resource,) = template.find_resources("Custom::KinesisVideoStreamPoolRetention").values()
    assert set(resource["Properties"]) == {
        "ServiceToken",
        "ServiceTimeout",
        "PoolIdentifier",
        "DataRetentionInHours",
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


def test_the_role_may_touch_only_the_declared_pools():
    template = Template.from_stack(
        stack_with(("a", cdk.Duration.hours(1)), (POOL_ARN, cdk.Duration.hours(3)))
    )

    statement = pool_policy(template)["Properties"]["PolicyDocument"]["Statement"]
    assert statement == [
        {
            "Effect": "Allow",
            "Action": ACTIONS,
            "Resource": [
                {
                    "Fn::Join": [
                        "",
                        [
                            "arn:",
                            {"Ref": "AWS::Partition"},
                            ":chime:",
                            {"Ref": "AWS::Region"},
                            ":",
                            {"Ref": "AWS::AccountId"},
                            ":media-pipeline-kinesis-video-stream-pool/a",
                        ],
                    ]
                },
                POOL_ARN,
            ],
        }
    ]


def test_no_statement_anywhere_grants_a_wildcard_resource_or_uses_a_managed_policy():
    template = Template.from_stack(stack_with(("a", cdk.Duration.hours(1)), ("b", cdk.Duration.hours(2))))
    rendered = json.dumps(template.to_json())

    assert '"Resource": "*"' not in rendered
    assert "/*" not in rendered
    assert "ManagedPolicyArns" not in rendered
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


def test_exact_arns_fill_the_inline_policy_then_spill_into_a_managed_policy_never_a_wildcard():
    per_pool = (
        len("arn:aws-iso-b:chime:ap-southeast-10:123456789012:media-pipeline-kinesis-video-stream-pool/") + 3
    )
    fitting = EXACT_ARN_BUDGET // (per_pool + len("pool-000"))
    few = Template.from_stack(stack_with(*((f"pool-{i:03}", cdk.Duration.hours(1)) for i in range(fitting))))
    many = Template.from_stack(
        stack_with(*((f"pool-{i:03}", cdk.Duration.hours(1)) for i in range(fitting + 1)))
    )

    few.resource_count_is("AWS::IAM::ManagedPolicy", 0)
    assert len(pool_policy(few)["Properties"]["PolicyDocument"]["Statement"][0]["Resource"]) == fitting
    assert len(pool_policy(many)["Properties"]["PolicyDocument"]["Statement"][0]["Resource"]) == fitting
    (managed,) = many.find_resources("AWS::IAM::ManagedPolicy").values()
    (spilled,) = managed["Properties"]["PolicyDocument"]["Statement"][0]["Resource"]
    assert spilled["Fn::Join"][1][-1].endswith(f"pool/pool-{fitting:03}")
    assert "pool/*" not in json.dumps(many.to_json())
    assert "Metadata" not in pool_policy(many)


def test_restore_on_delete_adds_the_property_and_tag_actions_on_that_pool_only():
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
        "Custom::KinesisVideoStreamPoolRetention", {"PoolIdentifier": POOL_ARN, "RestoreOnDelete": "true"}
    )
    template.has_resource_properties(
        "Custom::KinesisVideoStreamPoolRetention", {"PoolIdentifier": "a", "RestoreOnDelete": Match.absent()}
    )
    statements = pool_policy(template)["Properties"]["PolicyDocument"]["Statement"]
    assert statements[1] == {
        "Effect": "Allow",
        "Action": ["chime:ListTagsForResource", "chime:TagResource", "chime:UntagResource"],
        "Resource": [POOL_ARN],
    }


def test_without_restore_on_delete_the_role_gets_no_tag_actions():
    template = Template.from_stack(stack_with(("a", cdk.Duration.hours(1))))

    assert "chime:TagResource" not in json.dumps(pool_policy(template))


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
