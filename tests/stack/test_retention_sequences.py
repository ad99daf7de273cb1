"""Seeded sequences of stack operations on two stacks S and T declaring meeting-audio (originally 24 h),
played through the CloudFormation stand-in with real handler processes, the invariant checked after every
operation. The bulk of such sequences runs against in-memory fakes (tests/model/); these few show that the
real handler, stand-ins and CloudFormation's phases keep it too.

Each sequence was drawn once with `random.Random(seed)` (versions weighted towards declarations, a stack
deleted now and then, a person setting 100 h, the next UntagResource or PUT refused) and is written out, so
that a failure replays exactly."""

from __future__ import annotations

from dataclasses import dataclass, field

import pytest

from tests.stack.retention_stacks import MEETING, ORIGINAL, SHARED_VERSIONS, Stacks
from tests.standins.cloudformation import ValidationError

pytestmark = pytest.mark.integration

Operation = tuple[str | int, ...]

SEQUENCES: dict[int, list[Operation]] = {
    2202: [
        ("writer", 100),
        ("deploy", "S", "Plain12Failing"),
        ("deploy", "S", "Meeting48R"),
        ("deploy", "T", "Meeting72R"),
        ("deploy", "T", "Meeting48R"),
        ("deploy", "S", "Empty"),
        ("deploy", "T", "Meeting72R"),
        ("deploy", "S", "Meeting48"),
        ("deploy", "T", "Renamed48RFailing"),
        ("deploy", "T", "Renamed48R"),
    ],
    2205: [
        ("deploy", "S", "Meeting72R"),
        ("refuse", "untag-resource"),
        ("deploy", "S", "Renamed48RFailing"),
        ("deploy", "T", "Empty"),
        ("deploy", "S", "Renamed48R"),
        ("deploy", "T", "Meeting48R"),
        ("deploy", "S", "Meeting72R"),
        ("deploy", "T", "Empty"),
        ("deploy", "T", "Renamed48R"),
        ("deploy", "S", "Renamed48R"),
    ],
    2209: [
        ("writer", 100),
        ("deploy", "S", "Meeting48R"),
        ("deploy", "T", "Meeting72R"),
        ("deploy", "S", "Empty"),
        ("deploy", "T", "Meeting48R"),
        ("deploy", "S", "Meeting48"),
        ("delete", "T"),
        ("deploy", "T", "Meeting48R"),
        ("writer", 100),
        ("deploy", "S", "Meeting72R"),
    ],
}


def hours_of(version: str | None) -> int | None:
    """What a version declares for meeting-audio (None: nothing)."""
    declared = SHARED_VERSIONS.get(version or "", {})
    return next((hours for pool, hours, _ in declared.values() if pool == MEETING), None)


@dataclass
class World:
    """What the users did, as they know it: each stack's deployed version, values set by hand."""

    stacks: Stacks
    deployed: dict[str, str | None] = field(default_factory=lambda: {"S": None, "T": None})
    rolled_back_creation: set[str] = field(default_factory=set)  # stacks in ROLLBACK_COMPLETE
    set_by_hand: set[int] = field(default_factory=set)  # somebody's values: the original, if set first

    def live(self, *, besides: str | None = None) -> list[int]:
        return [
            hours
            for stack, version in self.deployed.items()
            if stack != besides and (hours := hours_of(version)) is not None
        ]

    def refusal_pending(self) -> bool:
        return any(fault.times > 0 for fault in self.stacks.pool_api.faults)

    def play(self, operation: Operation) -> None:
        stacks = self.stacks
        kind = operation[0]
        if kind == "writer":
            stacks.pool_api.pools[MEETING].retention = int(operation[1])
            self.set_by_hand.add(int(operation[1]))
            return
        if kind == "refuse":
            stacks.pool_api.fail(str(operation[1]), "BadRequestException", status=400)
            return
        stack = str(operation[1])
        if stack in self.rolled_back_creation:  # such a stack can only be deleted
            before = stacks.retention()
            assert stacks.delete(stack).status == "DELETE_COMPLETE"
            assert stacks.retention() == before, (
                "deleting a stack whose creation rolled back changed the pool"
            )
            self.rolled_back_creation.discard(stack)
            if kind == "delete":
                return
        before, refusal = stacks.retention(), self.refusal_pending()
        if kind == "delete":
            deleted = stacks.delete(stack)
            assert deleted.status == "DELETE_COMPLETE", deleted.failures
            self.deployed[stack] = None
            self.check_removal(before)
            return
        version = str(operation[2])
        if version == self.deployed[stack]:  # drawn without knowing an earlier deployment would be refused
            with pytest.raises(ValidationError, match="No updates are to be performed"):
                stacks.deploy(stack, version)
            return
        hours = hours_of(version)
        conflict = hours is not None and any(other != hours for other in self.live(besides=stack))
        failing = "Failing" in version
        done = stacks.deploy(stack, version)
        if done.status in {"CREATE_COMPLETE", "UPDATE_COMPLETE"}:
            assert not conflict, (
                f"{version} in {stack} at {hours} h succeeded against {self.live(besides=stack)}"
            )
            assert not failing
            self.deployed[stack] = version
            if hours is not None:
                assert stacks.retention() == hours, "a successful deployment ends at what it declares"
            else:
                self.check_removal(before)
        else:
            assert done.status in {"ROLLBACK_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"}, done.status
            assert failing or conflict or refusal, f"{version} in {stack} failed: {done.failures}"
            assert stacks.retention() == before, "a failed deployment left the pool changed"
            if done.status == "ROLLBACK_COMPLETE":
                self.rolled_back_creation.add(stack)
        self.check_invariant()

    def check_removal(self, before: int | None) -> None:
        """A removal leaves the pool, or sets it to what a live declaration states or the original (the value
        before the first declaration: 24 h, or one set by hand)."""
        after = self.stacks.retention()
        allowed = {*self.live(), ORIGINAL[MEETING], *self.set_by_hand}
        assert after == before or after in allowed, (before, after, self.deployed)
        self.check_invariant()

    def check_invariant(self) -> None:
        retention = self.stacks.retention() or 0
        assert retention >= max(self.live(), default=0), (retention, self.deployed)
        recorded = {(d.stack, d.hours) for d in self.stacks.declarations()}
        expected = {(stack, hours_of(v)) for stack, v in self.deployed.items() if hours_of(v) is not None}
        assert expected <= recorded, "a live declaration is missing from the pool's record"


# Seed 2209, step 9: S (48 h, plain) and T (48 h) declare the pool, a person has set 100 h; S's update to
# 72 h is refused (T declares 48 h) before any change, and the rollback's Update back to 48 h must leave the
# person's 100 h (it once lowered it: a failed deployment changing a value set by hand).


@pytest.mark.parametrize(
    "seed",
    sorted(SEQUENCES),
)
def test_a_seeded_sequence_of_two_stacks_keeps_the_pool_at_or_above_every_live_declaration(
    stacks: Stacks, seed: int
) -> None:
    world = World(stacks)
    for step, operation in enumerate(SEQUENCES[seed]):
        try:
            world.play(operation)
        except AssertionError as failure:
            raise AssertionError(f"seed {seed}, step {step} {operation}: {failure}") from failure

    for stack in ("S", "T"):
        if world.deployed[stack] is not None or stack in world.rolled_back_creation:
            world.play(("delete", stack))
    assert stacks.declarations() == set()
