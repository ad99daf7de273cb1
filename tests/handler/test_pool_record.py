"""The record on a pool and what each event does with it: plain values in, decisions out."""

from __future__ import annotations

import pytest
from pool_record import (
    ORIGINAL,
    OWNER,
    OWNER_HOURS,
    OWNER_STACK,
    SUCCESSOR,
    SUCCESSOR_STACK,
    DamagedRecord,
    Holder,
    PoolRecord,
    Release,
    hand_over_tags,
    read_record,
    release_on_delete,
    tags_on_apply,
)

STACK = "arn:aws:cloudformation:us-east-1:111122223333:stack/Retention/1b2c3d4e"
OTHER_STACK = "arn:aws:cloudformation:us-east-1:111122223333:stack/Other/5f6a7b8c"
OLD = Holder(STACK, "MeetingAudio")  # a construct before its rename
NEW = Holder(STACK, "MeetingAudioRenamed")
ELSEWHERE = Holder(OTHER_STACK, "MeetingAudio")


def owned(by: Holder = OLD, hours: int = 168, successor: Holder | None = None) -> PoolRecord:
    return PoolRecord(original=24, owner=by, owner_hours=hours, successor=successor)


def tags(record: PoolRecord) -> dict[str, str]:
    written = {ORIGINAL: str(record.original)}
    if record.owner:
        written |= {OWNER_STACK: record.owner.stack_id, OWNER: record.owner.logical_id}
    if record.owner_hours is not None:
        written[OWNER_HOURS] = str(record.owner_hours)
    if record.successor:
        written |= {SUCCESSOR_STACK: record.successor.stack_id, SUCCESSOR: record.successor.logical_id}
    return written


@pytest.mark.parametrize(
    "record",
    [owned(), owned(successor=NEW), PoolRecord(original=0, owner=None, owner_hours=None)],
    ids=["owned", "taken-over", "written-by-0.1.0"],
)
def test_a_record_reads_back_as_written(record):
    assert read_record({"team": "media", **tags(record)}) == record


def test_a_pool_without_the_record_has_none():
    assert read_record({"team": "media"}) is None


def test_emptied_successor_tags_mean_no_successor():
    assert read_record({**tags(owned()), SUCCESSOR_STACK: "", SUCCESSOR: ""}).successor is None


@pytest.mark.parametrize(
    ("changed", "named"),
    [
        ({ORIGINAL: "²"}, f"tag {ORIGINAL} is '²'"),  # str.isdigit() says yes; int() says no
        ({ORIGINAL: "999999"}, f"tag {ORIGINAL} is '999999', not hours from 0 to 87600"),
        ({ORIGINAL: ""}, f"tag {ORIGINAL} is empty"),
        ({ORIGINAL: "-1"}, f"tag {ORIGINAL} is '-1'"),
        ({OWNER_HOURS: "a week"}, f"tag {OWNER_HOURS} is 'a week'"),
        ({OWNER_STACK: "Retention"}, f"tags {OWNER_STACK} and {OWNER} do not name a stack and a resource"),
        ({OWNER: ""}, f"tags {OWNER_STACK} and {OWNER} do not name"),
    ],
)
def test_a_damaged_record_is_named_with_the_tag_and_its_value(changed, named):
    with pytest.raises(DamagedRecord, match=f"^{named}"):
        read_record({**tags(owned()), **changed})


def test_record_tags_without_the_original_are_leftovers_not_a_record():
    """What 0.1.0's restore leaves after a rollback to it: it removes the original's tag only."""
    assert read_record({OWNER_STACK: STACK, OWNER: "MeetingAudio", OWNER_HOURS: "48"}) is None


# --- Create and Update --------------------------------------------------------------------------------


def test_the_first_change_records_the_original_and_its_owner():
    assert tags_on_apply(None, OLD, new_to_pool=True, current=24, declared=168) == {
        ORIGINAL: "24",
        OWNER_STACK: STACK,
        OWNER: "MeetingAudio",
        OWNER_HOURS: "168",
    }


def test_a_resource_finding_its_retention_already_set_records_it_too():
    """So that its removal's Delete, once the exact grant is gone, is still allowed to read the pool."""
    assert tags_on_apply(None, OLD, new_to_pool=True, current=168, declared=168) == {
        ORIGINAL: "168",
        OWNER_STACK: STACK,
        OWNER: "MeetingAudio",
        OWNER_HOURS: "168",
    }


def test_the_owner_changing_its_retention_records_only_the_new_hours():
    assert tags_on_apply(owned(), OLD, new_to_pool=False, current=168, declared=72) == {OWNER_HOURS: "72"}
    assert tags_on_apply(owned(), OLD, new_to_pool=False, current=168, declared=168) == {}


@pytest.mark.parametrize("taker", [NEW, ELSEWHERE], ids=["renamed", "other-stack"])
def test_a_resource_taking_over_a_held_pool_becomes_its_successor_keeping_the_original(taker):
    written = tags_on_apply(owned(), taker, new_to_pool=True, current=168, declared=200)

    assert written == {SUCCESSOR_STACK: taker.stack_id, SUCCESSOR: taker.logical_id}
    assert ORIGINAL not in written
    assert OWNER not in written


def test_a_successor_asked_again_writes_nothing():
    assert tags_on_apply(owned(successor=NEW), NEW, new_to_pool=True, current=200, declared=200) == {}


@pytest.mark.parametrize("new_to_pool", [False, True], ids=["its-resources-update", "a-new-resource"])
def test_a_record_of_0_1_0_is_adopted_by_the_first_resource_to_meet_it(new_to_pool):
    legacy = PoolRecord(original=24, owner=None, owner_hours=None)

    assert tags_on_apply(legacy, OLD, new_to_pool=new_to_pool, current=168, declared=168) == {
        OWNER_STACK: STACK,
        OWNER: "MeetingAudio",
        OWNER_HOURS: "168",
    }


# --- Delete ------------------------------------------------------------------------------------------


def test_the_last_holder_restores():
    assert release_on_delete(owned(), OLD) is Release.RESTORE


def test_an_owner_with_a_successor_hands_over_instead_of_restoring():
    assert release_on_delete(owned(successor=NEW), OLD) is Release.HAND_OVER


def test_a_resource_that_no_longer_holds_the_record_leaves_the_pool():
    assert release_on_delete(owned(by=NEW), OLD) is Release.NOT_HELD


def test_a_successor_steps_back_while_its_owner_may_be_there_and_restores_only_once_it_is_gone():
    assert release_on_delete(owned(successor=NEW), NEW, owner_gone=False) is Release.STEP_BACK
    assert release_on_delete(owned(successor=NEW), NEW, owner_gone=True) is Release.RESTORE


def test_the_unnamed_owner_of_a_0_1_0_record_restores_or_hands_over():
    legacy = PoolRecord(original=24, owner=None, owner_hours=None)

    assert release_on_delete(legacy, OLD) is Release.RESTORE
    assert release_on_delete(PoolRecord(24, None, None, successor=NEW), OLD) is Release.HAND_OVER


def test_hand_over_names_the_successor_as_owner_and_empties_the_successor_in_one_write():
    assert hand_over_tags(owned(successor=ELSEWHERE), current=200) == {
        OWNER_STACK: OTHER_STACK,
        OWNER: "MeetingAudio",
        OWNER_HOURS: "200",
        SUCCESSOR_STACK: "",
        SUCCESSOR: "",
    }


def test_a_holder_prints_as_stack_name_and_logical_id():
    assert str(ELSEWHERE) == "Other/MeetingAudio"
