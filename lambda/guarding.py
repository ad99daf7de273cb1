"""The retention guard's core: is a pool of this stack still at what the stack declares, and, on request,
put it back. Plain values and the handler's own clients in, findings out; knows nothing of EventBridge.

One source of truth, the record on the pool (declarations.py): the declarations whose key is this stack's
and whose anchor names this stack's id. Declared twice by this stack (a rename, between the new resource's
Create and the old one's Delete), the higher value holds, as the handler's decision does. Compared the way
the drift check compares: the pool's retention in whole hours against the declared hours, equal or not.

What the guard never does: recreate a deleted pool, act while its own stack has an operation in progress
(the handler is changing pools then), lower a pool unless told to (`allow_lowering`), or touch the record.
The guard always reads the pool's current state, so a duplicate or out-of-order event finds nothing left to
do once the pool holds its declaration.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import BotoCoreError, ClientError
from calls import Caller
from declarations import DamagedRecord, read_record
from errors import AccessDenied, PoolFailed, PoolNotFound, RetentionError
from pacing import Pacing
from pool_api import PoolApi, retention_of
from retention_rules import parse_pool_identifier
from settling import set_retention, wait_until_settled

if TYPE_CHECKING:
    from mypy_boto3_cloudformation import CloudFormationClient

logger = logging.getLogger(__name__)

UNREADABLE = (
    "deleted outside CloudFormation, or its kvs-pool-retention record no longer names this stack (the guard "
    "may read only pools whose record does); the guard recreates nothing"
)

# The sweep is a backstop, not in a hurry: at most this many requests a second of its own, under the rate
# the pool API's answers teach (pacing.py), so that it leaves most of a low account rate to deployments.
SWEEP_REQUESTS_PER_SECOND = 2.0


@dataclass
class SweepPacing(Pacing):
    """The invocation's pacing, with a floor under the gap between two requests' starts."""

    floor: float = 1 / SWEEP_REQUESTS_PER_SECOND
    _started_at: float | None = None

    def wait(self) -> float:
        if self._started_at is None:
            return super().wait()
        return max(super().wait(), self._started_at + self.floor - self.clock())

    def started(self) -> None:
        super().started()
        self._started_at = self.clock()


@dataclass(frozen=True)
class GuardSettings:
    """Who the guard speaks for, and what it may do (the function's environment, set by the construct)."""

    stack_key: str
    stack_id: str
    stack_name: str
    resource_type: str = ""  # the retention resources' CloudFormation type
    enforce: bool = False
    allow_lowering: bool = False


@dataclass(frozen=True)
class Finding:
    """One pool, as the guard found it (and left it)."""

    pool: str  # its ARN
    declared: int | None = None  # what this stack declares; None: not this stack's pool
    actual: int | None = None  # the retention it holds now (after a put-back)
    found: int | None = None  # the retention it held when read, when the guard changed it
    deleted: bool = False
    problem: str = ""  # could not be read or put back: said in the WARNING line

    @property
    def ours(self) -> bool:
        return self.declared is not None or self.deleted

    @property
    def drift(self) -> int:
        """The gauge: 1 while the pool is not at its declaration (deleted, unreadable or different)."""
        if self.deleted or self.problem:
            return 1
        return 0 if self.actual == self.declared else 1


def declared_hours(tags: dict[str, str], settings: GuardSettings) -> int | None:
    """What this stack declares for the pool whose tags these are; None when it declares nothing.
    Raises DamagedRecord when the record cannot be read."""
    record = read_record(tags)
    hours = [
        declaration.hours
        for declaration in record.declarations
        if declaration.stack_key == settings.stack_key
        and declaration.resource.stack_id == settings.stack_id
        and declaration.hours is not None
    ]
    return max(hours) if hours else None


def check_pool(api: PoolApi, arn: str, settings: GuardSettings, *, known_ours: bool = False) -> Finding:
    """Read the pool's record and retention; put it back when enforcing and allowed. `known_ours`: the
    stack's own resource names the pool, so a pool that is gone is reported rather than ignored."""
    try:
        tags = api.tags(arn)
    except PoolNotFound:
        return _deleted(arn) if known_ours else Finding(arn)
    except AccessDenied:
        # The role reads only pools whose anchor names this stack, so a denial is another stack's pool (the
        # rule is not filtered by ARN when the list is too long for a pattern) - unless this stack's own
        # resource names it: then it is gone (IAM cannot find the tag of a deleted pool) or its record was
        # removed out of band, and either is reported.
        if known_ours:
            return Finding(arn, deleted=True, problem=UNREADABLE)
        logger.info("pool %s: not declared by this stack (its record does not name it)", arn)
        return Finding(arn)
    try:
        declared = declared_hours(tags, settings)
    except DamagedRecord as damage:
        return Finding(arn, declared=0, problem=f"its kvs-pool-retention record is damaged ({damage})")
    if declared is None:
        logger.info("pool %s: stack %s declares no retention for it", arn, settings.stack_name)
        return Finding(arn)
    try:
        pool = wait_until_settled(api, arn)
    except PoolNotFound:
        return _deleted(arn)
    except PoolFailed as error:
        return Finding(arn, declared, problem=str(error))
    actual = retention_of(pool)
    if actual == declared:
        return Finding(arn, declared, actual)
    lowering = actual > declared
    if not settings.enforce or (lowering and not settings.allow_lowering):
        return Finding(arn, declared, actual)
    try:
        pool = set_retention(api, arn, declared, pool)
    except RetentionError as error:
        return Finding(arn, declared, actual, problem=f"could not put it back to {declared} h: {error}")
    logger.warning(
        "retention guard: pool %s was at %s h, stack %s declares %s h: %s it back to %s h",
        arn,
        actual,
        settings.stack_name,
        declared,
        "lowered" if lowering else "raised",
        retention_of(pool),
    )
    return Finding(arn, declared, retention_of(pool), found=actual)


def _deleted(arn: str) -> Finding:
    return Finding(arn, deleted=True)


def report(finding: Finding, settings: GuardSettings) -> None:
    """The WARNING line of a pool that is not at its declaration: the pool, both values and the stack."""
    if not finding.drift:
        return
    if finding.deleted and finding.problem:
        logger.warning(
            "retention guard: pool %s, declared by stack %s, cannot be read: %s",
            finding.pool,
            settings.stack_name,
            finding.problem,
        )
    elif finding.deleted:
        logger.warning(
            "retention guard: pool %s, declared by stack %s, was deleted outside CloudFormation; "
            "the guard does not recreate it",
            finding.pool,
            settings.stack_name,
        )
    elif finding.problem:
        logger.warning(
            "retention guard: pool %s, declared at %s h by stack %s: %s",
            finding.pool,
            finding.declared,
            settings.stack_name,
            finding.problem,
        )
    else:
        logger.warning(
            "retention guard: pool %s holds %s h, stack %s declares %s h%s",
            finding.pool,
            finding.actual,
            settings.stack_name,
            finding.declared,
            "" if settings.enforce else " (not enforcing: left as it is)",
        )


# --- The stack: its status and its retention resources (the sweep's list of pools) ----------------------


@dataclass
class OwnStack:
    """The guard's own stack, through CloudFormation, paced by the invocation's Caller."""

    client: CloudFormationClient
    caller: Caller
    stack_id: str
    resource_type: str

    def status(self) -> str | None:
        """Its status; None when it cannot be read."""
        try:
            answer: Any = self.caller.call(
                "read the status of",
                f"stack {self.stack_id}",
                lambda: self.client.describe_stacks(StackName=self.stack_id),
            )
        except (ClientError, RetentionError, BotoCoreError) as error:
            logger.warning("could not read the status of stack %s: %s", self.stack_id, error)
            return None
        stacks = answer.get("Stacks") or []
        return str(stacks[0].get("StackStatus", "")) if stacks else None

    def declared_pools(self) -> Iterator[str]:
        """The pool ARNs its retention resources name (their physical ids), page by page. A resource whose
        Create failed before reading its pool has no ARN for an id: it declares nothing yet."""
        token = None
        seen = set()
        while True:
            request = _page_request(self.client, self.stack_id, token)
            answer: Any = self.caller.call("list the resources of", f"stack {self.stack_id}", request)
            for summary in answer.get("StackResourceSummaries") or []:
                physical = str(summary.get("PhysicalResourceId") or "")
                if summary.get("ResourceType") != self.resource_type or physical in seen:
                    continue
                if str(summary.get("ResourceStatus", "")).startswith("DELETE_"):
                    continue
                try:
                    if parse_pool_identifier(physical).region is None:
                        continue
                except ValueError:
                    continue
                seen.add(physical)
                yield physical
            token = answer.get("NextToken")
            if not token:
                return


def _page_request(client: CloudFormationClient, stack_id: str, token: str | None) -> Callable[[], Any]:
    if token:
        return lambda: client.list_stack_resources(StackName=stack_id, NextToken=token)
    return lambda: client.list_stack_resources(StackName=stack_id)
