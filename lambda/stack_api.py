"""What CloudFormation says, the authority on which declarations are live.

- `liveness`: DescribeStackResource of a declaration's resource, in its stack's region. Documented
  answers: a stack addressed by its id is described for 90 days after deletion (DELETE_COMPLETE, or
  DELETE_SKIPPED under Retain), then ValidationError "Stack with id ... does not exist"; a resource not in
  the stack: ValidationError "Resource X does not exist for stack Y"; a resource being deleted:
  DELETE_IN_PROGRESS. ValidationError is gone; a denial, throttling past the deadline or another account's
  stack is unknown, never gone; a resource whose physical id names another pool (a move keeps the logical
  id) no longer declares this one.
- `rolling_back`: whether the function's own stack is rolling back, which tells a Delete that undoes a
  failed deployment from one that removes a resource.

Requests go through the invocation's Caller: paced with the pool API's, within the same deadline.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from calls import DENIED_CODES, Caller, error_code
from decision import Known, Liveness
from declarations import Declaration, Resource
from errors import RetentionError
from retention_rules import DESCRIBE_STACK_RESOURCE, DESCRIBE_STACKS

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

logger = logging.getLogger(__name__)

GONE_STATUSES = frozenset({"DELETE_COMPLETE", "DELETE_SKIPPED"})


@dataclass
class StackApi:
    client_for: Callable[[str], CloudFormationClient]  # a client for a region
    caller: Caller
    account: str | None  # the function's own: another account's stacks cannot be read

    def liveness(self, declaration: Declaration, pool_arn: str) -> Known:
        resource = declaration.resource
        if not resource.stack_id:
            return Known(
                declaration, Liveness.UNKNOWN, "its stack's anchor tag is missing or names another stack"
            )
        if self.account and resource.account != self.account:
            return Known(declaration, Liveness.UNKNOWN, f"its stack is in account {resource.account}")
        try:
            detail = self._describe_resource(resource)
        except ClientError as error:
            code = error_code(error)
            if code == "ValidationError":
                return Known(declaration, Liveness.GONE)
            why = (
                f"{DESCRIBE_STACK_RESOURCE} denied"
                if code in DENIED_CODES
                else f"CloudFormation answered {code}"
            )
            return Known(declaration, Liveness.UNKNOWN, why)
        except (RetentionError, BotoCoreError) as error:
            return Known(declaration, Liveness.UNKNOWN, str(error)[:120])
        status = str(detail.get("ResourceStatus", ""))
        physical = str(detail.get("PhysicalResourceId") or "")
        if status in GONE_STATUSES:
            return Known(declaration, Liveness.GONE)
        if physical.startswith("arn:") and physical != pool_arn:
            # It declares another pool now (a move keeps the logical id): gone once its stack is done, since
            # its stack's cleanup withdraws it; until then the move may still roll back.
            status_of_stack = self.stack_status(resource.stack_id)
            if status_of_stack is None:
                return Known(declaration, Liveness.UNKNOWN, "its stack's status could not be read")
            if status_of_stack.endswith("_IN_PROGRESS"):
                return Known(declaration, Liveness.LIVE)
            return Known(declaration, Liveness.GONE)
        if status == "DELETE_IN_PROGRESS":
            return Known(declaration, Liveness.LEAVING)
        return Known(declaration, Liveness.LIVE, being_applied=status.endswith("_IN_PROGRESS"))

    def resource_status(self, resource: Resource) -> str | None:
        """The status CloudFormation gives the event's own resource ("GONE" when it has none); None when it
        cannot be read."""
        try:
            detail = self._describe_resource(resource)
        except ClientError as error:
            return "GONE" if error_code(error) == "ValidationError" else None
        except (RetentionError, BotoCoreError):
            return None
        return str(detail.get("ResourceStatus", "")) or None

    def still_declares(self, resource: Resource, pool_arn: str) -> bool:
        """Whether CloudFormation reports the resource present and not being deleted, with this pool as its
        physical id or none yet: a Delete for it then is a late or repeated delivery (CloudFormation marks a
        resource DELETE_IN_PROGRESS before its Delete, and describes a replaced one by its new physical id).
        False when it cannot be read."""
        try:
            detail = self._describe_resource(resource)
        except (ClientError, RetentionError, BotoCoreError):
            return False
        status = str(detail.get("ResourceStatus", ""))
        # No physical id yet: added back and being created now (its Create has written its declaration).
        return not status.startswith("DELETE") and detail.get("PhysicalResourceId", "") in ("", pool_arn)

    def _describe_resource(self, resource: Resource) -> dict[str, Any]:
        """DescribeStackResource in the resource's stack's region: its StackResourceDetail."""
        answer: Any = self.caller.call(
            "check",
            f"{resource}",
            lambda: self.client_for(resource.region).describe_stack_resource(
                StackName=resource.stack_id, LogicalResourceId=resource.logical_id
            ),
        )
        return dict(answer.get("StackResourceDetail") or {})

    def stack_status(self, stack_id: str) -> str | None:
        stack = self._describe(stack_id)
        return None if stack is None else str(stack.get("StackStatus", ""))

    def rolling_back(self, stack_id: str) -> bool | None:
        """Whether the stack is rolling back (a failed creation or update), or is a nested stack deleted by
        its parent's rollback; None when it cannot be read."""
        stack = self._describe(stack_id)
        if stack is None:
            return None
        status = str(stack.get("StackStatus", ""))
        if "ROLLBACK" in status:
            return True
        parent = str(stack.get("ParentId") or "")
        if status == "DELETE_IN_PROGRESS" and parent:
            return self.rolling_back(parent)
        return False

    def _describe(self, stack_id: str) -> dict[str, Any] | None:
        region = stack_id.split(":")[3] if stack_id.count(":") >= 5 else ""
        try:
            answer: Any = self.caller.call(
                "read the status of",
                f"stack {stack_id}",
                lambda: self.client_for(region).describe_stacks(StackName=stack_id),
            )
        except (ClientError, RetentionError, BotoCoreError) as error:
            logger.warning("could not read the status of stack %s (%s): %s", stack_id, DESCRIBE_STACKS, error)
            return None
        stacks = answer.get("Stacks") or []
        return dict(stacks[0]) if stacks else None
