"""declare() and withdraw() over the pool API's model (tests/standins/pool_api.py, every request recorded)
and an in-memory CloudFormation: which requests a Create, Update or Delete makes, in which order, and what
the pool and its record hold afterwards."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from calls import Caller, Deadline
from declarations import Resource, read_record, stack_tag
from declaring import Declared, declare, withdraw
from errors import DeclarationConflict, InvalidRecord, InvalidRequest
from pool_api import PoolApi as PoolClient
from retention_rules import LEGACY_TAGS, MAX_DECLARING_STACKS, ORIGINAL_TAG, stack_key
from stack_api import StackApi

from tests.fakes import POOL_ARN, POOL_NAME, STACK_ID, STACK_KEY, FakeClock, FakeCloudFormation, client_error
from tests.simulation.herd import REQUESTS_PER_CREATE, ModelClient
from tests.standins.pool_api import PoolApi
from tests.unit.handler.stubs import RESOURCE
from tests.unit.handler.stubs import declared as record_of

ACCOUNT = "111122223333"
OTHER_STACK = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/Audio/5f6a7b8c"
OTHER_KEY = stack_key("Audio", ACCOUNT, "us-east-1")
OTHER = Resource(OTHER_STACK, "Meeting")
THIRD_STACK = f"arn:aws:cloudformation:us-east-1:{ACCOUNT}:stack/Support/9a8b7c6d"
THIRD_KEY = stack_key("Support", ACCOUNT, "us-east-1")
THIRD = Resource(THIRD_STACK, "Meeting")
RENAMED = Resource(STACK_ID, "Renamed")  # the same stack's resource after a rename
OWNER_STACK, OWNER, OWNER_HOURS, SUCCESSOR_STACK, SUCCESSOR = LEGACY_TAGS

GET, UPDATE = (
    "get_media_pipeline_kinesis_video_stream_pool",
    "update_media_pipeline_kinesis_video_stream_pool",
)
LIST, TAG, UNTAG = "list_tags_for_resource", "tag_resource", "untag_resource"
CHECK, STATUS = "describe_stack_resource", "describe_stacks"


class Logged:
    """A client whose every request is appended to a log shared by all clients: the order of requests."""

    def __init__(self, target: Any, log: list[str]) -> None:
        self._target, self._log = target, log

    def __getattr__(self, name: str) -> Any:
        attribute = getattr(self._target, name)
        if name.startswith("_") or not callable(attribute):
            return attribute

        def logged(**request: Any) -> Any:
            self._log.append(name)
            return attribute(**request)

        return logged


class World:
    """One pool (meeting-audio, 24 h) in the pool API's model, CloudFormation, and the requests made."""

    def __init__(self) -> None:
        self.clock = FakeClock()
        self.api = PoolApi(clock=self.clock)
        self.pool = self.api.add_pool(POOL_NAME)
        self.cfn = FakeCloudFormation()
        # The events' resource, as CloudFormation reports it while it sends the Create (a Create or Update
        # arriving when its resource is in no *_IN_PROGRESS status is a late delivery and changes nothing).
        self.cfn.declare(STACK_ID, RESOURCE.logical_id, POOL_ARN, "CREATE_IN_PROGRESS")
        self.log: list[str] = []

    def clients(self, seconds: float, *, delete: bool = False) -> tuple[PoolClient, StackApi]:
        caller = Caller(Deadline(seconds, clock=self.clock, sleep=self.clock.sleep), retry_denials=not delete)
        model = ModelClient(self.api, self.clock.sleep, latency=0)
        pools = PoolClient(Logged(model, self.log), caller)  # type: ignore[arg-type]
        stacks = StackApi(lambda region: Logged(self.cfn(region), self.log), caller, ACCOUNT)
        return pools, stacks

    def declare(
        self, hours: int, *, restores: bool = False, resource: Resource = RESOURCE, key: str = STACK_KEY
    ) -> dict[str, Any]:
        pools, stacks = self.clients(300)
        return declare(pools, stacks, Declared(resource, POOL_NAME, hours, restores, key, pool_arn=POOL_ARN))

    def withdraw(
        self,
        *,
        restores: bool = False,
        hours: int | None = 48,
        resource: Resource = RESOURCE,
        seconds: float = 300,
    ) -> str:
        if (STACK_ID, resource.logical_id) in self.cfn.resources and resource.stack_id == STACK_ID:
            # As CloudFormation marks a resource before it sends the resource's Delete
            self.cfn.declare(STACK_ID, resource.logical_id, POOL_ARN, "DELETE_IN_PROGRESS")
        pools, stacks = self.clients(seconds, delete=True)
        return withdraw(pools, stacks, resource, POOL_ARN, restores=restores, hours=hours)

    def holds(self, hours: int, tags: dict[str, str], status: str = "ACTIVE") -> None:
        self.pool.retention, self.pool.tags, self.pool.status = hours, dict(tags), status

    def declared_elsewhere(self, status: str = "CREATE_COMPLETE", physical_id: str = POOL_ARN) -> None:
        """OTHER exists in CloudFormation (by default: live, for this pool)."""
        self.cfn.declare(OTHER_STACK, OTHER.logical_id, physical_id, status)


