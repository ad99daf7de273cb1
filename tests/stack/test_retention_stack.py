"""The construct's synthesized stacks played through CloudFormation's phases against the real handler asset:
what a pool's retention and record are after each operation of one stack (or a pool moving between two),
with every call authorized by the role the template grants. The two-stack scenarios of issue 22 are in
test_declaring_stacks.py; the stack versions in retention_stacks.py."""

from __future__ import annotations

import pytest

from tests.stack.retention_stacks import (
    MEETING,
    Declared,
    Stacks,
    construct_of,
    failed,
    once_status_contains,
    requests_of,
)

pytestmark = pytest.mark.integration

OTHER_ARN = "arn:aws:chime:us-east-1:111122223333:media-pipeline-kinesis-video-stream-pool/other-audio"


def test_a_stack_sets_its_pools_and_its_deletion_puts_back_only_what_it_restores(stacks: Stacks) -> None:
    created = stacks.deploy("Retention", "Declared")
    assert created.status == "CREATE_COMPLETE", created.failures
    assert stacks.retentions() == {MEETING: 48, "support-audio": 48, "other-audio": 36}
    assert stacks.declarations() == {Declared("Retention", "Meeting", 48, True)}
    assert stacks.declarations("support-audio") == {Declared("Retention", "Support", 48, False)}

    raised = stacks.deploy("Retention", "Raised")
    assert raised.status == "UPDATE_COMPLETE", raised.failures
    assert stacks.retentions() == {MEETING: 72, "support-audio": 72, "other-audio": 36}

    deleted = stacks.delete("Retention")
    assert deleted.status == "DELETE_COMPLETE", deleted.failures
    assert stacks.retentions() == {MEETING: 24, "support-audio": 72, "other-audio": 36}
    assert stacks.tags() == {}
    assert stacks.tags("support-audio") == {}
    stacks.assert_nothing_denied()


def test_a_first_deployment_of_twenty_pools_sets_and_records_each(stacks: Stacks) -> None:
    pools = [f"pool-{index:02d}" for index in range(20)]
    for pool in pools:
        stacks.pool_api.add_pool(pool, retention=24)

    created = stacks.deploy("Twenty", "Twenty")

    assert created.status == "CREATE_COMPLETE", created.failures
    assert len(created.requests) == 20
    assert [stacks.retention(pool) for pool in pools] == [48] * 20
    assert [stacks.declarations(pool) for pool in pools] == [
        {Declared("Twenty", f"Pool{index}", 48, index % 4 == 0)} for index in range(20)
    ]
    deleted = stacks.delete("Twenty")
    assert deleted.status == "DELETE_COMPLETE", deleted.failures
    assert [stacks.retention(pool) for pool in pools] == [24 if index % 4 == 0 else 48 for index in range(20)]
    assert [stacks.tags(pool) for pool in pools] == [{}] * 20
    stacks.assert_nothing_denied()


