"""The construct's synthesized stacks played through CloudFormation's phases against the real handler asset:
what a pool's retention is after each operation, with every call authorized by the role the template grants.

Environment-agnostic stacks of one app, so that one synth gives every template (their ARNs are written with
pseudo parameters, which the stand-in resolves as CloudFormation does)."""

from __future__ import annotations

import re
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.standins.cloudformation import CloudFormation, serve_cloudformation
from tests.standins.pool_api import PoolApi
from tests.standins.response_endpoint import ResponseEndpoint

pytestmark = pytest.mark.integration

# Stack templates by name: {construct id: (pool, hours, restore_on_delete)}.
DECLARATIONS: dict[str, dict[str, tuple[str, int, bool]]] = {
    "Declared": {"Meeting": ("meeting-audio", 48, True), "Support": ("support-audio", 48, False)},
    "Raised": {"Meeting": ("meeting-audio", 72, True), "Support": ("support-audio", 72, False)},
    "Renamed": {"MeetingRenamed": ("meeting-audio", 48, True), "Support": ("support-audio", 48, False)},
    "RenamedWithMissingPool": {
        "MeetingRenamed": ("meeting-audio", 48, True),
        "Support": ("support-audio", 48, False),
        "Missing": ("no-such-pool", 48, False),
    },
    "MeetingOnly": {"Meeting": ("meeting-audio", 48, True)},
    "SupportOnly": {"Support": ("support-audio", 48, False)},
    "RenamedRaised": {
        "MeetingRenamed": ("meeting-audio", 168, True),
        "Support": ("support-audio", 48, False),
    },
    "RenamedRaisedWithMissingPool": {
        "MeetingRenamed": ("meeting-audio", 168, True),
        "Support": ("support-audio", 48, False),
        "Missing": ("no-such-pool", 48, False),
    },
    "RenamedWithoutRestore": {
        "MeetingPlain": ("meeting-audio", 48, False),
        "Support": ("support-audio", 48, False),
    },
    "Moved": {"Meeting": ("other-audio", 48, True), "Support": ("support-audio", 48, False)},
    "MovedWithMissingPool": {
        "Meeting": ("other-audio", 48, True),
        "Support": ("support-audio", 48, False),
        "Missing": ("no-such-pool", 48, False),
    },
    "DeclaredWithMissingPool": {
        "Meeting": ("meeting-audio", 48, True),
        "Support": ("support-audio", 48, False),
        "Missing": ("no-such-pool", 48, False),
    },
    "MeetingWithoutRestore": {
        "Meeting": ("meeting-audio", 48, False),
        "Support": ("support-audio", 48, False),
    },
    "PlainDeclared": {"Meeting": ("meeting-audio", 48, False), "Support": ("support-audio", 48, False)},
    "RenamedPlainLowerWithMissingPool": {
        "MeetingPlain": ("meeting-audio", 12, False),
        "Support": ("support-audio", 48, False),
        "Missing": ("no-such-pool", 48, False),
    },
    "PlainRenamedLowerWithMissingPool": {
        "MeetingRenamed": ("meeting-audio", 12, False),
        "Support": ("support-audio", 48, False),
        "Missing": ("no-such-pool", 48, False),
    },
    "AtCurrent": {"Meeting": ("meeting-audio", 24, True), "Support": ("support-audio", 48, False)},
    "OtherApp": {"Other": ("meeting-audio", 48, True)},
    "OtherAppEmpty": {"Unrelated": ("support-audio", 48, False)},
    "OtherOwner": {"OtherOwner": ("other-audio", 72, True)},
    "OtherAppWithoutRestore": {"Other": ("meeting-audio", 48, False)},
    "Twenty": {f"Pool{index}": (f"pool-{index:02d}", 48, index % 4 == 0) for index in range(20)},
}


@dataclass(frozen=True)
class Assembly:
    outdir: Path
    templates: dict[str, dict]


