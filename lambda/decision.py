"""What a Create, Update or Delete does to a pool: a pure function of the pool's record, the liveness of each
declaration in it, the pool's current and original retention, and the resource the event is for.

The invariant it keeps: wherever no deployment is in flight, a pool's retention is at least every live
declaration of it, and no Delete sets a pool to a value that neither a live declaration, nor the original
or prior value it must return to, states. So:

- A Create or Update refuses, before changing the pool, to set a value another live declaration (in
  another stack) holds differently. Declarations of the same stack never conflict: synth refuses two in one
  template, so another one of this stack is the old resource of a rename, about to be deleted. A rollback's
  Update is never refused: refusing it would leave the stack in UPDATE_ROLLBACK_FAILED and put nothing back.
- A Delete never leaves the pool below a live declaration. If the pool no longer holds what the leaving
  resource declared, another writer set it: that is someone's decision, and the Delete leaves it.
  Otherwise a rollback's Delete, or one with restore_on_delete, brings the pool to what the remaining live
  declarations state; the last declaration to leave puts back the value before its own Create (a
  rollback) or the original (restore_on_delete); a plain Delete leaves the pool.
- Who restores the original when a restoring declaration leaves first and a plain one last: the last one
  to leave decides, by its own restore_on_delete. The remaining declaration holds the pool; its user did
  not ask for the original back.

Liveness is CloudFormation's answer (stack_api): a declaration whose resource is being deleted (LEAVING)
holds the pool against a Create or Update that would lower it (should that deletion fail, the resource
stays), not against one that raises it, and not against another Delete: two stacks deleted together must
not both leave the pool changed. UNKNOWN never counts as gone: a Delete that would
lower the pool while a declaration's liveness is unknown leaves it and says what to set by hand.
Standard library only.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from enum import Enum

from declarations import Declaration, Resource
from retention_rules import DECLARATION_TAG_PREFIX, MAX_DECLARING_STACKS, MIN_RETENTION_HOURS


class Liveness(Enum):
    LIVE = (
        "live"  # the resource exists in its stack and names this pool (CREATE_IN_PROGRESS, DELETE_FAILED too)
    )
    LEAVING = "leaving"  # DELETE_IN_PROGRESS: CloudFormation has sent its Delete
    GONE = "gone"  # deleted, not in its stack, its stack deleted, or it now names another pool
    UNKNOWN = "unknown"  # could not be established: never taken for gone


@dataclass(frozen=True)
class Known:
    """A declaration and what CloudFormation says of its resource (`why`: for UNKNOWN, the reason)."""

    declaration: Declaration
    liveness: Liveness
    why: str = ""
    being_applied: bool = False  # LIVE, its resource being created or updated now


def describe(declaration: Declaration) -> str:
    resource = declaration.resource
    if not resource.stack_id:
        return (
            f"a stack this handler cannot name (stack key {declaration.stack_key}, "
            f"resource {resource.logical_id})"
        )
    return str(resource)


@dataclass(frozen=True)
class ApplyPlan:
    hours: int
    refusal: str | None  # the Reason, when the pool must not be changed
    forget: tuple[Declaration, ...]  # declarations found gone, removed once the pool holds `hours`


def plan_apply(pool: str, this: Declaration, others: Sequence[Known], *, rollback: bool) -> ApplyPlan:
    """A Create or Update: set the pool to what `this` declares, unless another live declaration says
    otherwise. `others` is every other declaration on the pool (this resource's 0.2.0 slots excluded)."""
    assert this.hours is not None
    forget = tuple(k.declaration for k in others if k.liveness is Liveness.GONE)
    held = [k for k in others if k.liveness is not Liveness.GONE]
    stacks = {this.resource.stack_id} | {k.declaration.resource.stack_id for k in held}
    if len(stacks) > MAX_DECLARING_STACKS and not rollback:
        return ApplyPlan(
            this.hours,
            f"Pool {pool} is declared by {len(stacks) - 1} other stacks already; at most "
            f"{MAX_DECLARING_STACKS} stacks may declare one pool (its record is kept in its tags). Remove "
            "the declaration from a stack that does not need it, then deploy again.",
            forget,
        )
    if rollback:
        # Never refused, and never below another stack's declaration that came in meanwhile.
        above = [
            k.declaration.hours
            for k in held
            if k.declaration.hours and k.declaration.resource.stack_id != this.resource.stack_id
        ]
        return ApplyPlan(max([this.hours, *above]), None, forget)
    for known in held:
        other = known.declaration
        if other.hours is None or other.hours == this.hours:
            continue
        if other.resource.stack_id == this.resource.stack_id:
            continue
        if known.liveness is Liveness.LEAVING and other.hours < this.hours:
            # Its Delete, already sent, raises the pool to this declaration when it sees it (declaring.py):
            # refusing here would leave the pool raised for a declaration that was taken back.
            continue
        return ApplyPlan(this.hours, _conflict(pool, this, known), forget)
    return ApplyPlan(this.hours, None, forget)


def leaving(this: Declaration | None) -> list[Known]:
    """A Delete's own declaration, as the other declarations' events see it while it runs."""
    return [] if this is None or this.hours is None else [Known(this, Liveness.LEAVING)]


def without_refused(
    pool: str, others: list[Known], this: Declaration | None, rolling_back: frozenset[str]
) -> list[Known]:
    """For a Delete: a declaration whose Create or Update is running and will be refused, for a conflict
    with a declaration that is settled (not itself being applied), is about to be taken back, so it does
    not hold the pool: counted as leaving. A rollback's Update (its stack in `rolling_back`) is never
    refused."""
    settled = [k for k in others if not k.being_applied]
    kept = []
    for known in others:
        declaration = known.declaration
        if (
            known.being_applied
            and declaration.hours is not None
            and declaration.resource.stack_id not in rolling_back
        ):
            rest = [k for k in settled if k.declaration.resource != declaration.resource]
            if plan_apply(pool, declaration, [*rest, *leaving(this)], rollback=False).refusal:
                known = Known(declaration, Liveness.LEAVING, "its Create or Update will be refused")
        kept.append(known)
    return kept


def holding_arrivals(pool: str, arrived: Sequence[Declaration], known: Sequence[Known]) -> list[Declaration]:
    """For a Delete: which declarations written or changed while it ran hold the pool, each as its own
    Create or Update decides it: one it will refuse (a conflict) is taken back, and must not hold it."""
    return [
        d
        for d in arrived
        if d.hours is not None
        and plan_apply(
            pool, d, [k for k in known if k.declaration.resource != d.resource], rollback=False
        ).refusal
        is None
    ]


def _conflict(pool: str, this: Declaration, known: Known) -> str:
    other = known.declaration
    if known.liveness is Liveness.UNKNOWN:
        return (
            f"Pool {pool} may still be declared at {other.hours} h by {describe(other)}, whose existence "
            f"could not be checked ({known.why}); this resource declares {this.hours} h. Make sure that "
            "declaration is gone or declares the same retention (or remove its "
            f"{DECLARATION_TAG_PREFIX}* tag from the pool), then deploy again."
        )
    return (
        f"Pool {pool} is declared at {other.hours} h by {describe(other)}; this resource declares "
        f"{this.hours} h. A pool keeps one retention: declare the same retention in both stacks, or remove "
        "one declaration, then deploy again."
    )


@dataclass(frozen=True)
class ReleasePlan:
    hours: int | None  # the retention to set; None: the pool is left as it is
    forget: tuple[Declaration, ...]  # this resource's declaration and those found gone
    forget_record: bool  # the last declaration leaves: the whole record goes
    why: str  # one line for the log
    warning: str | None = None  # what could not be put back, with the value to set by hand


def plan_release(
    pool: str,
    resource: Resource,
    this: Declaration | None,
    others: Sequence[Known],
    *,
    current: int,
    original: int | None,
    rollback: bool,
) -> ReleasePlan:
    """A Delete: withdraw `this` (None when the resource recorded nothing on this pool)."""
    forget = tuple(k.declaration for k in others if k.liveness is Liveness.GONE)
    if this is not None:
        forget = (this, *forget)
    holding = [k for k in others if k.liveness in (Liveness.LIVE, Liveness.UNKNOWN)]
    live_hours = [k.declaration.hours for k in holding if k.liveness is Liveness.LIVE and k.declaration.hours]
    # A live declaration without usable hours (0.2.0's successor, or a hand-made 0) states no floor.
    unknown = [k for k in holding if k.liveness is Liveness.UNKNOWN or not k.declaration.hours]
    floor = max(live_hours) if live_hours else None
    last = not holding
    # One being deleted may yet fail: its tags stay until its own Delete removes them.
    leaving = any(k.liveness is Liveness.LEAVING for k in others)

    def plan(hours: int | None, why: str, warning: str | None = None) -> ReleasePlan:
        return ReleasePlan(
            None if hours == current else hours,
            forget,
            last and this is not None and not leaving,
            why,
            warning,
        )

    if this is None or this.hours is None:
        return plan(None, "this resource recorded no retention on the pool: left as it is")
    if current != this.hours:
        return plan(
            None,
            f"it holds {current} h, not the {this.hours} h this resource declared: another writer set it "
            "since, and its value is left",
        )
    if floor is not None and current < floor:
        return plan(floor, f"below the {floor} h a live declaration states: raised to it")
    restores = this.restores or rollback
    if not restores:
        return plan(None, "a Delete without restore_on_delete leaves the pool as it is")
    target, what = (
        (this.prior, "its value before this deployment") if rollback else (original, "its original")
    )
    if not last:
        if unknown:
            # Where the pool would go if the unchecked declarations were gone: the live floor, else `target`.
            hint = floor if floor is not None else target
            if hint == current:
                return plan(None, f"already at the {current} h it would be put back to")
            value = f"{hint} h" if hint is not None and hint >= MIN_RETENTION_HOURS else what
            return plan(
                None,
                "left as it is",
                f"pool {pool} NOT put back: whether {describe(unknown[0].declaration)} still declares it "
                f"could not be checked ({unknown[0].why or 'no retention recorded'}); if it does not, set "
                f"the pool to {value} by hand",
            )
        assert floor is not None
        return plan(floor, f"back to the {floor} h the remaining declarations state")
    if target is None or target < MIN_RETENTION_HOURS:
        return plan(
            None,
            "left as it is",
            f"pool {pool} NOT put back to {what} ({target if target is not None else 'unknown'} h): "
            f"retention updates need {MIN_RETENTION_HOURS} h or more; set it by hand if needed",
        )
    return plan(target, f"back to {what}, {target} h")
