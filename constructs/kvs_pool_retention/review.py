"""What reviewers read in the template: descriptions, cdk-nag acknowledgements and checkov skips, each with
its reason. The resources are built elsewhere (provider, pool_policy, handler_options); what is said about
them to a person or a scanner is said here."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Stack, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_

ROLE_DESCRIPTION = "kvs-pool-retention handler: reads and updates the declared KVS pools only"
FUNCTION_DESCRIPTION = "kvs-pool-retention: keeps declared Kinesis Video Stream pools at their retention"
SECURITY_GROUP_DESCRIPTION = (
    "kvs-pool-retention handler: HTTPS out to the pool API and response URL, nothing in"
)
EGRESS_DESCRIPTION = "the Chime SDK media pipelines API and S3 (the response)"


def managed_policy_description(number: int, of: int) -> str:
    return f"kvs-pool-retention: the declared pools, part {number} of {of}"


RECORDED_POOLS = (
    "Conditioned on the pool's record naming this stack (aws:ResourceTag): a retention resource removed from "
    "the stack, or moved to another pool, withdraws its declaration in CloudFormation's cleanup phase, after "
    "the exact grant for that pool is gone; only pools whose record names this stack match."
)
DECLARING_STACKS = (
    "Read-only (DescribeStackResource, DescribeStacks): a pool may be declared by any stack of the account, "
    "in any region, and whether each declaration's resource still exists, and whether its stack (or this "
    "one) is mid-operation or rolling back, is CloudFormation's to say."
)
NETWORK_INTERFACES = (
    "Lambda attaches a function to a VPC through network interfaces it manages with the function's role: "
    "EC2's Describe actions take no resource scope, and the others are scoped to this account's EC2 "
    "resources in this region (AWSLambdaVPCAccessExecutionRole, narrowed and inline)."
)


def all_pools_in_region(why: str) -> str:
    return (
        f"Scoped to this account's KVS pools in this region because {why}; "
        "the handler only reads and updates the pools declared in this stack."
    )


def acknowledge_wildcards(policy: iam.CfnPolicy, *findings: tuple[list[str], str]) -> None:
    """Acknowledge cdk-nag's AwsSolutions-IAM5 finding for each wildcard resource of a policy, with why
    (each finding: the resources and the reason); cdk-nag 2.x reads the same from template metadata, which
    names the same resources. Each call into aws-cdk-lib is a round trip to Node: all findings at once."""
    stack = Stack.of(policy)
    resolved = iter(stack.resolve([resource for resources, _ in findings for resource in resources]))
    suppressions = policy.get_metadata("cdk_nag") or {"rules_to_suppress": []}
    acknowledgments = []
    for resources, reason in findings:
        named = [f"Resource::{_nag_notation(next(resolved))}" for _ in resources]
        acknowledgments += [Acknowledgment(id=f"AwsSolutions-IAM5[{name}]", reason=reason) for name in named]
        suppression = {"id": "AwsSolutions-IAM5", "reason": reason, "applies_to": named}
        suppressions["rules_to_suppress"].append(suppression)
    Validations.of(policy).acknowledge(*acknowledgments)
    policy.add_metadata("cdk_nag", suppressions)


# Checkov checks that cannot apply to the handler, and why (CKV_AWS_116: dead-letter queue; 115: reserved
# concurrency).
HANDLER_CHECKOV_SKIPS = {
    "CKV_AWS_116": "No dead-letter queue: an event this handler could not answer is one CloudFormation has "
    "already failed; replayed later, it would be refused as late.",
    "CKV_AWS_115": "No reserved concurrency: it would take from the account's unreserved concurrency "
    "(failing deployment in accounts with little) and hold a stack's events in Lambda's queue; the handler "
    "paces its own calls to the pool API instead.",
}


def explain_to_checkov(function: lambda_.Function, skips: dict[str, str]) -> None:
    """Checks that cannot apply to a function of this library: skipped, the reason in the template."""
    resource = function.node.default_child
    assert isinstance(resource, lambda_.CfnFunction)
    resource.add_metadata("checkov", {"skip": [{"id": id, "comment": why} for id, why in skips.items()]})


def _nag_notation(resolved: object) -> str:
    """How cdk-nag names a resolved ARN in a finding id: pseudo parameters as <AWS::Region>."""
    if isinstance(resolved, dict) and "Fn::Join" in resolved:
        return "".join(_nag_notation(part) for part in resolved["Fn::Join"][1])
    if isinstance(resolved, dict) and "Ref" in resolved:
        return f"<{resolved['Ref']}>"
    return str(resolved)
