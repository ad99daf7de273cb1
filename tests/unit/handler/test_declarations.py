"""The record on a pool as tags: written by declaration_tags, read by read_record, trimmed by forget_keys;
and the records 0.1.0 and 0.2.0 left on pools, read as they were written."""

from __future__ import annotations

import re

import pytest
from declarations import (
    MAX_TAG_VALUE_CHARS,
    DamagedRecord,
    Declaration,
    Record,
    Resource,
    declaration_tag,
    declaration_tags,
    forget_keys,
    read_record,
    stack_tag,
)
from retention_rules import MAX_RETENTION_HOURS, ORIGINAL_TAG, TAG_PREFIX

S = "arn:aws:cloudformation:us-east-1:111122223333:stack/Retention/1b2c3d4e-0000-4000-8000-00000000000a"
T = "arn:aws:cloudformation:eu-west-2:111122223333:stack/Other/5f6a7b8c-0000-4000-8000-00000000000b"
S_KEY, T_KEY = "5" * 16, "7" * 16

OWNER_STACK = TAG_PREFIX + "owner-stack"
OWNER = TAG_PREFIX + "owner"
OWNER_HOURS = TAG_PREFIX + "owner-hours"
SUCCESSOR_STACK = TAG_PREFIX + "successor-stack"
SUCCESSOR = TAG_PREFIX + "successor"

TAG_CHARACTERS = re.compile(r"[A-Za-z0-9 _.:/=+\-@]+")  # the general tag character set, never empty


def declared(
    stack: str = S,
    logical: str = "MeetingAudio",
    hours: int = 48,
    *,
    restores: bool = False,
    prior: int | None = 24,
    key: str | None = None,
) -> Declaration:
    return Declaration(
        Resource(stack, logical), hours, restores, prior, key or (S_KEY if stack == S else T_KEY)
    )


def recorded(*declarations: Declaration, original: int | None = 24) -> dict[str, str]:
    """A pool's tags, as the handler leaves them after recording each declaration, among a user's own tag."""
    tags = {"team": "media"}
    if original is not None:
        tags[ORIGINAL_TAG] = str(original)
    for declaration in declarations:
        tags |= declaration_tags(declaration)
    return tags


# --- Writing and reading back ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    "declaration",
    [
        declared(),
        declared(restores=True),
        declared(hours=MAX_RETENTION_HOURS, prior=0),
        declared(T, "Meeting", 1, restores=True, prior=MAX_RETENTION_HOURS),
    ],
    ids=["keep", "restore", "highest-hours-over-0", "other-region"],
)
def test_a_declaration_reads_back_as_written(declaration):
    record = read_record(recorded(declaration))

    assert record.declarations == (declaration,)
    assert record.original == 24
    assert record.of(declaration.resource) == declaration


def test_a_declaration_without_a_prior_records_its_own_hours_as_prior():
    assert read_record(recorded(declared(hours=72, prior=None))).declarations[0].prior == 72


def test_a_record_of_two_stacks_and_a_rename_reads_back_with_one_anchor_a_stack():
    old, renamed, other = declared(), declared(logical="MeetingAudioRenamed", hours=72), declared(T, hours=48)
    tags = recorded(old, renamed, other)

    record = read_record(tags)

    assert set(record.declarations) == {old, renamed, other}
    assert record.stacks() == {S, T}
    assert record.others(old.resource) == tuple(d for d in record.declarations if d != old)
    assert tags[stack_tag(S_KEY)] == S
    assert tags[stack_tag(T_KEY)] == T
    assert len([key for key in tags if key.startswith(TAG_PREFIX + "stack-")]) == 2
    assert record.keys == frozenset(tags) - {"team"}


def test_a_pool_without_a_record_has_no_declarations_and_no_original():
    assert read_record({"team": "media"}) == Record(None, (), frozenset())


def test_the_same_logical_id_in_two_stacks_is_two_declarations():
    assert declaration_tag(Resource(S, "MeetingAudio")) != declaration_tag(Resource(T, "MeetingAudio"))
    assert declaration_tag(Resource(S, "MeetingAudio")) == declaration_tag(Resource(S, "MeetingAudio"))


def test_every_tag_written_keeps_to_the_tag_limits_and_character_set():
    """Longest stack name (128), a partition with a hyphen, the highest hours and the longest id that fits."""
    stack = (
        "arn:aws-us-gov:cloudformation:us-gov-west-1:111122223333:stack/"
        + "R" * 128
        + "/1b2c3d4e-0000-4000-8000-00000000000a"
    )
    fixed = len(f"{MAX_RETENTION_HOURS} restore {MAX_RETENTION_HOURS} {S_KEY} ")
    longest = declared(
        stack,
        "A" * (MAX_TAG_VALUE_CHARS - fixed),
        MAX_RETENTION_HOURS,
        restores=True,
        prior=MAX_RETENTION_HOURS,
        key=T_KEY,
    )

    tags = {ORIGINAL_TAG: "0", **declaration_tags(longest), **declaration_tags(declared(prior=None))}

    for key, value in tags.items():
        assert TAG_CHARACTERS.fullmatch(key), key
        assert TAG_CHARACTERS.fullmatch(value), value  # never empty either
        assert len(key) <= 128
        assert len(value) <= 256
        assert not key.lower().startswith("aws:")
    assert read_record(tags).of(longest.resource) == longest


