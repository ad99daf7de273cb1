"""What the stack says now, from CloudFormation's own API: its status and the template it is moving to.

A Delete event does not say why it comes: the stack's deletion, the cleanup after an update, or a
rollback. Two Deletes need to know. One of a resource the rollback of an update deletes (a renamed
construct created by the failed update) should leave the pool as the template the stack rolls back to
declares it; and a successor's Delete restores only once its owner is no longer declared. GetTemplate
answers with the template the stack is moving to: the new one during an update and its cleanup, the old
one during a rollback (what aws-cdk's auto-delete-objects handler relied on, before it moved to tags).
Read-only calls on the function's own stack; any failure reads as "unknown", and the caller then
changes nothing.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from retention_rules import parse_retention_hours

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

logger = logging.getLogger(__name__)

# A Delete in these statuses undoes what a failed update created.
ROLLING_BACK_AN_UPDATE = frozenset(
    {"UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"}
)


def stack_status(client: CloudFormationClient, stack_id: str) -> str | None:
    try:
        stacks = client.describe_stacks(StackName=stack_id)["Stacks"]
    except (ClientError, BotoCoreError) as error:
        logger.warning("could not read the status of stack %s: %s", stack_id, error)
        return None
    return str(stacks[0]["StackStatus"]) if stacks else None


def destination_resources(client: CloudFormationClient, stack_id: str) -> dict[str, Any] | None:
    """The Resources of the template the stack is moving to; None when it cannot be read."""
    try:
        body: Any = client.get_template(StackName=stack_id, TemplateStage="Processed")["TemplateBody"]
        template = json.loads(body) if isinstance(body, str) else body  # botocore decodes JSON bodies
    except (ClientError, BotoCoreError, ValueError) as error:
        logger.warning("could not read the template of stack %s: %s", stack_id, error)
        return None
    resources = template.get("Resources") if isinstance(template, dict) else None
    return resources if isinstance(resources, dict) else None


@dataclass(frozen=True)
class Declared:
    hours: int | None  # what a resource declares for the pool; None when none does (that can be read)
    unknown: bool  # some resource names its pool or retention by a deploy-time value


def declared_retention(
    resources: dict[str, Any], resource_type: str, names_the_pool: Callable[[str], bool]
) -> Declared:
    """The retention a resource of `resource_type` in `resources` declares for the pool."""
    unknown = False
    for resource in resources.values():
        if not isinstance(resource, dict) or resource.get("Type") != resource_type:
            continue
        properties = resource.get("Properties") or {}
        identifier, hours = properties.get("PoolIdentifier"), properties.get("DataRetentionInHours")
        if not isinstance(identifier, str):
            unknown = True
            continue
        if names_the_pool(identifier):
            try:
                return Declared(parse_retention_hours(hours if isinstance(hours, int | str) else ""), unknown)
            except ValueError:  # a deploy-time value, or not hours at all
                return Declared(None, True)
    return Declared(None, unknown)
