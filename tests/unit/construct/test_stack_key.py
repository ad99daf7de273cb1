"""The stack key: the name of a stack's anchor tag on the pools it declares
(`kvs-pool-retention:stack-<key>`), derived at synth because the role's cleanup-phase grant names it in a
condition key, which cannot be a token. It must be the same at every synth of a stack, differ between
stacks that may declare one pool, and, for a concrete top-level stack, equal what the handler derives
from a stack id for resources deployed before the key was a property."""

from __future__ import annotations

import aws_cdk as cdk
import index
from aws_cdk.assertions import Template
from declarations import Resource

from kvs_pool_retention import KinesisVideoStreamPoolRetention
from kvs_pool_retention.handler.retention_rules import stack_key
from tests.unit.construct.policies import pool_policy

LONDON = cdk.Environment(account="111122223333", region="eu-west-2")


def declaring(stack: cdk.Stack, *names: str) -> cdk.Stack:
    for name in names or ("meeting-audio",):
        KinesisVideoStreamPoolRetention(
            stack, name, pool_identifier=name, data_retention=cdk.Duration.hours(48)
        )
    return stack


def keys_of(stack: cdk.Stack) -> set[str]:
    """The StackKey of every retention resource in the stack's template."""
    resources = Template.from_stack(stack).find_resources("Custom::KinesisVideoStreamPoolRetention")
    return {resource["Properties"]["StackKey"] for resource in resources.values()}


def key_of(stack: cdk.Stack) -> str:
    (key,) = keys_of(stack)
    return key


def test_every_resource_of_a_stack_carries_one_key():
    assert len(keys_of(declaring(cdk.Stack(cdk.App(), "Media", env=LONDON), "a", "b", "c"))) == 1


def test_the_same_stack_gets_the_same_key_at_every_synth():
    first = key_of(declaring(cdk.Stack(cdk.App(), "Media", env=LONDON), "a"))
    # Another synth, with other pools declared in it: the key names the stack, not its resources.
    second = key_of(declaring(cdk.Stack(cdk.App(), "Media", env=LONDON), "b", "c"))

    assert first == second


def test_stacks_of_different_names_get_different_keys():
    app = cdk.App()
    media = declaring(cdk.Stack(app, "Media", env=LONDON))
    recordings = declaring(cdk.Stack(app, "Recordings", env=LONDON), "support-audio")

    assert key_of(media) != key_of(recordings)


def test_the_same_name_in_another_region_or_account_gets_another_key():
    def key_in(account: str, region: str) -> str:
        return key_of(
            declaring(cdk.Stack(cdk.App(), "Media", env=cdk.Environment(account=account, region=region)))
        )

    keys = {
        key_in("111122223333", "eu-west-2"),
        key_in("111122223333", "us-east-1"),
        key_in("444455556666", "eu-west-2"),
    }

    assert len(keys) == 3


def test_an_environment_agnostic_stack_gets_its_key_from_its_name_alone():
    key = key_of(declaring(cdk.Stack(cdk.App(), "Media")))

    assert key == stack_key("Media")
    assert key != key_of(declaring(cdk.Stack(cdk.App(), "Media", env=LONDON)))


def test_a_nested_stacks_key_differs_from_its_parents():
    parent = declaring(cdk.Stack(cdk.App(), "Media", env=LONDON))
    nested = declaring(cdk.NestedStack(parent, "Recordings"), "support-audio")
    other_nested = declaring(cdk.NestedStack(parent, "Archive"), "archive-audio")

    assert len({key_of(parent), key_of(nested), key_of(other_nested)}) == 3


def test_a_concrete_stacks_key_is_what_the_handler_derives_from_its_stack_id():
    """A resource deployed before StackKey was a property arrives without it: the handler's fallback must
    find the same anchor the construct's grant names, or the cleanup-phase Delete is denied."""
    stack = declaring(cdk.Stack(cdk.App(), "MediaStack", stack_name="media-prod", env=LONDON))
    (resource,) = (
        Template.from_stack(stack).find_resources("Custom::KinesisVideoStreamPoolRetention").values()
    )
    properties = {
        name: str(value) for name, value in resource["Properties"].items() if name != "ServiceToken"
    }
    del properties["StackKey"]
    stack_id = (
        "arn:aws:cloudformation:eu-west-2:111122223333:stack/media-prod/0a1b2c3d-0000-4000-8000-00000000abcd"
    )

    declared = index.parse_request(properties, Resource(stack_id, "meetingaudio"))

    assert declared.stack_key == resource["Properties"]["StackKey"]
    assert declared.stack_key == stack_key("media-prod", "111122223333", "eu-west-2")


def test_the_grants_condition_key_names_the_stacks_anchor_within_iams_limits():
    # The longest stack name CloudFormation allows: the key, and so the condition key, stays the same length.
    stack = declaring(cdk.Stack(cdk.App(), "Media", stack_name="m" * 128, env=LONDON))
    key = key_of(stack)

    (declared_by_this_stack,) = (
        statement
        for statement in pool_policy(Template.from_stack(stack).to_json())["Properties"]["PolicyDocument"][
            "Statement"
        ]
        if statement["Sid"] == "DeclaredByThisStack"
    )
    (condition_key,) = declared_by_this_stack["Condition"]["StringEquals"]
    assert condition_key == f"aws:ResourceTag/kvs-pool-retention:stack-{key}"
    assert declared_by_this_stack["Condition"]["StringEquals"][condition_key] == {"Ref": "AWS::StackId"}
    assert len(condition_key) <= 128
    assert len(condition_key.removeprefix("aws:ResourceTag/")) <= 128  # the tag key itself
