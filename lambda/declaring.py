"""Carrying out a declaration's Create, Update or Delete on its pool, in an order that is safe to stop after
any single call: record before change, change before forget.

Create or Update (`declare`), k = 6 requests on a pool nothing declares yet (4 when it already holds the
value): list its tags; read the pool; write this declaration (and the original, if none is recorded);
list again, so that two deployments declaring the pool differently at the same time see each other and
neither succeeds alone; read the pool again if another declaration was listed (its Delete may be putting
the pool back meanwhile); ask CloudFormation whether each differing declaration is live (decision.py);
update and read until settled; forget the declarations found gone. Stopped after the write, the record
names a declaration whose resource CloudFormation will delete or roll back, which its Delete withdraws.

Delete (`withdraw`): list the tags; ask CloudFormation whether its own resource is still there (a late or
repeated Delete does nothing) and whether every other declaration is live; read the pool; set the
value the decision gives; then forget this declaration (the whole record if it was the last). Stopped
before the forget, the declaration stays and its next Delete, or any later reader finding it gone, acts
again with the same outcome. A Delete never fails for trouble with the pool: what it could not put back
is logged at WARNING with the value to set by hand, and the answer is SUCCESS, since a failed Delete
blocks a stack's deletion or rollback and puts nothing back either.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, replace
from typing import Any

from decision import Known, Liveness, holding_arrivals, leaving, plan_apply, plan_release, without_refused
from declarations import (
    DamagedRecord,
    Declaration,
    Record,
    Resource,
    declaration_tags,
    forget_keys,
    read_record,
)
from errors import (
    AccessDenied,
    DeclarationConflict,
    InvalidRecord,
    InvalidRequest,
    PoolNotFound,
    RetentionError,
    StaleEvent,
)
from pool_api import PoolApi, retention_of
from retention_rules import ORIGINAL_TAG, TAG_PREFIX
from settling import set_retention, wait_until_settled
from stack_api import StackApi

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class Declared:
    """What the event's resource declares, as the handler parsed it."""

    resource: Resource
    pool_identifier: str
    hours: int
    restores: bool
    stack_key: str
    creating: bool = False  # a Create: a declaration of this resource already on the pool is not its own
    pool_arn: str = ""  # the pool's ARN when known without reading the pool (the function's account)


