"""The record a `restore_on_delete` resource keeps on its pool, and what each event does with it.

Tags on the pool, so the record lives as long as the pool and outlasts any function version:

- `original-retention-hours`: the pool's retention before any retention resource changed it (the key
  0.1.0 wrote, so its records stay readable);
- `owner-stack`, `owner`, `owner-hours`: the resource (stack id, logical id) whose Delete restores the
  original, and the retention it declares;
- `successor-stack`, `successor`: a resource that took the pool over while the owner still exists.

Why a successor and not a new owner at once: CloudFormation creates a renamed or moved resource in the
update phase and deletes the old one only in the cleanup phase; if the deployment fails in between, it
deletes the new one instead and never tells the old one. So a take-over is pending until the old owner's
Delete hands the record over. A successor's own Delete steps back (the pool back to what the owner
declares) unless its owner is known to be gone: only then (the owner was in the successor's own stack,
and that stack no longer declares it) does the successor restore, as the last resource holding the pool.

Each change of the record is one TagResource or UntagResource call, so the record is never half written,
and each is made while the tags still authorize it: the role's
account-wide grant is conditioned on `owner-stack` or `successor-stack` naming the role's stack, which is
how a Delete in the cleanup phase, after the exact grant for its pool is gone, may still restore it.

Standard library only: plain values in, plain decisions out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum

PREFIX = "kvs-pool-retention:"
ORIGINAL = PREFIX + "original-retention-hours"
OWNER_STACK = PREFIX + "owner-stack"
OWNER = PREFIX + "owner"
OWNER_HOURS = PREFIX + "owner-hours"
SUCCESSOR_STACK = PREFIX + "successor-stack"
SUCCESSOR = PREFIX + "successor"
RECORD_KEYS = (ORIGINAL, OWNER_STACK, OWNER, OWNER_HOURS, SUCCESSOR_STACK, SUCCESSOR)

MAX_RECORDED_HOURS = 87_600  # a pool's retention never exceeds Kinesis Video Streams' ten years
_HOURS = re.compile(r"[0-9]{1,6}")  # ASCII digits only: str.isdigit() accepts '²', which int() refuses


class DamagedRecord(ValueError):
    """A record tag holds a value this handler did not write; the message names the tag and value."""


@dataclass(frozen=True)
class Holder:
    """A retention resource, as CloudFormation names it in every event."""

    stack_id: str
    logical_id: str

    def __str__(self) -> str:
        stack = self.stack_id.split("/")[1] if self.stack_id.count("/") >= 2 else self.stack_id
        return f"{stack}/{self.logical_id}"


@dataclass(frozen=True)
class PoolRecord:
    original: int
    owner: Holder | None  # None: written by 0.1.0, which named no owner
    owner_hours: int | None
    successor: Holder | None = None

    def held_by(self, resource: Holder) -> bool:
        """Whether `resource` owns the record: as named, or as the unnamed owner of a 0.1.0 record that no
        other resource has taken over."""
        if self.owner is not None:
            return self.owner == resource
        return self.successor != resource


def read_record(tags: dict[str, str]) -> PoolRecord | None:
    """The record among a pool's tags; None when there is none (owner or successor tags without the
    original are what an earlier version's restore left behind: no record). Raises DamagedRecord."""
    if ORIGINAL not in tags:
        return None
    original = _hours(tags, ORIGINAL)
    if original is None:
        raise DamagedRecord(f"tag {ORIGINAL} is empty")
    return PoolRecord(
        original=original,
        owner=_holder(tags, OWNER_STACK, OWNER),
        owner_hours=_hours(tags, OWNER_HOURS),
        successor=_holder(tags, SUCCESSOR_STACK, SUCCESSOR),
    )


