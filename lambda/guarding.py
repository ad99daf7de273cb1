"""The retention guard's core: is a pool of this stack where its declarations say, and, on request, put it
back. Plain values and the handler's own clients in, findings out; knows nothing of EventBridge.

One source of truth, the record on the pool (declarations.py), read with CloudFormation's list of this
stack's retention resources (own_stack.py). The rule, for one pool:
- own = the highest of this stack's live declarations of the pool: its key and its anchor name this stack,
  and its logical id is a current retention resource of this stack whose physical id is the pool's ARN
  (a stale declaration of a removed resource, or one forged with the tag API, does not count);
- floor = the highest declaration on the record of any stack (another stack's live declaration may hold
  the pool above own: after a rollback a pool is at the higher of the two, as decision.plan_apply sets it);
- pool < own: drift "below" (with `enforce`, raised to own);
  own <= pool <= floor: in sync (a declaration on the record explains the value);
  pool > floor: drift "above" (alarmed; with `allow_lowering` lowered to floor, never below any
  declaration on the record).

Against a deployment: the pool is read before its record (the handler writes the record before changing
the value, so the record read second is at least as new as the value: a race errs towards raising, never
lowering); a pool that is not ACTIVE is being changed and is left unreported; the stack's status is read
again right before a change; a change is made once, and its outcome reported, never applied again.
What the guard never does: recreate a deleted pool, touch the record, or write to a pool that is not one
of its stack's retention resources' physical ids.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass, replace

from declarations import DamagedRecord, Declaration, read_record
from errors import AccessDenied, PoolNotFound, RetentionError
from pacing import Pacing
from pool_api import PoolApi, retention_of
from settling import BUSY_STATUSES, wait_until_settled

logger = logging.getLogger(__name__)

UNREADABLE = (
    "deleted outside CloudFormation, or its kvs-pool-retention record no longer names this stack (the guard "
    "may read only pools whose record does); the guard recreates nothing"
)
NOT_CHECKED = "not checked: "  # a pool the sweep could not read, within its budget
UNRECORDED = (
    "its record holds no declaration of this stack's resource naming it (removed outside CloudFormation?)"
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
    """One pool of this stack, as the guard found it (and left it)."""

    pool: str  # its ARN
    declared: int | None = None  # own: the highest live declaration of this stack
    floor: int | None = None  # the highest declaration on the record, of any stack
    actual: int | None = None  # the retention it holds now (after a put-back)
    found: int | None = None  # the retention it held when read, when the guard changed it
    deleted: bool = False
    busy: str = ""  # its status when being changed (CREATING, UPDATING): nothing is said of it
    problem: str = ""  # could not be read or put back: said in the WARNING line

    @property
    def direction(self) -> str | None:
        """Where the pool stands: "below" own, "above" floor, or None (in sync, or not compared)."""
        if self.actual is None or self.declared is None:
            return None
        if self.actual < self.declared:
            return "below"
        if self.floor is not None and self.actual > self.floor:
            return "above"
        return None

    @property
    def drift(self) -> int:
        """The gauge: 1 while the pool is not where its declarations say (deleted, unreadable, below or
        above), and for the event that found it below and put it back (media may have been lost)."""
        if self.deleted or self.problem or self.direction is not None:
            return 1
        return int(self.found is not None and self.declared is not None and self.found < self.declared)


def counts_for_this_stack(
    declaration: Declaration, settings: GuardSettings, logical_ids: frozenset[str]
) -> bool:
    """A live declaration of this stack: its anchor names this stack (0.2.0's slots name it in full) and
    its logical id is one of the stack's current retention resources naming the pool."""
    resource = declaration.resource
    return (
        resource.stack_id == settings.stack_id
        and resource.logical_id in logical_ids
        and (declaration.legacy or declaration.stack_key == settings.stack_key)
    )


def declared_range(
    tags: dict[str, str], settings: GuardSettings, logical_ids: frozenset[str]
) -> tuple[int | None, int | None]:
    """(own, floor) from the pool's tags (the rule at the top). Raises DamagedRecord."""
    every: list[int] = []
    own: list[int] = []
    for declaration in read_record(tags).declarations:
        if declaration.hours is None:  # 0.2.0's successor recorded none: it states no value
            continue
        every.append(declaration.hours)
        if counts_for_this_stack(declaration, settings, logical_ids):
            own.append(declaration.hours)
    return max(own, default=None), max(every, default=None)


def check_pool(
    api: PoolApi,
    arn: str,
    settings: GuardSettings,
    logical_ids: frozenset[str],
    ensure_idle: Callable[[], None],
) -> Finding:
    """Read the pool (left alone unless ACTIVE), then its record; put it back when enforcing and allowed.
    `logical_ids`: the stack's retention resources naming the pool; `ensure_idle` raises when a
    deployment began."""
    try:
        pool = api.describe(arn)
    except PoolNotFound:
        return Finding(arn, deleted=True)
    except AccessDenied:
        # The role reads only pools whose anchor names this stack, and this stack's resource names this
        # one: it is gone (IAM cannot find the tag of a deleted pool) or its record was removed out of band.
        return Finding(arn, deleted=True, problem=UNREADABLE)
    status = str(pool.get("PoolStatus", ""))
    if status in BUSY_STATUSES:
        logger.info("pool %s is %s: being changed, left to its own event or the next sweep", arn, status)
        return Finding(arn, busy=status)
    if status != "ACTIVE":
        return Finding(arn, problem=f"it is {status}: its retention cannot be managed")
    actual = retention_of(pool)
    try:
        own, floor = declared_range(api.tags(arn), settings, logical_ids)
    except PoolNotFound:
        return Finding(arn, deleted=True)
    except AccessDenied:
        return Finding(arn, deleted=True, problem=UNREADABLE)
    except DamagedRecord as damage:
        return Finding(arn, actual=actual, problem=f"its kvs-pool-retention record is damaged ({damage})")
    if own is None:
        return Finding(arn, actual=actual, problem=UNRECORDED)
    finding = Finding(arn, own, floor, actual)
    if finding.direction == "below":
        target: int | None = own
    elif finding.direction == "above" and settings.allow_lowering:
        target = floor
    else:
        target = None
    if not settings.enforce or target is None:
        return finding
    ensure_idle()
    return put_back(api, finding, target, settings)


def put_back(api: PoolApi, finding: Finding, target: int, settings: GuardSettings) -> Finding:
    """One update, settle, report: never applied again, so the guard cannot fight a deployment or another
    writer in a loop (the next event or sweep compares again)."""
    arn = finding.pool
    try:
        if not api.update(arn, target):
            return replace(finding, problem=f"busy with another change: not put back to {target} h")
        pool = wait_until_settled(api, arn, just_updated=True)
    except RetentionError as error:
        return replace(finding, problem=f"could not put it back to {target} h: {error}")
    holds = retention_of(pool)
    logger.warning(
        "retention guard: pool %s was at %s h, stack %s declares %s h: %s it back to %s h",
        arn,
        finding.actual,
        settings.stack_name,
        finding.declared,
        "lowered" if finding.direction == "above" else "raised",
        target,
    )
    settled = replace(finding, actual=holds, found=finding.actual)
    if holds != target:
        return replace(
            settled, problem=f"settled at {holds} h, not the {target} h put back: another writer changed it"
        )
    return settled


def report(finding: Finding, settings: GuardSettings) -> None:
    """The WARNING line of a pool that is not where its declarations say: the pool, its values, the stack."""
    if not finding.drift or (finding.found is not None and not finding.problem):
        return  # nothing wrong, or put back (put_back said so)
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
        declared = "" if finding.declared is None else f" at {finding.declared} h"
        logger.warning(
            "retention guard: pool %s, declared%s by stack %s: %s",
            finding.pool,
            declared,
            settings.stack_name,
            finding.problem,
        )
    else:
        if not settings.enforce:
            outcome = "not enforcing: left as it is"
        else:
            outcome = "above: lowered only with allow_lowering, left as it is"
        logger.warning(
            "retention guard: pool %s holds %s h, stack %s declares %s h (%s its declarations, the highest "
            "on its record %s h; %s)",
            finding.pool,
            finding.actual,
            settings.stack_name,
            finding.declared,
            finding.direction,
            finding.floor,
            outcome,
        )