def pool_requests(world: World) -> list[str]:
    return [request for request in world.log if request not in (CHECK, STATUS)]


@pytest.fixture
def world() -> World:
    return World()


def others(hours: int, **options: Any) -> dict[str, str]:
    """The tags of OTHER's declaration."""
    return record_of(hours, resource=OTHER, key=OTHER_KEY, **options)


# --- Create and Update ------------------------------------------------------------------------------


def test_a_lone_create_on_a_fresh_pool_makes_k_requests_recording_before_changing(world):
    settled = world.declare(48)

    # CloudFormation first (is the resource being created?), then the pool: list, read, record, list,
    # update, read until settled.
    assert world.log == [CHECK, LIST, GET, TAG, LIST, UPDATE, GET]
    assert len(pool_requests(world)) == REQUESTS_PER_CREATE  # the benchmark's k
    assert settled["StreamConfiguration"]["DataRetentionInHours"] == 48
    assert world.pool.retention == 48
    assert world.pool.tags == record_of(48, prior=24, original=24)


def test_a_create_reads_the_pool_again_when_a_delete_changed_the_record_between_its_reads(world):
    # GIVEN OTHER declares the pool at 48 h (original 24 h) and its stack is being deleted
    world.holds(48, others(48, original=24))
    world.declared_elsewhere("DELETE_IN_PROGRESS")
    pools, stacks = world.clients(300)
    tag = pools.client.tag_resource

    def tag_while_other_withdraws(**request: Any) -> Any:
        answer = tag(**request)
        # OTHER's Delete, running now, puts back the original and forgets its whole record
        world.pool.retention = 24
        world.pool.tags = {k: v for k, v in world.pool.tags.items() if k not in others(48, original=24)}
        return answer

    pools.client.tag_resource = tag_while_other_withdraws  # type: ignore[method-assign]

    # WHEN this resource declares 48 h, having read the pool at 48 h before that Delete
    declare(pools, stacks, Declared(RESOURCE, POOL_NAME, 48, False, STACK_KEY, pool_arn=POOL_ARN))

    # THEN the changed record makes it read the pool again, records the 24 h it now found as what its
    # rollback would put back, and sets 48 h
    assert world.log[world.log.index(TAG) + 1 :][:4] == [LIST, GET, TAG, UPDATE]
    assert world.pool.retention == 48
    assert read_record(world.pool.tags).of(RESOURCE).prior == 24