def _hours(tags: dict[str, str], key: str) -> int | None:
    value = tags.get(key, "")
    if value == "":
        return None
    if not _HOURS.fullmatch(value) or int(value) > MAX_RECORDED_HOURS:
        raise DamagedRecord(f"tag {key} is {value[:20]!r}, not hours from 0 to {MAX_RECORDED_HOURS}")
    return int(value)


def _holder(tags: dict[str, str], stack_key: str, logical_key: str) -> Holder | None:
    stack, logical = tags.get(stack_key, ""), tags.get(logical_key, "")
    if not stack and not logical:
        return None
    if not stack.startswith("arn:") or ":stack/" not in stack or not logical:
        raise DamagedRecord(f"tags {stack_key} and {logical_key} do not name a stack and a resource")
    return Holder(stack, logical)


# --- Create and Update of a restore_on_delete resource ------------------------------------------------


def tags_on_apply(
    record: PoolRecord | None, resource: Holder, *, new_to_pool: bool, current: int, declared: int
) -> dict[str, str]:
    """The tags to write before `resource` brings the pool from `current` to `declared` hours; {} for none.

    `new_to_pool`: a Create, or an Update that moved the resource to this pool (CloudFormation may still
    delete the resource that held it, or roll this one back).
    """
    if record is None:
        # Recorded even when nothing changes: the record also names the stack whose grant lets the
        # resource's Delete reach the pool after its exact grant is gone (a removal's cleanup phase).
        return {ORIGINAL: str(current), **_owner_tags(resource, declared)}
    if record.successor == resource:
        return {}  # already taken over, waiting for the owner's hand-over
    if record.owner == resource:
        return {} if record.owner_hours == declared else {OWNER_HOURS: str(declared)}
    if record.owner is None:
        # 0.1.0's record names no owner: the first resource to meet it adopts it (its own resource's Update
        # after the upgrade, or a resource that took it over).
        return _owner_tags(resource, declared)
    return {SUCCESSOR_STACK: resource.stack_id, SUCCESSOR: resource.logical_id}


def _owner_tags(resource: Holder, hours: int) -> dict[str, str]:
    return {OWNER_STACK: resource.stack_id, OWNER: resource.logical_id, OWNER_HOURS: str(hours)}


# --- Delete of a restore_on_delete resource ---------------------------------------------------------


class Release(Enum):
    NOT_HELD = "not held"  # another resource owns the record: leave the pool
    HAND_OVER = "hand over"  # the owner leaves while a successor holds the pool: it becomes the owner
    STEP_BACK = "step back"  # a successor leaves while the owner may hold the pool: back to the owner
    RESTORE = "restore"  # the last resource holding the pool: put back the original


def release_on_delete(record: PoolRecord, resource: Holder, *, owner_gone: bool = False) -> Release:
    """What `resource`'s Delete does with the record. A successor's Delete depends on whether its owner is
    known to be gone (`owner_gone`)."""
    if record.successor == resource:
        # A successor whose owner is gone is the last resource holding the pool (the owner's hand-over
        # never came: it was retained, or its Delete was lost). One whose owner is there (a rollback, or a
        # move between stacks abandoned) gives the pool back to it.
        return Release.RESTORE if owner_gone else Release.STEP_BACK
    if not record.held_by(resource):
        return Release.NOT_HELD
    return Release.HAND_OVER if record.successor is not None else Release.RESTORE


def hand_over_tags(record: PoolRecord, current: int) -> dict[str, str]:
    """The successor becomes the owner, declaring the retention it set; the successor tags are emptied in
    the same call (an empty value is no successor), so no moment has the pool without a holder."""
    assert record.successor is not None
    return {**_owner_tags(record.successor, current), SUCCESSOR_STACK: "", SUCCESSOR: ""}


STEP_BACK_TAGS = {SUCCESSOR_STACK: "", SUCCESSOR: ""}


def present_keys(tags: dict[str, str]) -> list[str]:
    """The record's keys a pool carries, for removing the whole record in one call."""
    return [key for key in RECORD_KEYS if key in tags]
