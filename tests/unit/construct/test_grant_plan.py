"""Grant planning as plain arithmetic: no CDK, no stack."""

from __future__ import annotations

import pytest

from kvs_pool_retention.grant_plan import (
    ADDED_AFTER_PLANNING,
    INLINE_POLICY_CHARS,
    LONGEST_PSEUDO,
    MANAGED_POLICY_CHARS,
    Grant,
    arn_chars,
    chunks,
    document_chars,
    plan,
)
from tests.iam_size import LONGEST

LONGEST_ARN = "arn:aws-iso-b:chime:ap-southeast-10:123456789012:media-pipeline-kinesis-video-stream-pool/"


def grants(count: int, chars: int = 100) -> list[Grant]:
    return [Grant(f"pool-{index}", chars, in_stack_env=True) for index in range(count)]


def test_an_arn_is_counted_at_its_longest_quoted_with_its_comma():
    assert arn_chars(None, None, None, "meeting-audio") == len(LONGEST_ARN + "meeting-audio") + 3
    assert (
        arn_chars("aws", "us-east-1", "111122223333", "a")
        == len("arn:aws:chime:us-east-1:111122223333:media-pipeline-kinesis-video-stream-pool/a") + 3
    )
    assert arn_chars(None, None, None, None) == len(LONGEST_ARN) + 128 + 3  # a name known at deploy time


def test_a_document_is_counted_as_iam_counts_it_with_the_longest_values():
    document = {
        "Statement": [
            {
                "Resource": {"Fn::Join": ["", ["arn:", {"Ref": "AWS::Partition"}, ":logs"]]},
                "Condition": {"StringEquals": {"k": {"Ref": "AWS::StackId"}}},
            },
            {"Resource": {"Fn::GetAtt": ["Logs", "Arn"]}},
        ]
    }

    counted = document_chars(document)

    stack_id = len("arn:aws-iso-b:cloudformation:ap-southeast-10:123456789012:stack/") + 128 + 1 + 36
    expected = (
        '{"Statement":[{"Resource":"arn:aws-iso-b:logs","Condition":{"StringEquals":{"k":"'
        + "x" * stack_id
        + '"}}},{"Resource":"'
        + "x" * 256
        + '"}]}'
    )
    assert counted == len(expected)


def test_the_plan_counts_the_pseudo_parameters_as_long_as_the_size_tests_measure_them():
    """The least-privilege tests measure templates with tests.iam_size.LONGEST: the plan must budget the
    fixed statements (the stack id in a condition, the partition and account in ARNs) at the same length."""
    for pseudo in ("AWS::Partition", "AWS::Region", "AWS::AccountId", "AWS::StackId"):
        assert len(LONGEST_PSEUDO[pseudo]) == len(LONGEST[pseudo]), pseudo


def test_chunks_fill_inline_first_then_each_managed_policy_in_declaration_order():
    planned = chunks(grants(25), inline_budget=1000, managed_budget=600)

    assert [len(chunk) for chunk in planned] == [10, 6, 6, 3]
    assert [grant.arn for chunk in planned for grant in chunk] == [f"pool-{index}" for index in range(25)]


def test_an_inline_budget_too_small_for_one_arn_sends_them_all_to_managed_policies():
    assert [len(chunk) for chunk in chunks(grants(3), inline_budget=50, managed_budget=600)] == [0, 3]


def test_a_plan_that_fits_is_exact():
    planned = plan(grants(25), inline_budget=1000, managed_budget=600, resources_in_stack=10)

    assert planned.widen_because is None
    assert (len(planned.inline), [len(managed) for managed in planned.managed]) == (10, [6, 6, 3])


def test_the_stacks_resources_and_what_cdk_adds_after_planning_bound_the_managed_policies():
    room = 500 - ADDED_AFTER_PLANNING - 3  # three managed policies needed: no room for the third
    fits = plan(grants(25), inline_budget=1000, managed_budget=600, resources_in_stack=room - 1)
    widened = plan(grants(25), inline_budget=1000, managed_budget=600, resources_in_stack=room + 1)

    assert fits.widen_because is None
    assert widened.widen_because == (
        "25 exact pool ARNs need 3 managed policies besides the inline one, and CloudFormation's 500 "
        "resources a stack leave room for 2"
    )


def test_past_ten_managed_policies_a_role_the_grant_widens():
    fitting = 10 + 10 * 6  # inline, then ten full managed policies

    assert (
        plan(grants(fitting), inline_budget=1000, managed_budget=600, resources_in_stack=0).widen_because
        is None
    )
    assert plan(
        grants(fitting + 1), inline_budget=1000, managed_budget=600, resources_in_stack=0
    ).widen_because == (
        f"{fitting + 1} exact pool ARNs need 11 managed policies besides the inline one, past the 10 IAM "
        "attaches to a role by default"
    )


def test_managed_policies_the_user_attached_to_the_role_count_towards_the_ten():
    fitting = 10 + 9 * 6
    budgets = {"inline_budget": 1000, "managed_budget": 600, "resources_in_stack": 0, "attached_policies": 1}

    assert plan(grants(fitting), **budgets).widen_because is None
    assert "past the 10 IAM attaches" in str(plan(grants(fitting + 1), **budgets).widen_because)


@pytest.mark.parametrize("budget", [0, -5])
def test_a_role_whose_other_policies_fill_its_inline_limit_widens(budget):
    assert plan(grants(1), inline_budget=budget, managed_budget=600, resources_in_stack=0).widen_because == (
        "the role's other inline policies leave no room for the pool ARNs"
    )


def test_the_limits_are_iams_and_cloudformations():
    assert (INLINE_POLICY_CHARS, MANAGED_POLICY_CHARS) == (10_240, 6_144)