@pytest.fixture(scope="session")
def assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    import aws_cdk as cdk  # here: aws-cdk-lib starts Node, which only this module's tests need

    from kvs_pool_retention import KinesisVideoStreamPoolRetention

    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(outdir=str(outdir))
    for name, declared in DECLARATIONS.items():
        stack = cdk.Stack(app, name)
        for construct_id, (pool, hours, restore) in declared.items():
            KinesisVideoStreamPoolRetention(
                stack,
                construct_id,
                pool_identifier=pool,
                data_retention=cdk.Duration.hours(hours),
                restore_on_delete=restore,
            )
    synthesized = app.synth()
    return Assembly(outdir, {name: synthesized.get_stack_by_name(name).template for name in DECLARATIONS})


@pytest.fixture
def cloudformation(
    pool_api: PoolApi,
    response_endpoint: ResponseEndpoint,
    tmp_path: Path,
    runtime_path: Path,
    assembly: Assembly,
) -> Iterator[CloudFormation]:
    """The handler keeps more than a minute back for answering, so functions run with the template's own
    timeout; nothing here waits that long unless the handler is stuck."""
    pool_api.add_pool("meeting-audio", retention=24)
    pool_api.add_pool("support-audio", retention=12)
    pool_api.add_pool("other-audio", retention=36)
    pool_api.transition_seconds = 0.3
    with serve_cloudformation(
        pool_api, response_endpoint, tmp_path, runtime_path, response_wait_cap=120, function_timeout_cap=None
    ) as cfn:
        cfn.add_assembly(assembly.outdir)
        yield cfn


def retention(pool_api: PoolApi) -> dict[str, int | None]:
    return {name: pool.retention for name, pool in pool_api.pools.items()}


def assert_nothing_denied(pool_api: PoolApi, cfn: CloudFormation) -> None:
    assert [(call.method, call.identifier) for call in pool_api.calls if call.answered == 403] == []
    assert [call for call in cfn.describe_calls if call.answered != 200] == []


def test_a_stack_sets_its_pools_and_its_deletion_puts_back_only_what_it_restores(
    cloudformation, pool_api, assembly
):
    created = cloudformation.deploy("Retention", assembly.templates["Declared"])
    assert created.status == "CREATE_COMPLETE", created.failures
    assert retention(pool_api) == {"meeting-audio": 48, "support-audio": 48, "other-audio": 36}

    raised = cloudformation.deploy("Retention", assembly.templates["Raised"])
    assert raised.status == "UPDATE_COMPLETE", raised.failures
    assert retention(pool_api) == {"meeting-audio": 72, "support-audio": 72, "other-audio": 36}

    deleted = cloudformation.delete("Retention")
    assert deleted.status == "DELETE_COMPLETE", deleted.failures
    assert retention(pool_api) == {"meeting-audio": 24, "support-audio": 72, "other-audio": 36}
    assert_nothing_denied(pool_api, cloudformation)