def test_a_create_reads_the_pool_again_when_a_delete_it_listed_may_change_it_meanwhile(world):
    # GIVEN OTHER declares the pool at 48 h (original 24 h), with restore_on_delete, and is being deleted
    world.holds(48, others(48, restores=True, original=24))
    world.declared_elsewhere("DELETE_IN_PROGRESS")
    pools, stacks = world.clients(300)
    tag = pools.client.tag_resource

    def tag_while_other_restores(**request: Any) -> Any:
        # OTHER's Delete puts back the original after this Create read the pool, and forgets its record
        # only after this Create's second list: the record this Create lists has not changed
        world.pool.retention = 24
        return tag(**request)

    pools.client.tag_resource = tag_while_other_restores  # type: ignore[method-assign]

    # WHEN this resource declares 48 h
    declare(pools, stacks, Declared(RESOURCE, POOL_NAME, 48, False, STACK_KEY, pool_arn=POOL_ARN))

    # THEN it reads the pool again after its second list, sets 48 h, and records 24 h as what its
    # rollback would put back (not the 48 h that Delete replaced)
    assert world.log[world.log.index(TAG) + 1 :][:2] == [LIST, GET]
    assert world.pool.retention == 48
    assert read_record(world.pool.tags).of(RESOURCE).prior == 24


def test_a_create_on_a_pool_already_at_the_value_makes_no_update(world):
    world.holds(48, {})

    world.declare(48)

    assert world.log == [CHECK, LIST, GET, TAG, LIST]
    assert world.pool.tags == record_of(48, prior=48, original=48)


def test_a_repeated_create_finds_its_declaration_recorded_and_only_reads(world):
    world.declare(48)
    world.log.clear()

    world.declare(48)

    assert world.log == [CHECK, LIST, GET]


def test_an_update_to_new_hours_keeps_the_prior_and_original_of_the_first_create(world):
    world.declare(48, restores=True)

    world.declare(72, restores=True)

    assert world.pool.retention == 72
    assert world.pool.tags == record_of(72, restores=True, prior=24, original=24)


def test_a_conflicting_live_declaration_is_refused_before_any_update_naming_it(world):
    world.holds(72, others(72, prior=24, original=24))
    world.declared_elsewhere()

    with pytest.raises(DeclarationConflict) as refused:
        world.declare(48)

    assert str(refused.value).startswith(
        f"Pool {POOL_NAME} is declared at 72 h by stack Audio (resource Meeting); this resource declares 48 h"
    )
    # (read again after the second list: the other declaration's Delete might be changing the pool)
    assert world.log == [CHECK, LIST, GET, TAG, LIST, GET, CHECK, STATUS, UNTAG]
    assert world.pool.retention == 72
    # Recorded before deciding, taken back once refused: nobody reads a value nothing will apply.
    assert world.pool.tags == others(72, prior=24, original=24)


def test_a_declaration_whose_liveness_cannot_be_checked_is_refused_saying_why(world):
    world.holds(72, others(72, prior=24, original=24))
    world.cfn.failures["DescribeStackResource"] = client_error("AccessDenied", 403)

    with pytest.raises(DeclarationConflict) as refused:
        world.declare(48)

    reason = str(refused.value)
    assert reason.startswith(
        f"Pool {POOL_NAME} may still be declared at 72 h by stack Audio (resource Meeting)"
    )
    assert "(cloudformation:DescribeStackResource denied)" in reason
    assert UPDATE not in world.log
    assert world.pool.retention == 72


def test_a_rollbacks_update_is_never_refused_nor_sets_the_pool_below_a_live_declaration(world, caplog):
    """Refusing it would leave the stack in UPDATE_ROLLBACK_FAILED and put nothing back."""
    world.holds(72, others(72, prior=24, original=24))
    world.declared_elsewhere()
    world.cfn.statuses[STACK_ID] = "UPDATE_ROLLBACK_IN_PROGRESS"

    world.declare(48)  # no DeclarationConflict

    assert world.pool.retention == 72
    assert "rolled back to 72 h, not the 48 h this resource declares" in caplog.text


