"""Grant planning: how the declared pools' exact ARNs fit a role's policies, and when they cannot.

The rule, as IAM and CloudFormation set it:
- a role's inline policies together hold at most 10 240 characters (white space not counted); what the
  role already carries (its log statement, network permissions, a user's own additions, the fixed
  statements of the pool policy) comes off that first;
- the ARNs that do not fit inline go to customer managed policies of at most 6 144 characters each, at
  most 10 attached to a role by default, each one more resource in the stack;
- a stack holds at most 500 resources, counting what CDK adds after planning (`AWS::CDK::Metadata`);
- where either limit leaves no room, the grant becomes this account's pools in this region, with the
  ARN-declared pools elsewhere still listed (the wide grant does not cover them).

Sizes are counted as IAM counts them, with the longest values the partition, region, account and a pool
name can take, so the limits hold wherever the stack deploys. Plain values in, plain plans out: the
provider calls these at synth and owns none of the arithmetic.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any

from kvs_pool_retention.handler.retention_rules import pool_arn

INLINE_POLICY_CHARS = 10_240  # all inline policies of one role together
MANAGED_POLICY_CHARS = 6_144
MANAGED_POLICIES_PER_ROLE = 10
STACK_RESOURCES = 500
# Resources CDK adds to a stack after aspects run: AWS::CDK::Metadata, which the CDK CLI turns on by default.
ADDED_AFTER_PLANNING = 1

# Longest values the pseudo parameters and a pool name can resolve to.
LONGEST_PSEUDO = {
    "AWS::Partition": "aws-iso-b",
    "AWS::Region": "ap-southeast-10",
    "AWS::AccountId": "123456789012",
    # arn:<partition>:cloudformation:<region>:<account>:stack/<name of 128>/<uuid of 36>
    "AWS::StackId": "arn:aws-iso-b:cloudformation:ap-southeast-10:123456789012:stack/" + "x" * (128 + 1 + 36),
    "AWS::StackName": "x" * 128,
    "AWS::URLSuffix": "amazonaws.com.cn",
}
LONGEST_POOL_NAME = 128
# A resource attribute or reference in a policy (a log group's ARN, a user's resource): IAM's ARNs run to
# 2 048 characters, but those a role policy names here are CloudFormation-generated or the user's own;
# 256 is a generous allowance for one, and counted for each.
REFERENCE_CHARS = 256


@dataclass(frozen=True)
class Grant:
    """One pool's ARN in a policy: as the template writes it, and what it adds to a policy."""

    arn: Any  # a string, or an intrinsic (Fn::Join over pseudo parameters, a Ref to a parameter)
    chars: int  # the longest it can resolve to, quoted, with its comma
    in_stack_env: bool  # known to be in the stack's account and region, so the wide grant covers it


@dataclass(frozen=True)
class Plan:
    """Where the exact ARNs go: `inline` and one list per managed policy; or, with `widen_because`, the
    account-and-region-wide grant and why."""

    inline: list[Grant]
    managed: list[list[Grant]]
    widen_because: str | None = None


def arn_chars(partition: str | None, region: str | None, account: str | None, name: str | None) -> int:
    """What a pool ARN adds to a policy: its longest length, quoted, with a comma (None: not known)."""
    partition = partition or LONGEST_PSEUDO["AWS::Partition"]
    region = region or LONGEST_PSEUDO["AWS::Region"]
    account = account or LONGEST_PSEUDO["AWS::AccountId"]
    name = name or "x" * LONGEST_POOL_NAME
    return len(pool_arn(partition, region, account, name)) + 3


def document_chars(document: Any) -> int:
    """A resolved policy document's size as IAM counts it, with the longest pseudo parameter values and
    REFERENCE_CHARS for each reference to a resource or parameter."""
    return len(json.dumps(_longest(document), separators=(",", ":")))


def _longest(value: Any) -> Any:
    if isinstance(value, dict):
        if "Ref" in value:
            return LONGEST_PSEUDO.get(value["Ref"], "x" * REFERENCE_CHARS)
        if "Fn::GetAtt" in value or "Fn::ImportValue" in value:
            return "x" * REFERENCE_CHARS
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(str(_longest(part)) for part in parts)
        if "Fn::Sub" in value:
            template = value["Fn::Sub"] if isinstance(value["Fn::Sub"], str) else value["Fn::Sub"][0]
            return re.sub(
                r"\$\{([^}!]+)\}", lambda match: LONGEST_PSEUDO.get(match[1], "x" * REFERENCE_CHARS), template
            )
        return {key: _longest(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_longest(item) for item in value]
    return value


def chunks(grants: list[Grant], *, inline_budget: int, managed_budget: int) -> list[list[Grant]]:
    """Grants in declaration order: the first chunk within `inline_budget`, each later one within
    `managed_budget` (what a managed policy leaves for ARNs after its own structure)."""
    planned: list[list[Grant]] = [[]]
    left = inline_budget
    for grant in grants:
        # A full chunk starts the next; so does an inline budget too small for even one ARN.
        if grant.chars > left and (planned[-1] or len(planned) == 1):
            planned.append([])
            left = managed_budget
        planned[-1].append(grant)
        left -= grant.chars
    return planned


def plan(
    grants: list[Grant],
    *,
    inline_budget: int,
    managed_budget: int,
    resources_in_stack: int,
    attached_policies: int = 0,
) -> Plan:
    """Exact ARNs inline first, then in as few managed policies as they need; the wide grant only where
    the stack's resources or the role's managed policies leave no room for those."""
    if inline_budget <= 0:
        return Plan([], [], "the role's other inline policies leave no room for the pool ARNs")
    planned = chunks(grants, inline_budget=inline_budget, managed_budget=managed_budget)
    needed = len(planned) - 1
    room = STACK_RESOURCES - ADDED_AFTER_PLANNING - resources_in_stack
    if needed > room:
        return Plan(
            [],
            [],
            f"{len(grants)} exact pool ARNs need {needed} managed policies besides the inline one, and "
            f"CloudFormation's {STACK_RESOURCES} resources a stack leave room for {max(room, 0)}",
        )
    if needed + attached_policies > MANAGED_POLICIES_PER_ROLE:
        return Plan(
            [],
            [],
            f"{len(grants)} exact pool ARNs need {needed} managed policies besides the inline one, past "
            f"the {MANAGED_POLICIES_PER_ROLE} IAM attaches to a role by default",
        )
    return Plan(planned[0], planned[1:])
