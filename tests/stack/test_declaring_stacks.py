"""Issue 22's table, played as its users did: two stacks S and T declaring pool meeting-audio (originally
24 h) through CloudFormation's phases, with the real handler. Each scenario ends with the pool at or above
every live declaration, at a value somebody declared or the original, another writer's value left alone,
and a failed deployment leaving the pool as it found it."""

from __future__ import annotations

import threading

import pytest

from tests.stack.retention_stacks import Declared, Stacks, failed

pytestmark = pytest.mark.integration


def test_a_rename_then_removal_in_one_stack_keeps_the_pool_at_what_the_other_stack_declares(
    stacks: Stacks,
) -> None:
    stacks.deploy("S", "Meeting48R")
    stacks.deploy("T", "Meeting48R")

    renamed = stacks.deploy("S", "Renamed48R")
    removed = stacks.deploy("S", "Empty")

    assert renamed.status == "UPDATE_COMPLETE", renamed.failures
    assert removed.status == "UPDATE_COMPLETE", removed.failures
    assert stacks.retention() == 48  # T still declares it
    assert stacks.declarations() == {Declared("T", "Meeting", 48, True)}
    stacks.delete("T")
    assert stacks.retention() == 24
    assert stacks.tags() == {}
    stacks.assert_nothing_denied()


def test_a_rename_rolled_back_then_removal_keeps_the_pool_at_what_the_other_stack_declares(
    stacks: Stacks,
) -> None:
    stacks.deploy("S", "Meeting48R")
    stacks.deploy("T", "Meeting48R")

    rolled_back = stacks.deploy("S", "Renamed48RFailing")
    assert rolled_back.status == "UPDATE_ROLLBACK_COMPLETE"
    assert stacks.retention() == 48
    removed = stacks.deploy("S", "Empty")

    assert removed.status == "UPDATE_COMPLETE", removed.failures
    assert stacks.retention() == 48
    assert stacks.declarations() == {Declared("T", "Meeting", 48, True)}
    stacks.delete("T")
    assert stacks.retention() == 24
    stacks.assert_nothing_denied()


def test_a_second_stack_declaring_another_retention_is_refused_naming_the_first(stacks: Stacks) -> None:
    stacks.deploy("S", "Meeting48R")

    refused = stacks.deploy("T", "Meeting72R")

    assert refused.status == "ROLLBACK_COMPLETE"
    reason = failed(refused, "Meeting").reason
    assert "Pool meeting-audio is declared at 48 h by stack S (resource Meeting" in reason
    assert "this resource declares 72 h" in reason
    assert stacks.retention() == 48
    assert stacks.declarations() == {Declared("S", "Meeting", 48, True)}
    stacks.assert_nothing_denied()


def test_a_value_a_person_set_survives_the_removal_of_both_declarations(stacks: Stacks) -> None:
    stacks.deploy("S", "Meeting48R")
    stacks.deploy("T", "Meeting48R")
    stacks.pool_api.pools["meeting-audio"].retention = 100  # set by hand

    removed = stacks.deploy("S", "Empty")
    deleted = stacks.delete("T")

    assert removed.status == "UPDATE_COMPLETE", removed.failures
    assert deleted.status == "DELETE_COMPLETE", deleted.failures
    assert stacks.retention() == 100
    assert stacks.tags() == {}
    stacks.assert_nothing_denied()


def test_a_failing_deployment_adding_a_lower_plain_declaration_is_refused_before_any_change(
    stacks: Stacks,
) -> None:
    stacks.deploy("S", "Meeting48R")
    stacks.deploy("T", "Empty")

    rolled_back = stacks.deploy("T", "Plain12Failing")

    assert rolled_back.status == "UPDATE_ROLLBACK_COMPLETE"
    assert "declared at 48 h by stack S" in failed(rolled_back, "Meeting").reason
    assert [call.body for call in stacks.pool_api.calls_of("PUT")] == [
        {"StreamConfiguration": {"DataRetentionInHours": 48}}  # S's Create alone
    ]
    assert stacks.retention() == 48
    assert stacks.declarations() == {Declared("S", "Meeting", 48, True)}
    stacks.assert_nothing_denied()


def test_a_failed_first_deployment_of_a_plain_declaration_puts_the_pool_back(stacks: Stacks) -> None:
    rolled_back = stacks.deploy("T", "Plain12Failing")

    assert rolled_back.status == "ROLLBACK_COMPLETE"
    (create, delete) = (r for r in rolled_back.requests if r.logical_id.startswith("Meeting"))
    assert (create.request_type, create.status, create.data["DataRetentionInHours"]) == (
        "Create",
        "SUCCESS",
        12,
    )
    assert (delete.request_type, delete.stack_status) == ("Delete", "ROLLBACK_IN_PROGRESS")
    assert stacks.retention() == 24
    assert stacks.tags() == {}
    stacks.assert_nothing_denied()


def test_a_declaration_left_behind_by_a_refused_untag_is_found_gone_and_never_restored_to(
    stacks: Stacks,
) -> None:
    stacks.deploy("S", "Meeting48R")
    stacks.pool_api.fail("untag-resource", "BadRequestException", status=400)

    removed = stacks.deploy("S", "Empty")
    assert removed.status == "UPDATE_COMPLETE", removed.failures
    assert stacks.retention() == 24
    assert stacks.declarations() == {Declared("S", "Meeting", 48, True)}  # stale: its resource is gone
    taken = stacks.deploy("T", "Meeting96R")

    assert taken.status == "CREATE_COMPLETE", taken.failures
    assert stacks.retention() == 96
    assert stacks.declarations() == {Declared("T", "Meeting", 96, True)}
    stacks.delete("T")
    assert stacks.retention() == 24  # the original, never S's 48 h that nothing declares
    assert stacks.tags() == {}


def test_two_stacks_deleted_together_leave_the_pool_at_its_original(stacks: Stacks) -> None:
    stacks.deploy("S", "Meeting48R")
    stacks.deploy("T", "Meeting48R")

    outcomes = {}
    deletions = [
        threading.Thread(target=lambda name=name: outcomes.update({name: stacks.delete(name)}))
        for name in "ST"
    ]
    for deletion in deletions:
        deletion.start()
    for deletion in deletions:
        deletion.join(120)

    assert {name: operation.status for name, operation in outcomes.items()} == {
        "S": "DELETE_COMPLETE",
        "T": "DELETE_COMPLETE",
    }
    assert stacks.retention() == 24
    assert stacks.declarations() == set()
    stacks.assert_nothing_denied()
