"""The record on a pool: every declaration of it, and its retention before the first one.

Tags on the pool, so the record lives as long as the pool, is shared by every stack that declares it, and
outlasts any function version. Each tag is written whole by one TagResource call; values are never empty.

- `original-retention-hours` = N: the retention before the first recorded declaration (0.1.0's key);
- `stack-<key>` = the declaring stack's id: one per stack; `<key>` is derived at synth (the construct's
  `StackKey` property), so that the role's grant can be conditioned on it (a condition key is literal);
- `declaration-<hash>` = `<hours> <restore|keep> <prior> <key> <logical id>`: one per resource declaring
  the pool; `<hash>` is of the stack id and logical id, `<prior>` the retention the pool had when the
  declaration was first recorded (a rollback of that Create puts it back), `<key>` names its stack's anchor.

A declaration is a claim, not a fact: whether its resource still exists is CloudFormation's to say
(`stack_api.liveness`). 0.2.0's owner and successor slots are read as declarations too, until their own
resources rewrite them. Standard library only: tags in, plain values out, and back.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass, field

from retention_rules import (
    DECLARATION_TAG_PREFIX,
    LEGACY_TAGS,
    MAX_RETENTION_HOURS,
    ORIGINAL_TAG,
    STACK_TAG_PREFIX,
    TAG_PREFIX,
)

MAX_TAG_VALUE_CHARS = 256
_HOURS = re.compile(r"[0-9]{1,6}")  # ASCII digits only: str.isdigit() accepts '²', which int() refuses
_VALUE = re.compile(
    r"(?P<hours>\S+) (?P<restores>restore|keep) (?P<prior>\S+) (?P<key>[0-9a-f]{16}) (?P<logical>\S+)"
)
_STACK_ID = re.compile(r"arn:aws[a-z-]*:cloudformation:[a-z0-9-]+:\d{12}:stack/[^/]+/\S+")
_OWNER_STACK, _OWNER, _OWNER_HOURS, _SUCCESSOR_STACK, _SUCCESSOR = LEGACY_TAGS


class DamagedRecord(ValueError):
    """A record tag holds a value this handler did not write; the message names the tag and its value."""


@dataclass(frozen=True)
class Resource:
    """A retention resource, as CloudFormation names it in every event."""

    stack_id: str
    logical_id: str

    @property
    def stack_name(self) -> str:
        parts = self.stack_id.split("/")
        return parts[1] if len(parts) >= 3 else self.stack_id

    @property
    def region(self) -> str:
        return self.stack_id.split(":")[3] if self.stack_id.count(":") >= 5 else ""

    @property
    def account(self) -> str:
        return self.stack_id.split(":")[4] if self.stack_id.count(":") >= 5 else ""

    def __str__(self) -> str:
        return f"stack {self.stack_name} (resource {self.logical_id})"


@dataclass(frozen=True)
class Declaration:
    """What one resource declares for the pool. `hours` is None for a 0.2.0 successor, which recorded none."""

    resource: Resource
    hours: int | None
    restores: bool
    prior: int | None
    stack_key: str | None = None  # None: a 0.2.0 record, in its owner or successor slot
    legacy_slot: tuple[str, ...] = ()  # that slot's tags
    # The tag it was read from: an unnamed stack's declaration cannot be derived again.
    tag: str = field(default="", compare=False)

    @property
    def legacy(self) -> bool:
        return self.stack_key is None


@dataclass(frozen=True)
class Record:
    """Every declaration on the pool, and the retention before the first one."""

    original: int | None
    declarations: tuple[Declaration, ...]
    keys: frozenset[str]  # every record tag present, for forgetting what is stale

    def of(self, resource: Resource) -> Declaration | None:
        return next((d for d in self.declarations if _is(d, resource) and not d.legacy), None)

    def legacy_of(self, resource: Resource) -> Declaration | None:
        return next((d for d in self.declarations if d.resource == resource and d.legacy), None)

    def others(self, resource: Resource) -> tuple[Declaration, ...]:
        return tuple(d for d in self.declarations if not _is(d, resource))

    def stacks(self) -> frozenset[str]:
        return frozenset(d.resource.stack_id for d in self.declarations)


def _is(declaration: Declaration, resource: Resource) -> bool:
    """Whether `declaration` is `resource`'s: by name, or by its tag (its stack's anchor overwritten)."""
    return declaration.resource == resource or (
        bool(declaration.tag) and declaration.tag == declaration_tag(resource)
    )


def declaration_tag(resource: Resource) -> str:
    digest = hashlib.sha256(f"{resource.stack_id} {resource.logical_id}".encode()).hexdigest()[:24]
    return DECLARATION_TAG_PREFIX + digest


def stack_tag(key: str) -> str:
    return STACK_TAG_PREFIX + key


def declaration_tags(declaration: Declaration) -> dict[str, str]:
    """The tags that record `declaration`: its anchor and itself, written in one call."""
    assert declaration.stack_key is not None
    assert declaration.hours is not None
    resource = declaration.resource
    value = (
        f"{declaration.hours} {'restore' if declaration.restores else 'keep'} "
        f"{declaration.prior if declaration.prior is not None else declaration.hours} "
        f"{declaration.stack_key} {resource.logical_id}"
    )
    if len(value) > MAX_TAG_VALUE_CHARS:
        raise ValueError(
            f"logical id {resource.logical_id[:40]}... is too long to record on the pool (a tag value holds "
            f"{MAX_TAG_VALUE_CHARS} characters): give the construct a shorter id"
        )
    return {stack_tag(declaration.stack_key): resource.stack_id, declaration_tag(resource): value}


def forget_keys(record: Record, gone: list[Declaration], *, everything: bool) -> list[str]:
    """The tags to remove for `gone` declarations: theirs, their stacks' anchors once no declaration of
    that stack is left, and the whole record (the original included) when `everything`."""
    if everything:
        return sorted(record.keys)
    gone_resources = {d.resource for d in gone}
    keys = set()
    for declaration in gone:
        if declaration.legacy:
            keys |= set(declaration.legacy_slot)
            continue
        keys.add(declaration.tag or declaration_tag(declaration.resource))
    remaining_stacks = {
        d.stack_key for d in record.declarations if d.resource not in gone_resources and not d.legacy
    }
    for declaration in gone:
        if declaration.stack_key is not None and declaration.stack_key not in remaining_stacks:
            keys.add(stack_tag(declaration.stack_key))
    return sorted(key for key in keys if key in record.keys)


def read_record(tags: dict[str, str]) -> Record:
    """The record among a pool's tags (possibly empty). Raises DamagedRecord naming the tag."""
    ours = {key: value for key, value in tags.items() if key.startswith(TAG_PREFIX)}
    original = _hours(ours, ORIGINAL_TAG) if ours.get(ORIGINAL_TAG) else None
    anchors = {
        key.removeprefix(STACK_TAG_PREFIX): value
        for key, value in ours.items()
        if key.startswith(STACK_TAG_PREFIX)
    }
    for key, value in anchors.items():
        if not _STACK_ID.fullmatch(value):
            raise DamagedRecord(f"tag {stack_tag(key)} is {value[:40]!r}, not a stack id")
    declarations = [
        _declaration(key, value, anchors)
        for key, value in ours.items()
        if key.startswith(DECLARATION_TAG_PREFIX)
    ]
    declarations += _legacy(ours, original)
    return Record(original, tuple(declarations), frozenset(ours))