def declare(pools: PoolApi, stacks: StackApi, declared: Declared) -> dict[str, Any]:
    """Create and Update alike: bring the pool to the declared retention; return it settled."""
    identifier = declared.pool_identifier
    # A Create or Update delivered again after CloudFormation moved on (a duplicate, a retry after a rollback
    # already undid it) must not act: only a resource CloudFormation is creating or updating may.
    status = stacks.resource_status(declared.resource)
    if status is not None and (not status.endswith("_IN_PROGRESS") or status.startswith("DELETE")):
        raise StaleEvent(
            f"This event is for {declared.resource}, which CloudFormation reports as "
            f"{'not in the stack' if status == 'GONE' else status}: it was delivered again after "
            "CloudFormation moved on, and nothing was changed."
        )
    # The record before the pool: a Delete changes the pool before it forgets its declaration, so what the
    # read after the list shows is at least as new as every change of a Delete the list no longer shows.
    # (Read first, a Delete that changed the pool and forgot itself in between would go unseen.)
    arn = declared.pool_arn or str(wait_until_settled(pools, identifier)["PoolArn"])
    tags = pools.tags(arn, named=identifier)
    record = _readable(tags, identifier)
    pool = wait_until_settled(pools, identifier)
    arn = str(pool["PoolArn"])
    current = retention_of(pool)
    # A Delete of a declaration the list still shows may change the pool after that read: read again once
    # this declaration is written and listed (below), which that Delete's own list, after its change, sees.
    delete_may_run = any(d.resource != declared.resource for d in record.declarations)
    # Declarations under this stack's anchor key by an earlier stack of the same name (deleted and created
    # again, its Deletes unable to forget them): asked now, while the anchor still names that stack, since
    # this write replaces it and would leave them unnamed.
    superseded = {
        d.tag
        for d in record.declarations
        if d.stack_key == declared.stack_key
        and d.resource.stack_id not in ("", declared.resource.stack_id)
        and stacks.liveness(d, str(pool["PoolArn"])).liveness is Liveness.GONE
    }
    mine = record.of(declared.resource)

    def prior_at(found: int) -> int:
        """The value this resource's rollback puts back, the pool holding `found` before this event."""
        if mine is None or mine.prior is None:
            return found
        # An Update keeps the value before the resource's Create. A Create meeting a declaration of its own
        # resource is a repeated delivery, or a resource added again after a Delete that could not forget
        # it: its prior is stale, so the rollback of this Create never puts back less than it found.
        return max(mine.prior, found) if declared.creating else mine.prior

    this = Declaration(
        declared.resource, declared.hours, declared.restores, prior_at(current), declared.stack_key
    )
    try:
        writes = declaration_tags(this)
    except ValueError as error:
        raise InvalidRequest(f"Could not record pool {identifier}'s declaration: {error}.") from None
    if record.original is None:
        writes[ORIGINAL_TAG] = str(current)
    # A rollback restating what is recorded: the failed Update changed nothing here (it was refused, or
    # never recorded), so the pool's value is another writer's, and it is left.
    restated = mine == this and not declared.creating and current != this.hours
    if restated and stacks.rolling_back(declared.resource.stack_id):
        logger.info("pool %s: rollback of an Update that changed nothing here, left at %s h", arn, current)
        return pool
    if any(tags.get(key) != value for key, value in writes.items()):
        try:
            pools.tag(arn, writes)
        except InvalidRequest as refused:  # the pool's tag limit, most likely: nothing was changed yet
            raise InvalidRequest(
                f"Could not record the declaration on pool {identifier} (kept in tags on the pool): free a "
                f"tag on the pool. Its retention was left as it is ({refused})"
            ) from None
        listed = pools.tags(arn)
        record = _readable(listed, identifier)
        if delete_may_run or _ours(listed) != _ours({**tags, **writes}):
            # Someone else may have changed the pool since it was read: a Delete that ran meanwhile may have
            # put it back. (A Delete still running lists again after its change, and sees this declaration.)
            pool = wait_until_settled(pools, identifier)
            # (At this declaration's own hours, a Delete may have raised it for this declaration, recording
            # its prior itself: kept.)
            if prior_at(retention_of(pool)) != this.prior and retention_of(pool) != this.hours:
                # The rollback must put back what the pool held before this event, not what that Delete
                # replaced: the declaration is recorded again with the value read now.
                this = replace(this, prior=prior_at(retention_of(pool)))
                pools.tag(arn, declaration_tags(this))
    others = [d for d in record.others(declared.resource)]
    # Only declarations of other stacks at another retention can stand in the way: their liveness is asked;
    # the rest are kept as they are (a Delete checks them all).
    known = [
        Known(d, Liveness.GONE)
        if d.tag in superseded
        else stacks.liveness(d, arn)
        if d.hours is not None and d.hours != this.hours and d.resource.stack_id != this.resource.stack_id
        else Known(d, Liveness.LIVE)
        for d in others
    ]
    plan = plan_apply(identifier, this, known, rollback=False)
    if plan.refusal is not None and stacks.rolling_back(declared.resource.stack_id):
        plan = plan_apply(identifier, this, known, rollback=True)  # a rollback's Update is never refused
    if plan.refusal is not None:
        _take_back(pools, arn, tags, writes)
        raise DeclarationConflict(plan.refusal)
    if plan.hours != this.hours:
        logger.warning(
            "pool %s: rolled back to %s h, not the %s h this resource declares: another stack's live "
            "declaration holds it there",
            identifier,
            plan.hours,
            this.hours,
        )
    settled = set_retention(pools, identifier, plan.hours, pool)
    # This resource's 0.2.0 slots, now that its declaration is recorded anew, and declarations found gone.
    stale = [*plan.forget, *(d for d in record.declarations if d.legacy and d.resource == declared.resource)]
    try:
        pools.untag(arn, forget_keys(record, stale, everything=False))
    except RetentionError as error:  # the pool holds its value; stale tags are found gone again later
        logger.warning("pool %s: could not forget declarations found gone: %s", arn, error)
    return settled


def _ours(tags: dict[str, str]) -> dict[str, str]:
    return {key: value for key, value in tags.items() if key.startswith(TAG_PREFIX)}


def _take_back(pools: PoolApi, arn: str, before: dict[str, str], writes: dict[str, str]) -> None:
    """A refused declaration is taken back, so that nobody meanwhile reads a value nothing will apply. Best
    effort: the Delete or rollback Update that follows the FAILED answer withdraws it anyway."""
    restore = {key: before[key] for key in writes if key in before and before[key] != writes[key]}
    # Never the original: another stack's declaration may have recorded it meanwhile.
    added = [key for key in writes if key not in before and key != ORIGINAL_TAG]
    try:
        if restore:
            pools.tag(arn, restore)
        pools.untag(arn, added)
    except RetentionError as error:
        logger.warning("pool %s: the refused declaration stays recorded until its Delete: %s", arn, error)


def _readable(tags: dict[str, str], identifier: str) -> Record:
    try:
        return read_record(tags)
    except DamagedRecord as damage:
        raise InvalidRecord(
            f"Pool {identifier} carries a damaged kvs-pool-retention record ({damage}): correct or remove "
            "that tag, then redeploy."
        ) from None