def test_a_renamed_resource_keeps_the_pool_at_its_retention_through_the_cleanup(
    cloudformation, pool_api, assembly
):
    cloudformation.deploy("Retention", assembly.templates["Declared"])

    renamed = cloudformation.deploy("Retention", assembly.templates["Renamed"])

    assert renamed.status == "UPDATE_COMPLETE", renamed.failures
    assert [
        (r.request_type, r.stack_status) for r in renamed.requests if r.logical_id.startswith("Meeting")
    ] == [
        ("Create", "UPDATE_IN_PROGRESS"),
        ("Delete", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
    ]
    assert retention(pool_api)["meeting-audio"] == 48
    cloudformation.delete("Retention")
    assert retention(pool_api)["meeting-audio"] == 24
    assert_nothing_denied(pool_api, cloudformation)


def test_a_rename_rolled_back_leaves_the_pool_with_its_first_resource(cloudformation, pool_api, assembly):
    cloudformation.deploy("Retention", assembly.templates["Declared"])

    failed = cloudformation.deploy("Retention", assembly.templates["RenamedWithMissingPool"])

    assert failed.status == "UPDATE_ROLLBACK_COMPLETE"
    assert [failure.logical_id.startswith("Missing") for failure in failed.failures] == [True]
    assert retention(pool_api)["meeting-audio"] == 48
    cloudformation.delete("Retention")
    assert retention(pool_api)["meeting-audio"] == 24
    assert_nothing_denied(pool_api, cloudformation)


def test_a_pool_moved_to_another_stack_keeps_its_retention(cloudformation, pool_api, assembly):
    cloudformation.deploy("Retention", assembly.templates["Declared"])
    cloudformation.deploy("Audio", assembly.templates["MeetingOnly"])

    cleaned = cloudformation.deploy("Retention", assembly.templates["SupportOnly"])

    assert cleaned.status == "UPDATE_COMPLETE", cleaned.failures
    assert [r.request_type for r in cleaned.requests] == ["Delete"]
    assert retention(pool_api)["meeting-audio"] == 48
    cloudformation.delete("Audio")
    assert retention(pool_api)["meeting-audio"] == 24
    assert_nothing_denied(pool_api, cloudformation)


def records(pool_api: PoolApi) -> dict[str, dict[str, str]]:
    """Each pool's record: its tags that hold a value, the stacks left out and logical ids without CDK's
    hash suffix (Meeting9995D4CD reads Meeting)."""
    return {
        name: {
            key.split(":")[1]: re.sub(r"[0-9A-F]{8}$", "", value)
            for key, value in pool.tags.items()
            if value and not key.endswith("stack")
        }
        for name, pool in pool_api.pools.items()
        if pool.tags
    }


def test_a_first_deployment_of_twenty_pools_sets_each_and_records_only_the_restoring_ones(
    cloudformation, pool_api, assembly
):
    for index in range(20):
        pool_api.add_pool(f"pool-{index:02d}", retention=24)

    created = cloudformation.deploy("Twenty", assembly.templates["Twenty"])

    assert created.status == "CREATE_COMPLETE", created.failures
    assert {retention(pool_api)[f"pool-{index:02d}"] for index in range(20)} == {48}
    assert sorted(name for name in records(pool_api) if name.startswith("pool-")) == [
        f"pool-{index:02d}" for index in range(0, 20, 4)
    ]
    assert len(created.requests) == 20
    deleted = cloudformation.delete("Twenty")
    assert deleted.status == "DELETE_COMPLETE"
    assert [retention(pool_api)[f"pool-{index:02d}"] for index in range(0, 20, 4)] == [24] * 5
    assert_nothing_denied(pool_api, cloudformation)


def test_a_removed_resource_restores_its_pool_in_the_cleanup_after_its_grant_is_gone(
    cloudformation, pool_api, assembly
):
    cloudformation.deploy("Retention", assembly.templates["Declared"])

    removed = cloudformation.deploy("Retention", assembly.templates["SupportOnly"])

    assert removed.status == "UPDATE_COMPLETE", removed.failures
    assert [(r.request_type, r.stack_status) for r in removed.requests] == [
        ("Delete", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
    ]
    assert retention(pool_api)["meeting-audio"] == 24
    assert records(pool_api).get("meeting-audio") is None
    assert_nothing_denied(pool_api, cloudformation)


def test_a_rename_with_a_new_retention_keeps_it_and_the_original_for_the_stacks_deletion(
    cloudformation, pool_api, assembly
):
    cloudformation.deploy("Retention", assembly.templates["Declared"])

    renamed = cloudformation.deploy("Retention", assembly.templates["RenamedRaised"])

    assert renamed.status == "UPDATE_COMPLETE", renamed.failures
    assert retention(pool_api)["meeting-audio"] == 168
    assert records(pool_api)["meeting-audio"] == {
        "original-retention-hours": "24",
        "owner": "MeetingRenamed",
        "owner-hours": "168",
    }
    cloudformation.delete("Retention")
    assert retention(pool_api)["meeting-audio"] == 24
    assert_nothing_denied(pool_api, cloudformation)


def test_a_rename_with_a_new_retention_rolled_back_puts_back_what_the_first_resource_declares(
    cloudformation, pool_api, assembly
):
    cloudformation.deploy("Retention", assembly.templates["Declared"])

    failed = cloudformation.deploy("Retention", assembly.templates["RenamedRaisedWithMissingPool"])

    assert failed.status == "UPDATE_ROLLBACK_COMPLETE"
    assert retention(pool_api)["meeting-audio"] == 48  # the successor stepped back
    assert records(pool_api)["meeting-audio"] == {
        "original-retention-hours": "24",
        "owner": "Meeting",
        "owner-hours": "48",
    }
    assert any(
        r.request_type == "Delete" and r.stack_status == "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
        for r in failed.requests
        if r.logical_id.startswith("MeetingRenamed")
    )
    cloudformation.delete("Retention")
    assert retention(pool_api)["meeting-audio"] == 24
    assert_nothing_denied(pool_api, cloudformation)


def test_a_rename_that_drops_restore_on_delete_keeps_the_pool_and_forgets_the_original(
    cloudformation, pool_api, assembly
):
    cloudformation.deploy("Retention", assembly.templates["Declared"])

    renamed = cloudformation.deploy("Retention", assembly.templates["RenamedWithoutRestore"])

    assert renamed.status == "UPDATE_COMPLETE", renamed.failures
    assert retention(pool_api)["meeting-audio"] == 48
    assert records(pool_api).get("meeting-audio") is None
    cloudformation.delete("Retention")
    assert retention(pool_api)["meeting-audio"] == 48  # nothing declares a restore any more
    assert_nothing_denied(pool_api, cloudformation)


def test_a_move_to_another_pool_restores_the_first_in_the_cleanup_and_the_second_on_deletion(
    cloudformation, pool_api, assembly
):
    cloudformation.deploy("Retention", assembly.templates["Declared"])

    moved = cloudformation.deploy("Retention", assembly.templates["Moved"])

    assert moved.status == "UPDATE_COMPLETE", moved.failures
    assert retention(pool_api)["meeting-audio"] == 24
    assert retention(pool_api)["other-audio"] == 48
    assert records(pool_api).get("meeting-audio") is None
    cloudformation.delete("Retention")
    assert retention(pool_api)["other-audio"] == 36
    assert_nothing_denied(pool_api, cloudformation)


def test_a_failed_move_rolled_back_leaves_both_pools_as_declared_before_it(
    cloudformation, pool_api, assembly
):
    cloudformation.deploy("Retention", assembly.templates["Declared"])

    failed = cloudformation.deploy("Retention", assembly.templates["MovedWithMissingPool"])

    assert failed.status == "UPDATE_ROLLBACK_COMPLETE"
    assert retention(pool_api) == {"meeting-audio": 48, "support-audio": 48, "other-audio": 36}
    assert set(records(pool_api)) == {"meeting-audio"}
    assert_nothing_denied(pool_api, cloudformation)


def test_a_failed_create_rolled_back_puts_back_what_it_changed(cloudformation, pool_api, assembly):
    failed = cloudformation.deploy("Retention", assembly.templates["DeclaredWithMissingPool"])

    assert failed.status == "ROLLBACK_COMPLETE"
    assert retention(pool_api)["meeting-audio"] == 24
    assert retention(pool_api)["support-audio"] == 48  # without restore_on_delete, a Delete leaves it
    assert records(pool_api) == {}
    assert_nothing_denied(pool_api, cloudformation)


def test_a_damaged_record_or_a_pool_going_away_never_blocks_the_stacks_deletion(
    cloudformation, pool_api, assembly
):
    cloudformation.deploy("Retention", assembly.templates["Declared"])
    pool_api.pools["meeting-audio"].tags["kvs-pool-retention:original-retention-hours"] = "²"

    deleted = cloudformation.delete("Retention")

    assert deleted.status == "DELETE_COMPLETE", deleted.failures
    (meeting,) = (r for r in deleted.requests if r.logical_id.startswith("Meeting"))
    assert meeting.response["Status"] == "SUCCESS"
    assert meeting.invocation.done.wait(10)  # answered first, then the invocation ends
    assert "NOT restored: its restore record is damaged" in meeting.invocation.logs
    assert retention(pool_api)["meeting-audio"] == 48


def test_a_move_that_failed_after_changing_the_new_pool_reaches_it_in_the_rollback(
    cloudformation, pool_api, assembly
):
    cloudformation.deploy("Retention", assembly.templates["Declared"])
    pool_api.pools["other-audio"].settles_as = "FAILED"  # the update it makes leaves the pool broken

    failed = cloudformation.deploy("Retention", assembly.templates["Moved"])

    assert failed.status == "UPDATE_ROLLBACK_COMPLETE"
    other = "arn:aws:chime:us-east-1:111122223333:media-pipeline-kinesis-video-stream-pool/other-audio"
    meeting = [
        (r.request_type, r.physical_id, r.stack_status)
        for r in failed.requests
        if r.logical_id.startswith("Meeting")
    ]
    # The FAILED Update named the pool it had changed, so the rollback's cleanup deletes that id: the Delete
    # reaches the broken pool, says what it could not restore, and answers SUCCESS.
    assert meeting[-1] == ("Delete", other, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
    (delete,) = (r for r in failed.requests if r.request_type == "Delete")
    assert delete.response["Status"] == "SUCCESS"
    assert retention(pool_api)["meeting-audio"] == 48
    assert_nothing_denied(pool_api, cloudformation)


def test_a_pool_moved_to_another_stack_in_the_other_order_is_restored_then_set_again(
    cloudformation, pool_api, assembly
):
    cloudformation.deploy("Retention", assembly.templates["Declared"])

    cloudformation.deploy("Retention", assembly.templates["SupportOnly"])
    assert retention(pool_api)["meeting-audio"] == 24
    taken = cloudformation.deploy("Audio", assembly.templates["MeetingOnly"])

    assert taken.status == "CREATE_COMPLETE", taken.failures
    assert retention(pool_api)["meeting-audio"] == 48
    cloudformation.delete("Audio")
    assert retention(pool_api)["meeting-audio"] == 24
    assert_nothing_denied(pool_api, cloudformation)


def test_turning_restore_on_delete_off_removes_the_record_and_the_pool_stays_on_deletion(
    cloudformation, pool_api, assembly
):
    cloudformation.deploy("Retention", assembly.templates["Declared"])

    turned_off = cloudformation.deploy("Retention", assembly.templates["MeetingWithoutRestore"])
    assert records(pool_api).get("meeting-audio") is None  # no record left to grant or restore
    deleted = cloudformation.delete("Retention")

    assert turned_off.status == "UPDATE_COMPLETE", turned_off.failures
    assert deleted.status == "DELETE_COMPLETE", deleted.failures
    assert retention(pool_api)["meeting-audio"] == 48
    assert_nothing_denied(pool_api, cloudformation)


@pytest.mark.parametrize("renamed", ["RenamedPlainLowerWithMissingPool", "PlainRenamedLowerWithMissingPool"])
def test_a_rename_to_a_lower_retention_rolled_back_puts_back_what_the_old_resource_declares(
    cloudformation, pool_api, assembly, renamed
):
    """The new resource set 12 h; the old one gets no event in the rollback. Without restore_on_delete the
    new one's Delete asks its stack for the template it rolls back to, and puts its retention back."""
    declared = "Declared" if renamed.startswith("Renamed") else "PlainDeclared"
    cloudformation.deploy("Retention", assembly.templates[declared])

    failed = cloudformation.deploy("Retention", assembly.templates[renamed])

    assert failed.status == "UPDATE_ROLLBACK_COMPLETE"
    assert retention(pool_api)["meeting-audio"] == 48
    assert "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS" in cloudformation.template_calls
    assert_nothing_denied(pool_api, cloudformation)


def test_a_pool_two_stacks_restore_keeps_the_first_ones_retention_when_the_second_goes(
    cloudformation, pool_api, assembly
):
    """The second stack's resource is the record's successor: its Delete, its owner in another stack,
    gives the pool back instead of restoring it, whether the stack is deleted or the resource removed."""
    cloudformation.deploy("Retention", assembly.templates["MeetingOnly"])
    cloudformation.deploy("Other", assembly.templates["OtherApp"])

    removed = cloudformation.deploy("Other", assembly.templates["OtherAppEmpty"])

    assert removed.status == "UPDATE_COMPLETE", removed.failures
    assert retention(pool_api)["meeting-audio"] == 48
    assert records(pool_api)["meeting-audio"]["owner"] == "Meeting"
    cloudformation.deploy("Other", assembly.templates["OtherApp"])
    cloudformation.delete("Other")
    assert retention(pool_api)["meeting-audio"] == 48
    cloudformation.delete("Retention")
    assert retention(pool_api)["meeting-audio"] == 24
    assert_nothing_denied(pool_api, cloudformation)


def test_a_resource_declared_at_the_pools_retention_is_recorded_so_its_removal_reaches_the_pool(
    cloudformation, pool_api, assembly
):
    cloudformation.deploy("Retention", assembly.templates["AtCurrent"])
    assert records(pool_api)["meeting-audio"]["original-retention-hours"] == "24"

    removed = cloudformation.deploy("Retention", assembly.templates["SupportOnly"])

    assert removed.status == "UPDATE_COMPLETE", removed.failures
    assert records(pool_api).get("meeting-audio") is None
    assert retention(pool_api)["meeting-audio"] == 24
    assert_nothing_denied(pool_api, cloudformation)


def test_a_move_onto_a_pool_another_stack_holds_that_fails_gives_the_take_over_back(
    cloudformation, pool_api, assembly
):
    cloudformation.deploy("Other", assembly.templates["OtherOwner"])
    cloudformation.deploy("Retention", assembly.templates["Declared"])
    pool_api.pools["other-audio"].settles_as = "FAILED"

    failed = cloudformation.deploy("Retention", assembly.templates["Moved"])

    assert failed.status == "UPDATE_ROLLBACK_COMPLETE"
    assert "successor" not in records(pool_api)["other-audio"]  # it no longer takes other-audio over
    assert records(pool_api)["other-audio"]["owner"] == "OtherOwner"


def test_a_rename_rolled_back_while_cloudformations_api_throttles_still_gives_the_pool_back(
    cloudformation, pool_api, assembly
):
    """A whole stack's Deletes asking CloudFormation at once can be throttled past every retry: a
    successor that cannot tell whether its owner is gone gives the pool back, never restores under it."""
    cloudformation.lambda_service.endpoints["AWS_MAX_ATTEMPTS"] = "2"  # every retry spent, sooner
    cloudformation.deploy("Retention", assembly.templates["Declared"])
    cloudformation.throttled = {"DescribeStacks", "GetTemplate"}

    failed = cloudformation.deploy("Retention", assembly.templates["RenamedRaisedWithMissingPool"])

    assert failed.status == "UPDATE_ROLLBACK_COMPLETE"
    assert retention(pool_api)["meeting-audio"] == 48
    assert records(pool_api)["meeting-audio"]["owner"] == "Meeting"
    assert "successor" not in records(pool_api)["meeting-audio"]
    cloudformation.throttled = set()
    cloudformation.delete("Retention")
    assert retention(pool_api)["meeting-audio"] == 24


def test_a_successor_turning_restore_on_delete_off_gives_up_its_take_over(cloudformation, pool_api, assembly):
    cloudformation.deploy("Retention", assembly.templates["MeetingOnly"])
    cloudformation.deploy("Other", assembly.templates["OtherApp"])

    cloudformation.deploy("Other", assembly.templates["OtherAppWithoutRestore"])

    assert "successor" not in records(pool_api)["meeting-audio"]
    cloudformation.delete("Other")
    cloudformation.delete("Retention")
    assert retention(pool_api)["meeting-audio"] == 24
    assert records(pool_api).get("meeting-audio") is None