def _declaration(key: str, value: str, anchors: dict[str, str]) -> Declaration:
    match = _VALUE.fullmatch(value)
    if match is None:
        raise DamagedRecord(f"tag {key} is {value[:40]!r}, not a declaration this handler wrote")
    hours, prior = _hours({key: match["hours"]}, key), _hours({key: match["prior"]}, key)
    stack_id = anchors.get(match["key"])
    resource = Resource(stack_id or "", match["logical"])
    if stack_id is None or declaration_tag(resource) != key:
        # The anchor is missing or now names another stack (one of the same name, recreated): the
        # declaration's stack cannot be named, so its liveness stays unknown (stack id "").
        resource = Resource("", match["logical"])
    return Declaration(resource, hours, match["restores"] == "restore", prior, match["key"], tag=key)


def _legacy(tags: dict[str, str], original: int | None) -> list[Declaration]:
    """0.2.0's owner (restore_on_delete, its hours recorded) and pending successor (hours unknown)."""
    found = []
    owner_stack, owner = tags.get(_OWNER_STACK, ""), tags.get(_OWNER, "")
    if owner_stack or owner:
        if not _STACK_ID.fullmatch(owner_stack) or not owner:
            raise DamagedRecord(f"tags {_OWNER_STACK} and {_OWNER} do not name a stack and a resource")
        hours = _hours(tags, _OWNER_HOURS) if tags.get(_OWNER_HOURS) else None
        found.append(
            Declaration(
                Resource(owner_stack, owner),
                hours,
                True,
                original,
                legacy_slot=(_OWNER_STACK, _OWNER, _OWNER_HOURS),
            )
        )
    successor_stack, successor = tags.get(_SUCCESSOR_STACK, ""), tags.get(_SUCCESSOR, "")
    if successor_stack or successor:
        if not _STACK_ID.fullmatch(successor_stack) or not successor:
            raise DamagedRecord(
                f"tags {_SUCCESSOR_STACK} and {_SUCCESSOR} do not name a stack and a resource"
            )
        found.append(
            Declaration(
                Resource(successor_stack, successor),
                None,
                True,
                None,
                legacy_slot=(_SUCCESSOR_STACK, _SUCCESSOR),
            )
        )
    return found


def _hours(tags: dict[str, str], key: str) -> int:
    value = tags[key]
    if not _HOURS.fullmatch(value) or int(value) > MAX_RETENTION_HOURS:
        raise DamagedRecord(f"tag {key} holds {value[:20]!r}, not hours from 0 to {MAX_RETENTION_HOURS}")
    return int(value)