def withdraw(
    pools: PoolApi, stacks: StackApi, resource: Resource, pool_arn: str, *, restores: bool, hours: int | None
) -> str:
    """A Delete: withdraw `resource`'s declaration from the pool. Says what it did, in one line.

    `restores` and `hours` are the event's properties, used only for a resource that recorded nothing
    (one a 0.1.0 record, with its original but no declarations, belongs to).
    """
    try:
        record = read_record(pools.tags(pool_arn))
    except PoolNotFound:
        return f"pool {pool_arn} no longer exists: nothing to do"
    except AccessDenied:
        # After the update phase the role reaches only pools whose record names this stack: none does here.
        return f"pool {pool_arn}: no declaration of this stack is recorded on it, nothing to do"
    except DamagedRecord as damage:
        return _left(pool_arn, f"its record is damaged ({damage}); set it by hand")
    except RetentionError as error:
        return _left(pool_arn, f"its record could not be read: {error}")
    this = record.of(resource) or record.legacy_of(resource)
    leftovers = [d for d in record.declarations if d.legacy and d.resource == resource and d != this]
    adopted = this is None and restores and record.original is not None and not record.declarations
    if adopted:
        this = Declaration(resource, hours, True, record.original)  # 0.1.0's record
    if this is None and not record.declarations:
        return f"pool {pool_arn}: nothing recorded on it by this resource or any other, left as it is"
    if this is not None and stacks.still_declares(resource, pool_arn):
        # CloudFormation marks a resource DELETE_IN_PROGRESS before its Delete, and a replaced one has
        # another physical id: this Delete arrived again after the resource was added back (same logical id).
        return (
            f"pool {pool_arn}: CloudFormation reports {resource} present with this pool, so this Delete is a "
            "late or repeated delivery: nothing done"
        )
    others = [stacks.liveness(d, pool_arn) for d in record.others(resource)]
    applying = {k.declaration.resource.stack_id for k in others if k.being_applied}
    rolling_back = frozenset(stack for stack in applying if stacks.rolling_back(stack))
    others = without_refused(pool_arn, others, this, rolling_back)
    rollback = False
    if this is not None:
        answer = stacks.rolling_back(resource.stack_id)
        if answer is None:
            logger.warning(
                "pool %s: could not tell whether this Delete rolls back a failed deployment; if it does, "
                "set the pool to %s h by hand",
                pool_arn,
                this.prior,
            )
        rollback = bool(answer)
        if rollback and adopted:
            # A rollback's Delete undoes a Create of this deployment, never 0.1.0's: a lone original is
            # another resource's (one whose Delete found every declaration gone), not this one's to restore.
            this = None
    try:
        pool = wait_until_settled(pools, pool_arn)
        plan = plan_release(
            pool_arn,
            resource,
            this,
            others,
            current=retention_of(pool),
            original=record.original,
            rollback=rollback,
        )
        if plan.warning:
            logger.warning(plan.warning)
        everything = plan.forget_record
        if plan.hours is not None:
            settled = set_retention(pools, pool_arn, plan.hours, pool)
            # A declaration written or changed since the record was read (a Create or Update running now)
            # holds the pool too. (0.2.0 slots are never new: a Create writes only declaration tags.)
            arrived = [
                d
                for d in read_record(pools.tags(pool_arn)).declarations
                if not d.legacy and d.resource != resource and d not in record.declarations
            ]
            if arrived:
                everything = False
                _raise_for(pools, pool_arn, arrived, record, [*others, *leaving(this)], plan.hours, settled)
    except PoolNotFound:
        return f"pool {pool_arn} no longer exists: nothing to do"
    except (RetentionError, DamagedRecord) as error:
        return _left(pool_arn, f"{error} Its record states the original {record.original} h")
    try:
        pools.untag(pool_arn, forget_keys(record, [*plan.forget, *leftovers], everything=everything))
        if not everything and any(k.liveness is Liveness.LEAVING for k in others):
            # Deleted together with another stack's declaration, each forgets only its own: the last to
            # finish removes the record once no declaration is left.
            remaining = pools.tags(pool_arn)
            if not read_record(remaining).declarations:
                pools.untag(pool_arn, sorted(key for key in remaining if key.startswith(TAG_PREFIX)))
    except (RetentionError, DamagedRecord) as error:
        logger.warning(
            "pool %s: %s, but its declaration could not be removed (%s); a later event finds it gone",
            pool_arn,
            plan.why,
            error,
        )
    return f"pool {pool_arn}: {plan.why}"


def _raise_for(
    pools: PoolApi,
    pool_arn: str,
    arrived: list[Declaration],
    record: Record,
    known: list[Known],
    hours: int,
    settled: dict[str, Any],
) -> None:
    """Raise the pool a Delete just set to `hours` to the declarations that arrived meanwhile and hold it."""
    holding = holding_arrivals(pool_arn, arrived, known)
    higher = max((d.hours or 0 for d in holding), default=0)
    if higher <= hours:
        return
    # A new declaration's rollback must put back the value this Delete set, not the one it replaced:
    # recorded before the pool is raised for it. (Its Create, reading the raised value, keeps this one.)
    for declaration in holding:
        if declaration.tag not in record.keys and declaration.resource.stack_id:
            pools.tag(pool_arn, declaration_tags(replace(declaration, prior=hours)))
    set_retention(pools, pool_arn, higher, settled)


def _left(pool_arn: str, why: str) -> str:
    """Say, at WARNING, that the pool was left as it is and why: the value to set by hand is in `why`."""
    message = f"pool {pool_arn} NOT put back: {why.rstrip('.')}. Left as it is."
    logger.warning(message)
    return message