def test_equal_declarations_coexist_without_asking_cloudformation(world):
    """A move between stacks, or two stacks agreeing: nothing to check."""
    world.holds(48, others(48, prior=24, original=24))

    world.declare(48)

    assert world.log.count(CHECK) == 1  # its own resource's status only
    assert world.pool.tags == {**others(48, prior=24, original=24), **record_of(48)}


def test_the_old_resource_of_a_rename_in_the_same_stack_never_conflicts(world):
    world.holds(168, record_of(168, resource=RENAMED, prior=24, original=24))

    world.declare(48)

    assert world.log.count(CHECK) == 1  # its own resource's status only
    assert world.pool.retention == 48
    assert (
        record_of(168, resource=RENAMED, prior=24).items() <= world.pool.tags.items()
    )  # its Delete's to withdraw


def test_stale_declarations_are_forgotten_only_after_the_change(world):
    world.holds(72, others(72, prior=24, original=24))  # OTHER's stack no longer has the resource

    world.declare(48)

    assert world.log == [CHECK, LIST, GET, TAG, LIST, GET, CHECK, UPDATE, GET, UNTAG]
    assert world.pool.retention == 48
    assert world.pool.tags == record_of(48, prior=72, original=24)


def test_a_declaration_now_naming_another_pool_is_forgotten(world):
    """A move keeps the logical id: OTHER now declares other-pool."""
    world.holds(72, others(72, prior=24, original=24))
    world.declared_elsewhere(physical_id=POOL_ARN.replace(POOL_NAME, "other-pool"))
    world.cfn.statuses[OTHER_STACK] = "UPDATE_COMPLETE"  # the move is done: it no longer holds this pool

    world.declare(48)

    assert world.pool.tags == record_of(48, prior=72, original=24)


def test_beyond_the_declaring_stacks_a_pool_supports_a_create_is_refused(world):
    tags: dict[str, str] = {ORIGINAL_TAG: "24"}
    for index in range(MAX_DECLARING_STACKS):
        resource = Resource(OTHER_STACK.replace("Audio", f"Audio{index}"), "Meeting")
        tags |= record_of(48, resource=resource, key=stack_key(f"Audio{index}", ACCOUNT, "us-east-1"))
    world.holds(48, tags)

    with pytest.raises(
        DeclarationConflict, match=f"at most {MAX_DECLARING_STACKS} stacks may declare one pool"
    ):
        world.declare(48)


def test_a_pool_without_tag_room_fails_the_create_before_any_change(world):
    world.holds(24, {"team": "media"})
    world.pool.max_tags = 2

    with pytest.raises(InvalidRequest) as refused:
        world.declare(48)

    assert str(refused.value).startswith(
        f"Could not record the declaration on pool {POOL_NAME} (kept in tags on the pool): free a tag"
    )
    assert world.log == [CHECK, LIST, GET, TAG]
    assert world.pool.retention == 24


def test_a_damaged_record_fails_a_create_naming_the_tag(world):
    world.holds(24, {ORIGINAL_TAG: "²"})

    with pytest.raises(
        InvalidRecord, match=f"^Pool {POOL_NAME} carries a damaged kvs-pool-retention record .tag"
    ):
        world.declare(48)

    assert world.log == [CHECK, LIST]  # the record is read first: the pool is not read


# --- Delete ------------------------------------------------------------------------------------------


def test_the_last_restoring_declaration_puts_back_the_original_then_forgets_the_record(world):
    world.holds(48, {"team": "media", **record_of(48, restores=True, prior=24, original=24)})

    line = world.withdraw(restores=True)

    assert line == f"pool {POOL_ARN}: back to its original, 24 h"
    # Its own resource asked first (a late Delete does nothing); the change before the forget; the tags
    # listed again after it, for a Create declaring meanwhile.
    assert world.log == [LIST, CHECK, STATUS, GET, UPDATE, GET, LIST, UNTAG]
    assert world.pool.retention == 24
    assert world.pool.tags == {"team": "media"}