def test_a_logical_id_too_long_for_a_tag_value_is_refused_saying_what_to_do():
    """CloudFormation allows logical ids of 255 characters; a tag value holds 256 with the hours in it."""
    logical = "MeetingAudio" + "X" * 243

    with pytest.raises(ValueError, match="too long") as refused:
        declaration_tags(declared(logical=logical))

    assert str(refused.value) == (
        f"logical id {logical[:40]}... is too long to record on the pool (a tag value holds 256 characters): "
        "give the construct a shorter id"
    )


# --- Anchors: which stack a declaration belongs to -------------------------------------------------------


def test_a_declaration_whose_anchor_is_missing_belongs_to_a_stack_that_cannot_be_named():
    tags = recorded(declared())
    del tags[stack_tag(S_KEY)]

    (declaration,) = read_record(tags).declarations

    assert declaration.resource == Resource("", "MeetingAudio")
    assert declaration.stack_key == S_KEY
    assert declaration.hours == 48


def test_a_declaration_whose_anchor_names_another_stack_belongs_to_a_stack_that_cannot_be_named():
    """A stack deleted and created again under its name has the same key and a new id."""
    recreated = S.replace("1b2c3d4e", "99999999")
    tags = recorded(declared(), declared(recreated, "Video", 72, key=S_KEY))

    record = read_record(tags)

    assert record.of(Resource(recreated, "Video")) is not None
    assert Resource("", "MeetingAudio") in {d.resource for d in record.declarations}
    # Its own resource still finds it, by the tag its stack id and logical id name.
    assert record.of(Resource(S, "MeetingAudio")) is not None


# --- Forgetting ------------------------------------------------------------------------------------------


def test_forgetting_one_declaration_of_a_stack_keeps_its_anchor_while_another_remains():
    old, renamed = declared(), declared(logical="MeetingAudioRenamed", hours=72)
    record = read_record(recorded(old, renamed, declared(T)))

    assert forget_keys(record, [old], everything=False) == [declaration_tag(old.resource)]


def test_forgetting_a_stacks_last_declaration_removes_its_anchor_and_nothing_of_other_stacks():
    old, renamed = declared(), declared(logical="MeetingAudioRenamed", hours=72)
    record = read_record(recorded(old, renamed, declared(T)))

    assert forget_keys(record, [old, renamed], everything=False) == sorted(
        [declaration_tag(old.resource), declaration_tag(renamed.resource), stack_tag(S_KEY)]
    )


def test_forgetting_everything_removes_every_record_tag_and_no_other():
    tags = {**recorded(declared(), declared(T)), OWNER_STACK: T, OWNER: "Legacy", OWNER_HOURS: "72"}

    forgotten = forget_keys(read_record(tags), [], everything=True)

    assert forgotten == sorted(set(tags) - {"team"})


def test_forgetting_a_tag_already_removed_asks_for_nothing():
    gone = declared(T)
    record = read_record(recorded(declared()))

    assert forget_keys(record, [gone], everything=False) == []


def test_forgetting_a_0_2_0_slot_removes_its_tags_and_keeps_the_anchor_of_its_stack():
    tags = {**recorded(declared()), OWNER_STACK: S, OWNER: "Legacy", OWNER_HOURS: "72"}
    record = read_record(tags)
    legacy = record.legacy_of(Resource(S, "Legacy"))
    assert legacy is not None

    assert forget_keys(record, [legacy], everything=False) == sorted([OWNER_STACK, OWNER, OWNER_HOURS])


def test_forgetting_a_0_2_0_owner_without_hours_removes_only_the_tags_present():
    record = read_record({ORIGINAL_TAG: "24", OWNER_STACK: S, OWNER: "Legacy"})

    assert forget_keys(record, list(record.declarations), everything=False) == [OWNER, OWNER_STACK]


# --- Damaged records -------------------------------------------------------------------------------------

DECLARATION_KEY = declaration_tag(Resource(S, "MeetingAudio"))


