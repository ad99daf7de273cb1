"""The guard's own stack, through CloudFormation: its status, and its retention resources, which name the
only pools the guard may read or write.

The pools' anchor tags cannot tell the guard which pools are this stack's: anyone allowed
chime:TagResource can write an anchor naming this stack on any pool (and the role's tag-pinned grant would
then reach it). CloudFormation can: a pool is this stack's when one of its current retention resources has
the pool's ARN for a physical id, and a declaration on the record counts for this stack only when its
logical id is such a resource of that pool. A status that cannot be read raises: the invocation fails, so
Lambda retries it and then puts it in the dead-letter queue, rather than the event being dropped unseen.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from calls import Caller
from retention_rules import parse_pool_identifier

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

# A resource in these is no longer the stack's (DELETE_FAILED still is: its Delete will be tried again).
NOT_CURRENT = frozenset({"DELETE_COMPLETE", "DELETE_IN_PROGRESS", "DELETE_SKIPPED"})


class DeploymentStarted(Exception):
    """The stack began an operation while the guard was working: it stops, changes and publishes nothing."""

    def __init__(self, status: str) -> None:
        super().__init__(status)
        self.status = status


def in_progress(status: str) -> bool:
    return status.endswith("_IN_PROGRESS")


@dataclass
class OwnStack:
    """The guard's own stack, paced by the invocation's Caller."""

    client: CloudFormationClient
    caller: Caller
    stack_id: str
    resource_type: str

    def status(self) -> str:
        """Its status. Raises (a ClientError or a RetentionError) when it cannot be read."""
        answer: Any = self.caller.call(
            "read the status of",
            f"stack {self.stack_id}",
            lambda: self.client.describe_stacks(StackName=self.stack_id),
        )
        stacks = answer.get("Stacks") or []
        status = str(stacks[0].get("StackStatus", "")) if stacks else ""
        if not status:
            raise LookupError(f"stack {self.stack_id} was not described: its status is unknown")
        return status

    def ensure_idle(self) -> None:
        """Right before a change or a stack-level point: raise DeploymentStarted if an operation began."""
        status = self.status()
        if in_progress(status):
            raise DeploymentStarted(status)

    def retention_resources(self) -> dict[str, frozenset[str]]:
        """Pool ARN -> the logical ids of the stack's current retention resources naming it (their physical
        ids), page by page. A resource whose Create failed before reading its pool has no ARN for an id: it
        declares nothing yet."""
        pools: dict[str, set[str]] = {}
        token = None
        while True:
            request = _page_request(self.client, self.stack_id, token)
            answer: Any = self.caller.call("list the resources of", f"stack {self.stack_id}", request)
            for summary in answer.get("StackResourceSummaries") or []:
                physical = str(summary.get("PhysicalResourceId") or "")
                if summary.get("ResourceType") != self.resource_type:
                    continue
                if str(summary.get("ResourceStatus", "")) in NOT_CURRENT or not _is_pool_arn(physical):
                    continue
                pools.setdefault(physical, set()).add(str(summary.get("LogicalResourceId", "")))
            token = answer.get("NextToken")
            if not token:
                return {pool: frozenset(logical_ids) for pool, logical_ids in pools.items()}


def _is_pool_arn(physical: str) -> bool:
    try:
        return parse_pool_identifier(physical).region is not None
    except ValueError:
        return False


def _page_request(client: CloudFormationClient, stack_id: str, token: str | None) -> Callable[[], Any]:
    if token:
        return lambda: client.list_stack_resources(StackName=stack_id, NextToken=token)
    return lambda: client.list_stack_resources(StackName=stack_id)
