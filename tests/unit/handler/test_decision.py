"""What a Create, Update or Delete does to a pool: declarations and their liveness in, a plan out.

The pool is `meeting-audio`, originally 24 h; stacks S, T and U declare it (issue 22's table, at the level
of the decision: each row's event is one call here, with the liveness CloudFormation would report).
"""

from __future__ import annotations

import pytest
from decision import ApplyPlan, Known, Liveness, ReleasePlan, plan_apply, plan_release
from declarations import Declaration, Resource
from hypothesis import given, settings
from hypothesis import strategies as st
from retention_rules import MAX_DECLARING_STACKS, MIN_RETENTION_HOURS

# The profile's example count is the randomized model's number of sequences (tests/conftest.py): a plan is
# one pure call, and a sixth of that covers its small domain (1 000 examples in `make test`, 3 333 in
# `make test-long`).
PROPERTY = settings(max_examples=settings.default.max_examples // 6)

POOL = "meeting-audio"
ORIGINAL = 24


def stack_id(name: str) -> str:
    return f"arn:aws:cloudformation:us-east-1:111122223333:stack/{name}/0f1e2d3c-{name.lower():0>4}"


S, T, U = stack_id("S"), stack_id("T"), stack_id("U")
KEYS = {S: "5" * 16, T: "7" * 16, U: "9" * 16}

LIVE, LEAVING, GONE, UNKNOWN = Liveness.LIVE, Liveness.LEAVING, Liveness.GONE, Liveness.UNKNOWN
HOLDING = [LIVE, LEAVING, UNKNOWN]


def declared(
    stack: str, logical: str, hours: int | None, *, restores: bool = False, prior: int | None = ORIGINAL
) -> Declaration:
    return Declaration(Resource(stack, logical), hours, restores, prior, KEYS.get(stack, "0" * 16))


def known(declaration: Declaration, liveness: Liveness = LIVE, why: str = "") -> Known:
    if liveness is UNKNOWN and not why:
        why = "cloudformation:DescribeStackResource denied"
    return Known(declaration, liveness, why)


def apply(this: Declaration, *others: Known, rollback: bool = False) -> ApplyPlan:
    return plan_apply(POOL, this, others, rollback=rollback)


def release(
    this: Declaration | None,
    *others: Known,
    current: int,
    original: int | None = ORIGINAL,
    rollback: bool = False,
    resource: Resource | None = None,
) -> ReleasePlan:
    if resource is None:
        assert this is not None
        resource = this.resource
    return plan_release(POOL, resource, this, others, current=current, original=original, rollback=rollback)


def ending(plan: ReleasePlan, current: int) -> int:
    """The pool's retention once the plan is carried out."""
    return current if plan.hours is None else plan.hours


# --- Create and Update: plan_apply -----------------------------------------------------------------------


def test_a_pool_nothing_else_declares_is_set_to_the_declared_hours():
    plan = apply(declared(S, "Meeting", 48))

    assert plan == ApplyPlan(48, None, ())


@pytest.mark.parametrize("liveness", [LIVE, LEAVING], ids=["live", "leaving"])
def test_another_stacks_declaration_at_other_hours_is_refused_naming_it(liveness):
    """Row 4 of the table, refused at deploy time: T's 12 h under S's live 48 h."""
    plan = apply(declared(T, "Audio", 12), known(declared(S, "Meeting", 48, restores=True), liveness))

    assert plan.refusal == (
        "Pool meeting-audio is declared at 48 h by stack S (resource Meeting); this resource declares 12 h. "
        "A pool keeps one retention: declare the same retention in both stacks, or remove one declaration, "
        "then deploy again."
    )


def test_a_leaving_declaration_does_not_hold_the_pool_against_a_create_that_raises_it():
    """S's Delete, already sent, raises the pool to T's declaration when it sees it: refusing T would leave
    the pool raised for a declaration taken back."""
    plan = apply(declared(T, "Audio", 72), known(declared(S, "Meeting", 48, restores=True), LEAVING))

    assert plan == ApplyPlan(72, None, ())


def test_a_declaration_whose_liveness_is_unknown_is_refused_saying_what_could_not_be_checked():
    plan = apply(
        declared(T, "Audio", 72),
        known(declared(S, "Meeting", 48), UNKNOWN, "cloudformation:DescribeStackResource denied"),
    )

    assert plan.refusal is not None
    assert plan.refusal.startswith(
        "Pool meeting-audio may still be declared at 48 h by stack S (resource Meeting), whose existence "
        "could not be checked (cloudformation:DescribeStackResource denied); this resource declares 72 h."
    )
    assert "kvs-pool-retention:declaration-*" in plan.refusal
    assert plan.refusal.endswith("then deploy again.")


def test_a_declaration_of_a_stack_that_cannot_be_named_is_refused_with_its_stack_key_and_resource():
    unnamed = Declaration(Resource("", "Meeting"), 48, False, ORIGINAL, "abcdef0123456789")

    plan = apply(declared(T, "Audio", 72), known(unnamed, UNKNOWN, "its stack's anchor tag is missing"))

    assert plan.refusal is not None
    assert "a stack this handler cannot name (stack key abcdef0123456789, resource Meeting)" in plan.refusal


@pytest.mark.parametrize("liveness", HOLDING, ids=lambda liveness: liveness.value)
def test_equal_declarations_of_two_stacks_coexist(liveness):
    """A move between stacks: the new stack declares what the old one does."""
    plan = apply(declared(T, "Meeting", 48), known(declared(S, "Meeting", 48), liveness))

    assert plan.refusal is None
    assert plan.hours == 48


@pytest.mark.parametrize("liveness", HOLDING, ids=lambda liveness: liveness.value)
def test_a_rename_with_new_hours_never_conflicts_with_its_own_stacks_old_resource(liveness):
    """A rename creates the new resource before CloudFormation deletes the old one."""
    plan = apply(declared(S, "MeetingRenamed", 72), known(declared(S, "Meeting", 48), liveness))

    assert plan.refusal is None
    assert plan.hours == 72


@pytest.mark.parametrize("liveness", HOLDING, ids=lambda liveness: liveness.value)
def test_a_rollbacks_update_is_never_refused_nor_set_below_another_stacks_declaration(liveness):
    """Refusing it would leave the stack in UPDATE_ROLLBACK_FAILED and put nothing back; the other stack's
    declaration came in meanwhile and holds the pool at its value."""
    plan = apply(declared(T, "Audio", 12), known(declared(S, "Meeting", 48), liveness), rollback=True)

    assert plan == ApplyPlan(48, None, ())


def test_a_rollbacks_update_above_another_stacks_declaration_sets_its_own():
    plan = apply(declared(T, "Audio", 72), known(declared(S, "Meeting", 48)), rollback=True)

    assert plan == ApplyPlan(72, None, ())


def test_a_0_2_0_successor_recording_no_hours_does_not_conflict():
    successor = Declaration(Resource(S, "Meeting"), None, True, None, legacy_slot=("successor",))

    assert apply(declared(T, "Audio", 72), known(successor)).refusal is None


def test_gone_declarations_neither_conflict_nor_stay_recorded():
    gone = declared(S, "Meeting", 48)
    live = declared(U, "Video", 72)

    plan = apply(declared(T, "Audio", 72), known(gone, GONE), known(live))

    assert plan == ApplyPlan(72, None, (gone,))


def other_stacks(count: int, liveness: Liveness = LIVE) -> list[Known]:
    return [known(declared(stack_id(f"Other{n}"), "Meeting", 48), liveness) for n in range(count)]


def test_as_many_declaring_stacks_as_supported_are_accepted():
    plan = apply(declared(S, "Meeting", 48), *other_stacks(MAX_DECLARING_STACKS - 1))

    assert plan.refusal is None


def test_one_declaring_stack_more_than_supported_is_refused_with_the_limit():
    plan = apply(declared(S, "Meeting", 48), *other_stacks(MAX_DECLARING_STACKS))

    assert plan.refusal == (
        f"Pool meeting-audio is declared by {MAX_DECLARING_STACKS} other stacks already; at most "
        f"{MAX_DECLARING_STACKS} stacks may declare one pool (its record is kept in its tags). Remove the "
        "declaration from a stack that does not need it, then deploy again."
    )


def test_a_stack_already_declaring_the_pool_may_update_it_at_the_limit():
    others = [*other_stacks(MAX_DECLARING_STACKS - 1), known(declared(S, "Meeting", 48))]

    assert apply(declared(S, "MeetingRenamed", 48), *others).refusal is None


def test_gone_stacks_do_not_count_toward_the_limit():
    others = [*other_stacks(MAX_DECLARING_STACKS - 1), *other_stacks(5, GONE)]

    assert apply(declared(S, "Meeting", 48), *others).refusal is None


def test_a_rollback_is_not_refused_beyond_the_limit():
    plan = apply(declared(S, "Meeting", 48), *other_stacks(MAX_DECLARING_STACKS), rollback=True)

    assert plan.refusal is None


# --- Delete: plan_release --------------------------------------------------------------------------------


@pytest.mark.parametrize("rollback", [False, True], ids=["removal", "rollback"])
@pytest.mark.parametrize("restores", [False, True], ids=["plain", "restore_on_delete"])
@pytest.mark.parametrize("current", [100, 6], ids=["set-higher", "set-lower"])
def test_a_value_another_writer_set_is_left(current, restores, rollback):
    """Row 3: S 48, T 72, a person sets 100 h; no Delete restores over the person's value."""
    this = declared(T, "Audio", 72, restores=restores)

    plan = release(this, known(declared(S, "Meeting", 48)), current=current, rollback=rollback)

    assert plan.hours is None
    assert f"it holds {current} h, not the 72 h this resource declared: another writer set it" in plan.why


@pytest.mark.parametrize("rollback", [False, True], ids=["removal", "rollback"])
@pytest.mark.parametrize("restores", [False, True], ids=["plain", "restore_on_delete"])
def test_a_pool_left_below_a_live_declaration_is_raised_to_it(restores, rollback):
    """Row 4: T's plain 12 h (a rollback's Update was never refused) leaves; S still declares 48 h."""
    this = declared(T, "Audio", 12, restores=restores)

    plan = release(this, known(declared(S, "Meeting", 48, restores=True)), current=12, rollback=rollback)

    assert plan.hours == 48
    assert plan.forget_record is False


def test_a_pool_is_raised_to_the_highest_live_declaration_even_when_another_is_unknown():
    this = declared(T, "Audio", 12)
    others = [
        known(declared(S, "Meeting", 48)),
        known(declared(U, "Video", 36)),
        known(declared(U, "X", 1), UNKNOWN),
    ]

    assert release(this, *others, current=12).hours == 48


def test_a_rollback_with_other_live_declarations_brings_the_pool_to_theirs():
    """T's failed Update had set 72 h; S declares 48 h."""
    plan = release(
        declared(T, "Audio", 72, prior=48), known(declared(S, "Meeting", 48)), current=72, rollback=True
    )

    assert plan.hours == 48


def test_a_rollback_of_the_last_declaration_puts_back_the_value_before_its_create():
    """Row 5: T's first deployment declares 12 h on a pool at 30 h and fails."""
    plan = release(declared(T, "Audio", 12, prior=30), current=12, original=ORIGINAL, rollback=True)

    assert plan.hours == 30
    assert plan.why == "back to its value before this deployment, 30 h"
    assert plan.forget_record is True


def test_the_last_restoring_declaration_puts_back_the_original():
    plan = release(declared(S, "Meeting", 48, restores=True, prior=30), current=48)

    assert plan.hours == ORIGINAL
    assert plan.why == "back to its original, 24 h"
    assert plan.forget_record is True


def test_the_last_plain_declaration_leaves_the_pool_and_forgets_the_record():
    this = declared(S, "Meeting", 48)

    plan = release(this, current=48)

    assert plan == ReleasePlan(
        None, (this,), True, "a Delete without restore_on_delete leaves the pool as it is"
    )


def test_a_restoring_declaration_that_is_not_last_brings_the_pool_to_the_highest_remaining_one():
    """Who restores the original: the last to leave. Until then, the remaining declarations hold the pool."""
    others = [known(declared(T, "Audio", 48)), known(declared(U, "Video", 36))]

    plan = release(declared(S, "Meeting", 72, restores=True), *others, current=72)

    assert plan.hours == 48
    assert plan.forget_record is False


def test_a_plain_declaration_that_is_not_last_leaves_the_pool_at_its_value():
    plan = release(declared(S, "Meeting", 72), known(declared(T, "Audio", 48)), current=72)

    assert plan.hours is None
    assert plan.warning is None


def test_a_restore_already_at_the_remaining_declarations_value_changes_nothing():
    plan = release(declared(S, "Meeting", 48, restores=True), known(declared(T, "Audio", 48)), current=48)

    assert plan.hours is None
    assert plan.warning is None


def test_a_restore_to_the_value_the_pool_already_holds_makes_no_change():
    plan = release(declared(S, "Meeting", 48, restores=True), current=48, original=48)

    assert plan.hours is None
    assert plan.forget_record is True


@pytest.mark.parametrize("rollback", [False, True], ids=["restore_on_delete", "rollback"])
def test_an_unknown_declaration_blocks_lowering_and_the_warning_names_the_value_to_set(rollback):
    this = declared(S, "Meeting", 72, restores=True, prior=30)
    unknown = known(declared(T, "Audio", 48), UNKNOWN, "cloudformation:DescribeStackResource denied")

    plan = release(this, unknown, current=72, rollback=rollback)

    put_back = 30 if rollback else ORIGINAL
    assert plan.hours is None
    assert plan.forget_record is False
    assert plan.warning == (
        "pool meeting-audio NOT put back: whether stack T (resource Audio) still declares it could not be "
        "checked (cloudformation:DescribeStackResource denied); if it does not, set the pool to "
        f"{put_back} h by hand"
    )


def test_with_live_and_unknown_declarations_the_warning_names_the_live_floor():
    this = declared(S, "Meeting", 72, restores=True)
    others = [known(declared(T, "Audio", 48)), known(declared(U, "Video", 60), UNKNOWN)]

    plan = release(this, *others, current=72)

    assert plan.hours is None
    assert plan.warning is not None
    assert plan.warning.endswith("if it does not, set the pool to 48 h by hand")


def test_an_unknown_declaration_warns_of_nothing_when_the_pool_already_holds_the_value_to_put_back():
    this = declared(S, "Meeting", 48, restores=True)
    others = [known(declared(T, "Audio", 48)), known(declared(U, "Video", 60), UNKNOWN)]

    plan = release(this, *others, current=48)

    assert plan.hours is None
    assert plan.warning is None


def test_an_unknown_declaration_with_an_original_that_cannot_be_set_names_the_original():
    this = declared(S, "Meeting", 72, restores=True)

    plan = release(this, known(declared(T, "Audio", 48), UNKNOWN), current=72, original=0)

    assert plan.warning is not None
    assert plan.warning.endswith("if it does not, set the pool to its original by hand")


@pytest.mark.parametrize("hours", [None, 0], ids=["0.2.0-successor", "zero"])
def test_a_live_declaration_stating_no_hours_is_treated_as_unknown_not_as_a_floor(hours):
    holder = Declaration(Resource(T, "Audio"), hours, True, None, "7" * 16 if hours == 0 else None)

    plan = release(declared(S, "Meeting", 72, restores=True), known(holder), current=72)

    assert plan.hours is None
    assert plan.warning is not None
    assert "whether stack T (resource Audio) still declares it could not be checked" in plan.warning


def test_a_leaving_declaration_does_not_hold_the_pool_against_a_delete():
    plan = release(
        declared(S, "Meeting", 48, restores=True), known(declared(T, "Audio", 48), LEAVING), current=48
    )

    assert plan.hours == ORIGINAL
    # Its deletion may still fail: its tags stay for its own Delete (declaring.withdraw then removes the
    # record once no declaration is left).
    assert plan.forget_record is False


@pytest.mark.parametrize("t_restores", [True, False], ids=["both-restore", "t-plain"])
def test_two_stacks_deleted_together_put_back_the_original_in_either_order(t_restores):
    s_declares = declared(S, "Meeting", 48, restores=True)
    t_declares = declared(T, "Audio", 48, restores=t_restores)

    # S's Delete runs first and sees T's resource being deleted; it forgets its own declaration.
    first = release(s_declares, known(t_declares, LEAVING), current=48)
    after_first = ending(first, 48)
    # T's Delete: if it read the record before S forgot it, it finds its 48 h replaced ...
    raced = release(t_declares, known(s_declares, LEAVING), current=after_first)
    # ... otherwise its declaration is gone and it recorded nothing.
    late = release(None, current=after_first, original=None, resource=t_declares.resource)

    assert first.forget_record is False
    assert after_first == ORIGINAL
    assert ending(raced, after_first) == ORIGINAL
    assert ending(late, after_first) == ORIGINAL


@pytest.mark.parametrize(
    ("original", "shown"), [(0, "0 h"), (None, "unknown h")], ids=["below-1-hour", "unrecorded"]
)
def test_an_original_that_cannot_be_set_is_left_with_a_warning(original, shown):
    plan = release(declared(S, "Meeting", 48, restores=True), current=48, original=original)

    assert plan.hours is None
    assert plan.warning == (
        f"pool meeting-audio NOT put back to its original ({shown}): retention updates need "
        f"{MIN_RETENTION_HOURS} h or more; set it by hand if needed"
    )


def test_a_rollback_to_a_prior_below_1_hour_is_left_with_a_warning():
    plan = release(declared(S, "Meeting", 48, prior=0), current=48, rollback=True)

    assert plan.hours is None
    assert plan.warning is not None
    assert "NOT put back to its value before this deployment (0 h)" in plan.warning


@pytest.mark.parametrize(
    ("others", "forgets_record"),
    [
        ([], True),
        ([known(declared(T, "Audio", 48), GONE)], True),
        ([known(declared(T, "Audio", 48), LEAVING)], False),  # its deletion may yet fail: its tags stay
        ([known(declared(T, "Audio", 48), LIVE)], False),
        ([known(declared(T, "Audio", 48), UNKNOWN)], False),
        ([known(declared(S, "MeetingRenamed", 48), LIVE)], False),
    ],
    ids=["alone", "others-gone", "others-leaving", "others-live", "others-unknown", "own-rename-live"],
)
def test_the_record_is_forgotten_only_by_the_last_declaration_to_leave(others, forgets_record):
    this = declared(S, "Meeting", 48, restores=True)

    plan = release(this, *others, current=48)

    assert plan.forget_record is forgets_record
    assert plan.forget[0] == this


def test_a_delete_forgets_its_own_declaration_and_those_found_gone_only():
    this = declared(S, "Meeting", 48)
    gone = declared(T, "Audio", 12)
    live = declared(U, "Video", 48)

    plan = release(this, known(gone, GONE), known(live), current=48)

    assert plan.forget == (this, gone)


@pytest.mark.parametrize("restores", [False, True], ids=["plain", "restore_on_delete"])
def test_a_resource_that_recorded_nothing_leaves_the_pool_and_never_forgets_the_record(restores):
    resource = Resource(S, "Meeting")
    gone = declared(T, "Audio", 12)

    plan = release(None, known(gone, GONE), current=48, rollback=restores, resource=resource)

    assert plan.hours is None
    assert plan.forget_record is False
    assert plan.forget == (gone,)
    assert plan.why == "this resource recorded no retention on the pool: left as it is"


def test_a_0_2_0_successor_leaving_last_leaves_the_pool_and_forgets_the_record():
    successor = Declaration(Resource(S, "Meeting"), None, True, None, legacy_slot=("successor",))

    plan = release(successor, current=48)

    assert plan.hours is None
    assert plan.forget_record is True


# --- Properties ------------------------------------------------------------------------------------------

_hours = st.integers(min_value=1, max_value=6)  # few values, so that equal hours are frequent
_declarations = st.builds(
    declared,
    st.sampled_from([S, T, U]),
    st.sampled_from(["Meeting", "Audio"]),
    st.one_of(st.none(), _hours),
    restores=st.booleans(),
    prior=st.one_of(st.none(), st.integers(min_value=0, max_value=6)),
)
_others = st.lists(st.builds(known, _declarations, st.sampled_from(list(Liveness))), max_size=5)


@st.composite
def deletes(draw: st.DrawFn) -> dict:
    this = draw(_declarations.filter(lambda d: d.hours is not None))
    others = [k for k in draw(_others) if k.declaration.resource != this.resource]
    stated = [this.hours, *(k.declaration.hours for k in others if k.declaration.hours)]
    current = draw(st.one_of(st.sampled_from(stated), _hours))
    original = draw(st.one_of(st.none(), st.integers(min_value=0, max_value=6)))
    return {
        "this": this,
        "others": others,
        "current": current,
        "original": original,
        "rollback": draw(st.booleans()),
    }


def _release(case: dict) -> ReleasePlan:
    return release(
        case["this"],
        *case["others"],
        current=case["current"],
        original=case["original"],
        rollback=case["rollback"],
    )


@PROPERTY
@given(deletes())
def test_property_a_delete_never_leaves_a_pool_holding_this_resources_value_below_a_live_declaration(case):
    plan = _release(case)

    live = [k.declaration.hours for k in case["others"] if k.liveness is LIVE and k.declaration.hours]
    if case["current"] == case["this"].hours:
        assert all(ending(plan, case["current"]) >= hours for hours in live)


@PROPERTY
@given(deletes())
def test_property_a_delete_sets_only_a_live_declarations_value_the_prior_or_the_original(case):
    plan = _release(case)

    live = {k.declaration.hours for k in case["others"] if k.liveness is LIVE}
    this = case["this"]
    allowed = live | {case["original"]} | ({this.prior} if case["rollback"] else set())
    assert plan.hours is None or plan.hours in allowed
    assert plan.hours is None or (plan.hours >= MIN_RETENTION_HOURS and plan.hours != case["current"])


@PROPERTY
@given(deletes())
def test_property_a_delete_never_lowers_a_pool_while_a_declaration_is_unknown(case):
    plan = _release(case)

    if any(k.liveness is UNKNOWN for k in case["others"]):
        assert ending(plan, case["current"]) >= case["current"]


@PROPERTY
@given(deletes())
def test_property_a_delete_leaves_another_writers_value(case):
    plan = _release(case)

    if case["current"] != case["this"].hours:
        assert plan.hours is None


@PROPERTY
@given(deletes())
def test_property_the_record_is_forgotten_only_with_no_live_or_unknown_declaration_left(case):
    plan = _release(case)

    if plan.forget_record:
        assert all(k.liveness in (LEAVING, GONE) for k in case["others"])
    assert set(plan.forget) == {case["this"], *(k.declaration for k in case["others"] if k.liveness is GONE)}


@PROPERTY
@given(_declarations.filter(lambda d: d.hours is not None), _others, st.booleans())
def test_property_an_accepted_change_sets_no_value_another_stack_holds_differently(this, others, rollback):
    plan = apply(this, *others, rollback=rollback)

    assert plan.forget == tuple(k.declaration for k in others if k.liveness is GONE)
    if rollback:
        # Never refused, and never below another stack's declaration that holds the pool.
        assert plan.refusal is None
        holding = [
            k.declaration.hours
            for k in others
            if k.liveness is not GONE
            and k.declaration.hours
            and k.declaration.resource.stack_id != this.resource.stack_id
        ]
        assert plan.hours == max([this.hours, *holding])
    else:
        assert plan.hours == this.hours
    if rollback:
        pass
    elif plan.refusal is None:
        for other in others:
            theirs = other.declaration
            if other.liveness is not GONE and theirs.resource.stack_id != this.resource.stack_id:
                # A leaving declaration holds the pool only against lowering it.
                assert theirs.hours in (None, this.hours) or (
                    other.liveness is LEAVING and theirs.hours < this.hours
                )
