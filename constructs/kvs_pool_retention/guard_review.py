"""What reviewers read of the guard: its descriptions, and the cdk-nag acknowledgements and checkov skips
with their reasons (review.py says the same of the handler)."""

from __future__ import annotations

import jsii
from aws_cdk import Acknowledgment, Annotations, IAspect, Stack, Validations
from constructs import Construct, IConstruct

from kvs_pool_retention.provider import RetentionProvider

ROLE_DESCRIPTION = "kvs-pool-retention guard: reads this stack's declared KVS pools only"
FUNCTION_DESCRIPTION = "kvs-pool-retention guard: alarms when a declared pool's retention changes"
TAG_PINNED_REASON = (
    "Conditioned on the pool's record naming this stack (aws:ResourceTag/<this stack's anchor> = its stack "
    "id): the guard reads only the pools this stack declares, in any region, whichever way they were named."
)
CHECKOV_SKIPS = {
    "CKV_AWS_115": "No reserved concurrency: it would take from the account's unreserved concurrency; the "
    "guard paces its own calls to the pool API instead.",
}
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


@jsii.implements(IAspect)
class SayWhenGrantWidened:
    """The guard's resources count against the stack's 500 (the handler's grant plan counts them): near that
    edge the handler's exact pool grants give way to this account's pools in the region. Said at synth, so
    that turning the guard on does not move the grant unseen (cdk diff shows the policy change)."""

    def __init__(self, guard: Construct, stack: Stack) -> None:
        self._guard, self._stack, self._done = guard, stack, False

    def visit(self, node: IConstruct) -> None:
        if self._done or node.node.id != RetentionProvider.ID or node.node.scope is not self._stack:
            return
        self._done = True
        why = getattr(getattr(node, "pool_policy", None), "widen_because", None)
        if why:
            Annotations.of(self._guard).add_warning_v2(
                "KvsPoolRetentionGuardGrantWidened",
                f"With the guard's resources in this stack, the handler's pool grant is this account's pools "
                f"in the stack's region, not each declared pool's ARN, because {why}.",
            )


def say_other_region(guard: Construct, pools: list[str], *, region_known: bool) -> None:
    """The pools declared by ARN whose events the guard's rule cannot see (another region's bus)."""
    where = "outside the stack's region" if region_known else "that may be outside the stack's region"
    Annotations.of(guard).add_warning_v2(
        "KvsPoolRetentionGuardOtherRegion",
        f"The guard's rule sees the pool events of its own region only: the pools declared by ARN {where} "
        f"({', '.join(pools)}) are checked by the sweep alone"
        + ("." if region_known else " if they are (the stack's region is known only at deploy time)."),
    )


def say_nested_stacks(guard: Construct, nested: list[str]) -> None:
    """A stack's guard lists its own retention resources only: pools declared in nested stacks escape it."""
    Annotations.of(guard).add_warning_v2(
        "KvsPoolRetentionGuardNestedStacks",
        "The guard of this stack does not cover the pools declared in its nested stacks "
        f"({', '.join(nested)}): it checks only the retention resources of its own stack. Call "
        "configure_guard on each nested stack that declares pools.",
    )