@pytest.mark.parametrize(
    ("changed", "named"),
    [
        (
            {ORIGINAL_TAG: "²"},
            f"tag {ORIGINAL_TAG} holds '²', not hours from 0 to 87600",
        ),  # isdigit() says yes
        ({ORIGINAL_TAG: "999999"}, f"tag {ORIGINAL_TAG} holds '999999', not hours"),
        ({ORIGINAL_TAG: "-1"}, f"tag {ORIGINAL_TAG} holds '-1', not hours"),
        ({DECLARATION_KEY: "48 keep"}, f"tag {DECLARATION_KEY} is '48 keep', not a declaration this handler"),
        ({DECLARATION_KEY: f"²48 keep 24 {S_KEY} MeetingAudio"}, f"tag {DECLARATION_KEY} holds '²48'"),
        ({DECLARATION_KEY: f"48 keep a-day {S_KEY} MeetingAudio"}, f"tag {DECLARATION_KEY} holds 'a-day'"),
        ({DECLARATION_KEY: f"48 forever 24 {S_KEY} MeetingAudio"}, f"tag {DECLARATION_KEY} is '48 forever"),
        ({stack_tag(S_KEY): "Retention"}, f"tag {stack_tag(S_KEY)} is 'Retention', not a stack id"),
        ({OWNER_STACK: S, OWNER: "Legacy", OWNER_HOURS: "a week"}, f"tag {OWNER_HOURS} holds 'a week'"),
        ({OWNER_STACK: "Retention", OWNER: "Legacy"}, f"tags {OWNER_STACK} and {OWNER} do not name a stack"),
        ({OWNER_STACK: S, OWNER: ""}, f"tags {OWNER_STACK} and {OWNER} do not name a stack and a resource"),
        ({SUCCESSOR_STACK: "", SUCCESSOR: "Legacy"}, f"tags {SUCCESSOR_STACK} and {SUCCESSOR} do not name"),
    ],
    ids=[
        "original-superscript",
        "original-too-high",
        "original-negative",
        "declaration-truncated",
        "declaration-hours-superscript",
        "declaration-prior-words",
        "declaration-unknown-mode",
        "anchor-not-a-stack-id",
        "owner-hours-words",
        "owner-stack-a-name",
        "owner-empty",
        "successor-without-stack",
    ],
)
def test_a_damaged_record_is_refused_naming_the_tag_and_its_value(changed, named):
    with pytest.raises(DamagedRecord, match=f"^{re.escape(named)}"):
        read_record({**recorded(declared()), **changed})


# --- Records of earlier versions -------------------------------------------------------------------------


@pytest.mark.parametrize("original", [24, 0], ids=["24-hours", "created-with-0"])
def test_a_0_1_0_record_is_its_original_alone(original):
    record = read_record({"team": "media", ORIGINAL_TAG: str(original)})

    assert record == Record(original, (), frozenset({ORIGINAL_TAG}))


# As 0.2.0 wrote them: an owner with its hours; a successor that took the pool over; after a hand-over,
# the successor's tags emptied in the same write that named the new owner.
RECORD_0_2_0 = {
    "team": "media",
    ORIGINAL_TAG: "24",
    OWNER_STACK: S,
    OWNER: "MeetingAudio",
    OWNER_HOURS: "168",
    SUCCESSOR_STACK: T,
    SUCCESSOR: "MeetingAudio",
}


def test_a_0_2_0_owner_and_successor_are_read_as_legacy_declarations():
    record = read_record(RECORD_0_2_0)

    owner_slot = (OWNER_STACK, OWNER, OWNER_HOURS)
    successor_slot = (SUCCESSOR_STACK, SUCCESSOR)
    assert record.original == 24
    assert record.declarations == (
        Declaration(Resource(S, "MeetingAudio"), 168, True, 24, None, owner_slot),
        Declaration(Resource(T, "MeetingAudio"), None, True, None, None, successor_slot),
    )
    assert all(d.legacy for d in record.declarations)
    assert record.of(Resource(S, "MeetingAudio")) is None
    assert record.legacy_of(Resource(S, "MeetingAudio")) == record.declarations[0]


def test_a_0_2_0_record_after_a_hand_over_has_its_owner_alone():
    handed_over = {**RECORD_0_2_0, OWNER_STACK: T, OWNER_HOURS: "200", SUCCESSOR_STACK: "", SUCCESSOR: ""}

    record = read_record(handed_over)

    assert record.declarations == (
        Declaration(Resource(T, "MeetingAudio"), 200, True, 24, None, (OWNER_STACK, OWNER, OWNER_HOURS)),
    )


def test_a_0_2_0_declaration_rewritten_by_its_resource_reads_as_both_until_its_slot_is_forgotten():
    rewritten = declared(hours=168, restores=True)
    record = read_record({**RECORD_0_2_0, **declaration_tags(rewritten)})

    assert record.of(rewritten.resource) == rewritten
    assert record.legacy_of(rewritten.resource) is not None
    assert [d.resource for d in record.others(rewritten.resource)] == [Resource(T, "MeetingAudio")]


# --- Resources -------------------------------------------------------------------------------------------


def test_a_resource_is_named_by_its_stack_name_region_and_account():
    resource = Resource(T, "MeetingAudio")

    assert (resource.stack_name, resource.region, resource.account) == ("Other", "eu-west-2", "111122223333")
    assert str(resource) == "stack Other (resource MeetingAudio)"


def test_a_resource_of_an_unnamed_stack_has_no_region_or_account():
    resource = Resource("", "MeetingAudio")

    assert (resource.stack_name, resource.region, resource.account) == ("", "", "")