def test_a_removed_resource_restores_its_pool_in_the_cleanup_after_its_grant_is_gone(stacks: Stacks) -> None:
    stacks.deploy("Retention", "Declared")

    removed = stacks.deploy("Retention", "SupportOnly")

    assert removed.status == "UPDATE_COMPLETE", removed.failures
    assert [(r.request_type, r.stack_status) for r in removed.requests] == [
        ("Delete", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    ]
    assert stacks.retention() == 24
    assert stacks.tags() == {}
    stacks.assert_nothing_denied()


def test_a_renamed_resource_keeps_the_pool_at_its_retention_through_the_cleanup(stacks: Stacks) -> None:
    stacks.deploy("Retention", "Declared")

    renamed = stacks.deploy("Retention", "Renamed")

    assert renamed.status == "UPDATE_COMPLETE", renamed.failures
    assert [(r.request_type, construct_of(r.logical_id), r.stack_status) for r in renamed.requests] == [
        ("Create", "MeetingRenamed", "UPDATE_IN_PROGRESS"),
        ("Delete", "Meeting", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
    ]
    assert stacks.retention() == 48
    assert stacks.declarations() == {Declared("Retention", "MeetingRenamed", 48, True)}
    stacks.delete("Retention")
    assert stacks.retention() == 24
    stacks.assert_nothing_denied()


def test_a_rename_rolled_back_leaves_the_pool_with_its_first_resource(stacks: Stacks) -> None:
    stacks.deploy("Retention", "Declared")

    rolled_back = stacks.deploy("Retention", "RenamedWithMissingPool")

    assert rolled_back.status == "UPDATE_ROLLBACK_COMPLETE"
    assert [construct_of(event.logical_id) for event in rolled_back.failures] == ["Missing"]
    assert stacks.retention() == 48
    assert stacks.declarations() == {Declared("Retention", "Meeting", 48, True)}
    stacks.delete("Retention")
    assert stacks.retention() == 24
    stacks.assert_nothing_denied()


def test_a_rename_with_a_new_retention_keeps_it_and_the_original_for_the_stacks_deletion(
    stacks: Stacks,
) -> None:
    stacks.deploy("Retention", "Declared")

    renamed = stacks.deploy("Retention", "RenamedRaised")

    assert renamed.status == "UPDATE_COMPLETE", renamed.failures
    assert stacks.retention() == 168
    assert stacks.declarations() == {Declared("Retention", "MeetingRenamed", 168, True)}
    assert stacks.original() == 24
    stacks.delete("Retention")
    assert stacks.retention() == 24
    stacks.assert_nothing_denied()


def test_a_rename_with_a_new_retention_rolled_back_puts_back_what_the_first_resource_declares(
    stacks: Stacks,
) -> None:
    stacks.deploy("Retention", "Declared")

    rolled_back = stacks.deploy("Retention", "RenamedRaisedWithMissingPool")

    assert rolled_back.status == "UPDATE_ROLLBACK_COMPLETE"
    assert ("Delete", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS") in [
        (r.request_type, r.stack_status) for r in requests_of(rolled_back, "MeetingRenamed")
    ]
    assert stacks.retention() == 48
    assert stacks.declarations() == {Declared("Retention", "Meeting", 48, True)}
    assert stacks.original() == 24
    stacks.delete("Retention")
    assert stacks.retention() == 24
    stacks.assert_nothing_denied()


@pytest.mark.parametrize(
    ("declared", "renamed"),
    [("Declared", "RenamedPlainLowerWithMissingPool"), ("PlainDeclared", "PlainRenamedLowerWithMissingPool")],
)
def test_a_rename_to_a_lower_retention_rolled_back_puts_back_what_the_old_resource_declares(
    stacks: Stacks, declared: str, renamed: str
) -> None:
    """The new resource set 12 h; the old one gets no event in the rollback. The new one's Delete, a
    rollback's, brings the pool back to the 48 h the old one still declares, restore_on_delete or not."""
    stacks.deploy("Retention", declared)

    rolled_back = stacks.deploy("Retention", renamed)

    assert rolled_back.status == "UPDATE_ROLLBACK_COMPLETE"
    assert stacks.retention() == 48
    assert {(d.construct, d.hours) for d in stacks.declarations()} == {("Meeting", 48)}
    stacks.assert_nothing_denied()


def test_a_rename_that_drops_restore_on_delete_keeps_the_pool_and_its_deletion_leaves_it(
    stacks: Stacks,
) -> None:
    stacks.deploy("Retention", "Declared")

    renamed = stacks.deploy("Retention", "RenamedWithoutRestore")

    assert renamed.status == "UPDATE_COMPLETE", renamed.failures
    assert stacks.retention() == 48
    assert stacks.declarations() == {Declared("Retention", "MeetingPlain", 48, False)}
    stacks.delete("Retention")
    assert stacks.retention() == 48  # the last declaration to leave does not restore
    assert stacks.tags() == {}
    stacks.assert_nothing_denied()


def test_turning_restore_on_delete_off_keeps_the_declaration_and_the_pool_stays_on_deletion(
    stacks: Stacks,
) -> None:
    stacks.deploy("Retention", "Declared")

    turned_off = stacks.deploy("Retention", "MeetingWithoutRestore")
    assert stacks.declarations() == {Declared("Retention", "Meeting", 48, False)}
    deleted = stacks.delete("Retention")

    assert turned_off.status == "UPDATE_COMPLETE", turned_off.failures
    assert deleted.status == "DELETE_COMPLETE", deleted.failures
    assert stacks.retention() == 48
    assert stacks.tags() == {}
    stacks.assert_nothing_denied()


def test_a_resource_declared_at_the_pools_retention_is_recorded_so_its_removal_reaches_the_pool(
    stacks: Stacks,
) -> None:
    stacks.deploy("Retention", "AtCurrent")
    assert stacks.declarations() == {Declared("Retention", "Meeting", 24, True)}
    assert stacks.original() == 24

    removed = stacks.deploy("Retention", "SupportOnly")

    assert removed.status == "UPDATE_COMPLETE", removed.failures
    assert stacks.tags() == {}
    assert stacks.retention() == 24
    stacks.assert_nothing_denied()


def test_a_move_to_another_pool_restores_the_first_in_the_cleanup_and_the_second_on_deletion(
    stacks: Stacks,
) -> None:
    stacks.deploy("Retention", "Declared")

    moved = stacks.deploy("Retention", "Moved")

    assert moved.status == "UPDATE_COMPLETE", moved.failures
    assert stacks.retention() == 24
    assert stacks.retention("other-audio") == 48
    assert stacks.tags() == {}
    assert stacks.declarations("other-audio") == {Declared("Retention", "Meeting", 48, True)}
    stacks.delete("Retention")
    assert stacks.retention("other-audio") == 36
    stacks.assert_nothing_denied()


def test_a_failed_move_rolled_back_leaves_both_pools_as_declared_before_it(stacks: Stacks) -> None:
    stacks.deploy("Retention", "Declared")

    rolled_back = stacks.deploy("Retention", "MovedWithMissingPool")

    assert rolled_back.status == "UPDATE_ROLLBACK_COMPLETE"
    assert stacks.retentions() == {MEETING: 48, "support-audio": 48, "other-audio": 36}
    assert stacks.declarations() == {Declared("Retention", "Meeting", 48, True)}
    assert stacks.tags("other-audio") == {}
    stacks.assert_nothing_denied()


def test_a_move_that_failed_after_changing_the_new_pool_reaches_it_in_the_rollback(stacks: Stacks) -> None:
    stacks.deploy("Retention", "Declared")
    stacks.pool_api.pools["other-audio"].settles_as = "FAILED"  # the update it makes leaves the pool broken

    rolled_back = stacks.deploy("Retention", "Moved")

    assert rolled_back.status == "UPDATE_ROLLBACK_COMPLETE"
    meeting = [(r.request_type, r.physical_id, r.stack_status) for r in requests_of(rolled_back, "Meeting")]
    # The FAILED Update named the pool it had changed, so the rollback's cleanup deletes that id: the Delete
    # reaches the broken pool, says what it could not put back, and answers SUCCESS.
    assert meeting[-1] == ("Delete", OTHER_ARN, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    (delete,) = (r for r in rolled_back.requests if r.request_type == "Delete")
    assert delete.status == "SUCCESS"
    assert "NOT put back" in delete.logs
    assert stacks.retention() == 48
    assert stacks.declarations() == {Declared("Retention", "Meeting", 48, True)}
    stacks.assert_nothing_denied()


def test_a_failed_create_rolled_back_puts_back_every_pool_it_changed(stacks: Stacks) -> None:
    """restore_on_delete or not: a deployment that failed leaves each pool as it found it."""
    rolled_back = stacks.deploy("Retention", "DeclaredWithMissingPool")

    assert rolled_back.status == "ROLLBACK_COMPLETE"
    assert "Pool no-such-pool" in failed(rolled_back, "Missing").reason
    assert stacks.retentions() == {MEETING: 24, "support-audio": 12, "other-audio": 36}
    assert stacks.tags() == {}
    assert stacks.tags("support-audio") == {}
    stacks.assert_nothing_denied()


def test_a_damaged_record_or_a_pool_gone_never_blocks_the_stacks_deletion(stacks: Stacks) -> None:
    stacks.deploy("Retention", "Declared")
    stacks.pool_api.pools[MEETING].tags["kvs-pool-retention:original-retention-hours"] = "²"
    del stacks.pool_api.pools["support-audio"]

    deleted = stacks.delete("Retention")

    assert deleted.status == "DELETE_COMPLETE", deleted.failures
    meeting, support = (requests_of(deleted, name)[0] for name in ("Meeting", "Support"))
    assert meeting.status == "SUCCESS"
    assert support.status == "SUCCESS"
    assert "NOT put back: its record is damaged" in meeting.logs
    assert "original-retention-hours" in meeting.logs  # the tag to correct
    assert "no longer exists" in support.logs
    assert stacks.retention() == 48


def test_a_pool_moved_to_another_stack_keeps_its_retention(stacks: Stacks) -> None:
    stacks.deploy("Retention", "Declared")
    taken = stacks.deploy("Audio", "MeetingOnly")

    cleaned = stacks.deploy("Retention", "SupportOnly")

    assert taken.status == "CREATE_COMPLETE", taken.failures
    assert cleaned.status == "UPDATE_COMPLETE", cleaned.failures
    assert [r.request_type for r in cleaned.requests] == ["Delete"]
    assert stacks.retention() == 48
    assert stacks.declarations() == {Declared("Audio", "Meeting", 48, True)}
    assert stacks.original() == 24
    stacks.delete("Audio")
    assert stacks.retention() == 24
    stacks.assert_nothing_denied()


def test_a_pool_moved_to_another_stack_in_the_other_order_is_restored_then_set_again(stacks: Stacks) -> None:
    stacks.deploy("Retention", "Declared")

    stacks.deploy("Retention", "SupportOnly")
    assert stacks.retention() == 24
    taken = stacks.deploy("Audio", "MeetingOnly")

    assert taken.status == "CREATE_COMPLETE", taken.failures
    assert stacks.retention() == 48
    stacks.delete("Audio")
    assert stacks.retention() == 24
    stacks.assert_nothing_denied()


def test_a_pool_two_stacks_restore_keeps_the_remaining_ones_retention_until_the_last_goes(
    stacks: Stacks,
) -> None:
    """Whether the second stack's resource is removed or its stack deleted, the first still declares 48 h."""
    stacks.deploy("Retention", "MeetingOnly")
    stacks.deploy("Other", "Declared")

    removed = stacks.deploy("Other", "Empty")

    assert removed.status == "UPDATE_COMPLETE", removed.failures
    assert stacks.retention() == 48
    assert stacks.declarations() == {Declared("Retention", "Meeting", 48, True)}
    stacks.deploy("Other", "Declared")
    stacks.delete("Other")
    assert stacks.retention() == 48
    stacks.delete("Retention")
    assert stacks.retention() == 24
    assert stacks.tags() == {}
    stacks.assert_nothing_denied()


def test_another_stack_turning_restore_on_delete_off_leaves_the_restore_to_the_last_one(
    stacks: Stacks,
) -> None:
    stacks.deploy("Retention", "MeetingOnly")
    stacks.deploy("Other", "Declared")

    stacks.deploy("Other", "WithoutRestore")

    assert stacks.declarations() == {
        Declared("Retention", "Meeting", 48, True),
        Declared("Other", "Other", 48, False),
    }
    stacks.delete("Other")
    assert stacks.retention() == 48
    stacks.delete("Retention")
    assert stacks.retention() == 24
    assert stacks.tags() == {}
    stacks.assert_nothing_denied()


def test_a_move_onto_a_pool_another_stack_declares_differently_is_refused_and_rolled_back(
    stacks: Stacks,
) -> None:
    stacks.deploy("Other", "OtherAudio")
    stacks.deploy("Retention", "Declared")

    refused = stacks.deploy("Retention", "Moved")

    assert refused.status == "UPDATE_ROLLBACK_COMPLETE"
    reason = failed(refused, "Meeting").reason
    assert "Pool other-audio is declared at 72 h by stack Other (resource OtherOwner" in reason
    assert "this resource declares 48 h" in reason
    assert stacks.retentions() == {MEETING: 48, "support-audio": 48, "other-audio": 72}
    assert stacks.declarations("other-audio") == {Declared("Other", "OtherOwner", 72, True)}
    assert stacks.declarations() == {Declared("Retention", "Meeting", 48, True)}
    # The rollback's Delete of the id the FAILED answer carried may not read a pool its stack never recorded
    # on (its grant there follows the record): it leaves that pool as it is.
    assert [(c.method, c.identifier) for c in stacks.pool_api.calls if c.answered == 403] == [
        ("list-tags", OTHER_ARN)
    ]


def test_a_rename_rolled_back_while_cloudformation_throttles_leaves_the_pool_higher_and_says_so(
    stacks: Stacks,
) -> None:
    """A Delete that cannot establish whether the other declaration is live, within its time, never lowers
    the pool: it leaves it, answers SUCCESS (the rollback completes) and logs what to set by hand."""
    stacks.deploy("Retention", "Declared")
    stacks.cfn.lambda_service.timeout_cap_seconds = 75  # the handler keeps about 69 s back for answering
    throttled = {"DescribeStacks", "DescribeStackResource"}
    once_status_contains(stacks.cfn, "Retention", "ROLLBACK", lambda: stacks.cfn.throttled.update(throttled))

    rolled_back = stacks.deploy("Retention", "RenamedRaisedWithMissingPool")

    assert rolled_back.status == "UPDATE_ROLLBACK_COMPLETE"
    (delete,) = (r for r in requests_of(rolled_back, "MeetingRenamed") if r.request_type == "Delete")
    assert delete.status == "SUCCESS"
    assert "NOT put back" in delete.logs
    assert stacks.retention() == 168
    stacks.cfn.throttled = set()
    stacks.delete("Retention")
    # Its declaration withdrawn, the 168 h left reads as another writer's value: the warning above is the
    # only place that says to set 48 h by hand, and the pool is never lowered on a guess.
    assert stacks.retention() == 168