@pytest.mark.parametrize(
    ("status", "physical_id"),
    [("CREATE_COMPLETE", POOL_ARN), ("CREATE_IN_PROGRESS", "")],
    ids=["created", "creating"],
)
def test_a_delete_delivered_again_after_its_resource_was_added_back_does_nothing(world, status, physical_id):
    """The resource was removed (its Delete restored 24 h), then added back at 48 h under the same logical
    id (created, or still being created: no physical id yet); the first Delete, delivered again, must not
    take the new declaration for its own."""
    world.holds(48, record_of(48, restores=True, prior=24, original=24))
    world.cfn.declare(STACK_ID, RESOURCE.logical_id, physical_id, status)
    pools, stacks = world.clients(300, delete=True)

    line = withdraw(pools, stacks, RESOURCE, POOL_ARN, restores=True, hours=48)

    assert "late or repeated delivery: nothing done" in line
    assert world.pool.retention == 48
    assert world.pool.tags == record_of(48, restores=True, prior=24, original=24)


def writes_during_the_update(world: World, pools: PoolClient, tags: dict[str, str]) -> None:
    """A Create or Update of another declaration records these tags while this Delete changes the pool."""
    update = pools.client.update_media_pipeline_kinesis_video_stream_pool
    pending = [tags]

    def update_while_another_declares(**request: Any) -> Any:
        if pending:  # once, with this Delete's first update
            world.pool.tags = {**world.pool.tags, **pending.pop()}
        return update(**request)

    pools.client.update_media_pipeline_kinesis_video_stream_pool = update_while_another_declares  # type: ignore[method-assign]


def test_a_delete_raises_the_pool_to_a_declaration_changed_while_it_ran(world):
    # GIVEN this resource (24 h, restore_on_delete) leaving, and OTHER's live 12 h
    world.holds(24, {**record_of(24, restores=True, prior=6, original=6), **others(12, prior=6)})
    world.declared_elsewhere()
    pools, stacks = world.clients(300, delete=True)
    world.cfn.declare(STACK_ID, RESOURCE.logical_id, POOL_ARN, "DELETE_IN_PROGRESS")
    # WHEN OTHER's Update to 36 h runs while this Delete sets the pool to OTHER's 12 h
    writes_during_the_update(world, pools, others(36, prior=6))

    withdraw(pools, stacks, RESOURCE, POOL_ARN, restores=True, hours=24)

    # THEN the changed declaration holds the pool: raised to 36 h
    assert world.pool.retention == 36


def test_a_delete_does_not_raise_the_pool_for_a_declaration_that_its_create_will_refuse(world):
    # GIVEN this resource (24 h, restore_on_delete) leaving, and OTHER's live 12 h
    world.holds(24, {**record_of(24, restores=True, prior=6, original=6), **others(12, prior=6)})
    world.declared_elsewhere()
    pools, stacks = world.clients(300, delete=True)
    world.cfn.declare(STACK_ID, RESOURCE.logical_id, POOL_ARN, "DELETE_IN_PROGRESS")
    # WHEN a third stack's Create records 48 h meanwhile, which OTHER's live 12 h makes it refuse
    writes_during_the_update(world, pools, record_of(48, resource=THIRD, key=THIRD_KEY, prior=24))

    withdraw(pools, stacks, RESOURCE, POOL_ARN, restores=True, hours=24)

    # THEN the pool stays at what OTHER declares
    assert world.pool.retention == 12


