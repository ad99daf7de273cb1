"""The construct's synthesized stacks played through CloudFormation's phases against the real handler asset:
what a pool's retention is after each operation, with every call authorized by the role the template grants.

Environment-agnostic stacks of one app, so that one synth gives every template (their ARNs are written with
pseudo parameters, which the stand-in resolves as CloudFormation does)."""

from __future__ import annotations

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
    assert retention(pool_api) == {"meeting-audio": 48, "support-audio": 48}

    raised = cloudformation.deploy("Retention", assembly.templates["Raised"])
    assert raised.status == "UPDATE_COMPLETE", raised.failures
    assert retention(pool_api) == {"meeting-audio": 72, "support-audio": 72}

    deleted = cloudformation.delete("Retention")
    assert deleted.status == "DELETE_COMPLETE", deleted.failures
    assert retention(pool_api) == {"meeting-audio": 24, "support-audio": 72}
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
