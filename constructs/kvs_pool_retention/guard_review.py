"""What reviewers read of the guard: its descriptions, and the cdk-nag acknowledgements and checkov skips
with their reasons (review.py says the same of the handler)."""

from __future__ import annotations

from aws_cdk import Acknowledgment, Validations
from aws_cdk import aws_lambda as lambda_
from constructs import Construct

ROLE_DESCRIPTION = "kvs-pool-retention guard: reads this stack's declared KVS pools only"
FUNCTION_DESCRIPTION = "kvs-pool-retention guard: alarms when a declared pool's retention changes"
TAG_PINNED_REASON = (
    "Conditioned on the pool's record naming this stack (aws:ResourceTag/<this stack's anchor> = its stack "
    "id): the guard reads only the pools this stack declares, in any region, whichever way they were named."
)
DEAD_LETTER_REASON = (
    "This queue is itself the dead-letter queue of the guard's rule targets and function: events that could "
    "not be delivered or handled land here."
)


def acknowledge(resource: object, rule: str, reason: str) -> None:
    assert isinstance(resource, Construct)
    Validations.of(resource).acknowledge(Acknowledgment(id=rule, reason=reason))
    cfn = resource.node.default_child or resource
    metadata = getattr(cfn, "add_metadata", None)
    if metadata is not None:
        metadata("cdk_nag", {"rules_to_suppress": [{"id": rule, "reason": reason}]})


def explain_to_checkov(function: lambda_.Function) -> None:
    resource = function.node.default_child
    assert isinstance(resource, lambda_.CfnFunction)
    resource.add_metadata(
        "checkov",
        {
            "skip": [
                {
                    "id": "CKV_AWS_115",
                    "comment": "No reserved concurrency: it would take from the account's unreserved "
                    "concurrency; the guard paces its own calls to the pool API instead.",
                }
            ]
        },
    )