def test_a_delete_raising_the_pool_for_a_new_declaration_records_what_it_set_as_that_ones_prior(world):
    # GIVEN this resource (24 h, restore_on_delete, original 6 h), the last declaration, leaving
    world.holds(24, record_of(24, restores=True, prior=6, original=6))
    pools, stacks = world.clients(300, delete=True)
    world.cfn.declare(STACK_ID, RESOURCE.logical_id, POOL_ARN, "DELETE_IN_PROGRESS")
    # WHEN another stack's Create records 48 h (having read 24 h) while this Delete puts back 6 h
    writes_during_the_update(world, pools, others(48, prior=24))

    withdraw(pools, stacks, RESOURCE, POOL_ARN, restores=True, hours=24)

    # THEN the pool holds the new declaration, whose rollback would put back 6 h, not this one's 24 h
    assert world.pool.retention == 48
    assert read_record(world.pool.tags).of(OTHER).prior == 6


def test_a_delete_does_not_hold_the_pool_to_a_declaration_being_created_that_will_be_refused(world):
    # GIVEN this resource (24 h, restore_on_delete) leaving, OTHER's live 12 h, and a third stack's 48 h
    # recorded by its Create, running now, which OTHER's 12 h makes it refuse
    world.holds(
        24,
        {
            **record_of(24, restores=True, prior=6, original=6),
            **others(12, prior=6),
            **record_of(48, resource=THIRD, key=THIRD_KEY, prior=24),
        },
    )
    world.declared_elsewhere()
    world.cfn.declare(THIRD_STACK, THIRD.logical_id, "", "CREATE_IN_PROGRESS")

    world.withdraw(restores=True, hours=24)

    # THEN the pool goes to what OTHER declares, not to the 48 h about to be taken back
    assert world.pool.retention == 12


def test_a_delete_holds_the_pool_to_a_rollbacks_update_which_is_never_refused(world):
    # GIVEN this resource (48 h, restore_on_delete, original 6 h) leaving, and OTHER's stack rolling back
    # its resource to 24 h (its rollback Update recorded 24 h and, never refused, keeps the pool at 48 h)
    world.holds(48, {**record_of(48, restores=True, prior=6, original=6), **others(24, prior=6)})
    world.declared_elsewhere("UPDATE_IN_PROGRESS")
    world.cfn.statuses[OTHER_STACK] = "UPDATE_ROLLBACK_IN_PROGRESS"

    world.withdraw(restores=True, hours=48)

    # THEN the pool goes to OTHER's 24 h, not to the original under it
    assert world.pool.retention == 24


def test_a_delete_holds_the_pool_to_declarations_being_applied_that_conflict_only_with_each_other(world):
    # GIVEN this resource (24 h, restore_on_delete, original 6 h) leaving, and two Creates running now,
    # OTHER's at 24 h and a third stack's at 48 h: at most one of them will be refused, and not known which
    world.holds(
        24,
        {
            **record_of(24, restores=True, prior=6, original=6),
            **others(24, prior=24),
            **record_of(48, resource=THIRD, key=THIRD_KEY, prior=24),
        },
    )
    world.declared_elsewhere("CREATE_IN_PROGRESS")
    world.cfn.declare(THIRD_STACK, THIRD.logical_id, "", "CREATE_IN_PROGRESS")

    world.withdraw(restores=True, hours=24)

    # THEN neither is discounted: the pool is not put back under them
    assert world.pool.retention == 48


def test_a_plain_delete_leaves_the_pool_and_forgets_the_record(world):
    world.holds(48, record_of(48, prior=24, original=24))
    world.cfn.statuses[STACK_ID] = "DELETE_IN_PROGRESS"

    line = world.withdraw()

    assert "a Delete without restore_on_delete leaves the pool as it is" in line
    assert world.pool.retention == 48
    assert world.pool.tags == {}


def test_a_rollbacks_delete_puts_back_the_value_the_pool_had_before_the_create(world):
    """A first deployment declares 12 h without restore_on_delete, then fails on another resource."""
    world.holds(12, record_of(12, prior=72, original=72))
    world.cfn.statuses[STACK_ID] = "ROLLBACK_IN_PROGRESS"

    line = world.withdraw(hours=12)

    assert line == f"pool {POOL_ARN}: back to its value before this deployment, 72 h"
    assert world.pool.retention == 72
    assert world.pool.tags == {}


def test_a_delete_leaves_a_value_another_writer_set(world):
    world.holds(100, record_of(48, restores=True, prior=24, original=24))

    line = world.withdraw(restores=True)

    assert "another writer set it since, and its value is left" in line
    assert UPDATE not in world.log
    assert world.pool.retention == 100
    assert world.pool.tags == {}


def test_a_restoring_delete_leaves_the_pool_to_a_remaining_live_declaration(world):
    world.holds(48, {**others(48, prior=24, original=24), **record_of(48, restores=True, prior=24)})
    world.declared_elsewhere()

    world.withdraw(restores=True)

    assert world.pool.retention == 48
    assert world.pool.tags == others(48, prior=24, original=24)


def test_a_leaving_declaration_of_another_stack_is_not_held_to(world):
    """Two stacks deleted together: the first to leave finds the other leaving too, and restores."""
    world.holds(48, {**others(48, prior=24, original=24), **record_of(48, restores=True, prior=24)})
    world.declared_elsewhere(status="DELETE_IN_PROGRESS")

    world.withdraw(restores=True)

    assert world.pool.retention == 24


def test_a_delete_that_cannot_check_another_declaration_leaves_the_pool_and_says_so(world, caplog):
    world.holds(48, {**others(48, prior=24, original=24), **record_of(48, restores=True, prior=24)})
    world.cfn.failures["DescribeStackResource"] = client_error("AccessDenied", 403)

    world.withdraw(restores=True)

    assert world.pool.retention == 48
    assert f"pool {POOL_NAME} NOT put back: whether stack Audio (resource Meeting) still declares it" in (
        caplog.text.replace(POOL_ARN, POOL_NAME)
    )
    assert world.pool.tags == others(48, prior=24, original=24)


@pytest.mark.parametrize(
    ("trouble", "says"),
    [
        # After the update phase the role reaches only pools whose record names its stack.
        ("list-tags denied", "no declaration of this stack is recorded on it, nothing to do"),
        (
            "list-tags throttled",
            "NOT put back: its record could not be read: Could not list the tags of pool",
        ),
        ("pool failed", f"NOT put back: Pool {POOL_ARN} is FAILED: its retention cannot be managed"),
        (
            "damaged record",
            "NOT put back: its record is damaged (tag kvs-pool-retention:original-retention-hours",
        ),
        ("pool gone", f"pool {POOL_ARN} no longer exists: nothing to do"),
        ("update denied", "NOT put back: Access denied to chime:UpdateMediaPipelineKinesisVideoStreamPool"),
    ],
)
def test_a_delete_answers_with_a_line_and_never_raises_for_pool_trouble(world, caplog, trouble, says):
    world.holds(48, record_of(48, restores=True, prior=24, original=24))
    if trouble == "list-tags denied":
        world.api.fail("list-tags", "AccessDeniedException", 403)
    elif trouble == "list-tags throttled":
        world.api.fail("list-tags", "ThrottledClientException", 429, times=100)
    elif trouble == "pool failed":
        world.pool.status = "FAILED"
    elif trouble == "damaged record":
        world.pool.tags[ORIGINAL_TAG] = "²"
    elif trouble == "pool gone":
        del world.api.pools[POOL_NAME]
    elif trouble == "update denied":
        world.api.fail("PUT", "ForbiddenException", 403)
    caplog.set_level(logging.WARNING)

    line = world.withdraw(restores=True, seconds=60)

    assert says in line
    if "NOT put back" in line:
        assert line in caplog.text  # at WARNING, for a person to act on
    assert world.clock.now <= 60


@pytest.mark.parametrize("status", ["DELETING", "FAILED"])
def test_a_pool_going_away_or_broken_is_left_within_one_read(world, status):
    world.holds(48, record_of(48, restores=True, prior=24, original=24), status=status)

    line = world.withdraw(restores=True)

    assert f"NOT put back: Pool {POOL_ARN} is {status}" in line
    assert "Its record states the original 24 h" in line
    assert world.log.count(GET) == 1
    assert world.clock.now < 1


def test_an_original_of_zero_hours_cannot_be_set_again_and_the_record_is_dropped(world, caplog):
    """A pool created without a retention reads 0 h, which the update API refuses (1 h at least)."""
    world.holds(48, record_of(48, restores=True, prior=0, original=0))

    world.withdraw(restores=True)

    assert world.pool.retention == 48
    assert world.pool.tags == {}
    assert (
        f"pool {POOL_ARN} NOT put back to its original (0 h): retention updates need 1 h or more"
        in caplog.text
    )


def test_a_delete_takes_a_denial_as_final_at_once(world):
    """A Delete comes after grants are removed, never added: no waiting for IAM to catch up."""
    world.holds(48, record_of(48, restores=True, prior=24, original=24))
    world.api.fail("list-tags", "AccessDeniedException", 403, times=5)

    world.withdraw(restores=True)

    assert world.log == [LIST]
    assert world.clock.now == 0


def test_a_delete_of_a_resource_that_recorded_nothing_changes_nothing(world):
    world.holds(48, others(48, prior=24, original=24))
    world.declared_elsewhere()

    line = world.withdraw(restores=True)

    assert "this resource recorded no retention on the pool: left as it is" in line
    assert world.pool.retention == 48
    assert world.pool.tags == others(48, prior=24, original=24)


# --- Records of earlier versions ---------------------------------------------------------------------

RECORD_0_1_0 = {ORIGINAL_TAG: "24"}  # 0.1.0: the original alone
RECORD_0_2_0 = {ORIGINAL_TAG: "24", OWNER_STACK: STACK_ID, OWNER: RESOURCE.logical_id, OWNER_HOURS: "48"}


def test_a_0_1_0_record_is_restored_by_its_resources_delete(world):
    world.holds(48, {"team": "media", **RECORD_0_1_0})

    line = world.withdraw(restores=True)

    assert line == f"pool {POOL_ARN}: back to its original, 24 h"
    assert world.pool.retention == 24
    assert world.pool.tags == {"team": "media"}


def test_a_0_1_0_record_is_rewritten_by_the_next_update_keeping_its_original(world):
    world.holds(48, RECORD_0_1_0)

    world.declare(48, restores=True)
    world.withdraw(restores=True)

    assert world.pool.retention == 24


def test_a_0_2_0_record_is_rewritten_by_its_owners_next_update(world):
    world.holds(48, {"team": "media", **RECORD_0_2_0})

    world.declare(48, restores=True)

    assert world.log == [CHECK, LIST, GET, TAG, LIST, UNTAG]
    assert world.pool.tags == {"team": "media", **record_of(48, restores=True, prior=48, original=24)}


def test_a_0_2_0_owners_delete_restores_the_original_and_removes_the_old_record(world):
    world.holds(48, RECORD_0_2_0)

    world.withdraw(restores=True)

    assert world.pool.retention == 24
    assert world.pool.tags == {}


def test_a_0_2_0_successor_of_another_stack_never_blocks_a_create(world):
    """A 0.2.0 successor recorded no hours: nothing to conflict with."""
    world.holds(48, {**RECORD_0_2_0, SUCCESSOR_STACK: OTHER_STACK, SUCCESSOR: OTHER.logical_id})

    world.declare(72, restores=True, resource=Resource(STACK_ID, "Pool0B9733A61"))

    assert world.pool.retention == 72
    assert world.pool.tags[SUCCESSOR] == OTHER.logical_id  # its own resource rewrites it
    assert stack_tag(STACK_KEY) in world.pool.tags
