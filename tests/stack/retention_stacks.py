"""The construct's own stacks for stack-level tests: every template version each test stack deploys, one
synth for all, and a small driver that plays them through the CloudFormation stand-in and reads what a user
would look at (a pool's retention and record tags, the stack's status, a FAILED resource's Reason).

Each version of a stack is synthesized with the stack's deployed name (`stack_name`), so that every version
carries the same StackKey, as the versions of one real stack do. Environment-agnostic stacks, so that the app
can hold several stacks declaring one pool (synth refuses two declarations of a pool in one environment)."""

from __future__ import annotations

import re
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from tests.standins.cloudformation import (
    CloudFormation,
    CustomResourceRequest,
    StackEvent,
    StackOperation,
    ValidationError,
)
from tests.standins.pool_api import PoolApi

Declarations = dict[str, tuple[str, int, bool]]  # construct id: (pool, hours, restore_on_delete)

MEETING = "meeting-audio"  # the pool the two-stack scenarios share, originally at 24 h
ORIGINAL = {MEETING: 24, "support-audio": 12, "other-audio": 36}
MISSING: Declarations = {"Missing": ("no-such-pool", 48, False)}  # fails its Create: the deployment fails

# The versions two stacks S and T (the users) may deploy, the same for both.
SHARED_VERSIONS: dict[str, Declarations] = {
    "Meeting48R": {"Meeting": (MEETING, 48, True)},
    "Meeting48": {"Meeting": (MEETING, 48, False)},
    "Meeting72R": {"Meeting": (MEETING, 72, True)},
    "Meeting96R": {"Meeting": (MEETING, 96, True)},
    "Renamed48R": {"MeetingRenamed": (MEETING, 48, True)},
    "Renamed48RFailing": {"MeetingRenamed": (MEETING, 48, True), **MISSING},
    "Plain12Failing": {"Meeting": (MEETING, 12, False), **MISSING},
    "Empty": {},
}

# {stack name: {version: declarations}}
STACKS: dict[str, dict[str, Declarations]] = {
    "Retention": {
        "Declared": {"Meeting": (MEETING, 48, True), "Support": ("support-audio", 48, False)},
        "Raised": {"Meeting": (MEETING, 72, True), "Support": ("support-audio", 72, False)},
        "Renamed": {"MeetingRenamed": (MEETING, 48, True), "Support": ("support-audio", 48, False)},
        "RenamedWithMissingPool": {
            "MeetingRenamed": (MEETING, 48, True),
            "Support": ("support-audio", 48, False),
            **MISSING,
        },
        "MeetingOnly": {"Meeting": (MEETING, 48, True)},
        "SupportOnly": {"Support": ("support-audio", 48, False)},
        "RenamedRaised": {"MeetingRenamed": (MEETING, 168, True), "Support": ("support-audio", 48, False)},
        "RenamedRaisedWithMissingPool": {
            "MeetingRenamed": (MEETING, 168, True),
            "Support": ("support-audio", 48, False),
            **MISSING,
        },
        "RenamedWithoutRestore": {
            "MeetingPlain": (MEETING, 48, False),
            "Support": ("support-audio", 48, False),
        },
        "Moved": {"Meeting": ("other-audio", 48, True), "Support": ("support-audio", 48, False)},
        "MovedWithMissingPool": {
            "Meeting": ("other-audio", 48, True),
            "Support": ("support-audio", 48, False),
            **MISSING,
        },
        "DeclaredWithMissingPool": {
            "Meeting": (MEETING, 48, True),
            "Support": ("support-audio", 48, False),
            **MISSING,
        },
        "MeetingWithoutRestore": {"Meeting": (MEETING, 48, False), "Support": ("support-audio", 48, False)},
        "PlainDeclared": {"Meeting": (MEETING, 48, False), "Support": ("support-audio", 48, False)},
        "RenamedPlainLowerWithMissingPool": {
            "MeetingPlain": (MEETING, 12, False),
            "Support": ("support-audio", 48, False),
            **MISSING,
        },
        "PlainRenamedLowerWithMissingPool": {
            "MeetingRenamed": (MEETING, 12, False),
            "Support": ("support-audio", 48, False),
            **MISSING,
        },
        "AtCurrent": {"Meeting": (MEETING, 24, True), "Support": ("support-audio", 48, False)},
    },
    "Audio": {"MeetingOnly": {"Meeting": (MEETING, 48, True)}},
    "Other": {
        "Declared": {"Other": (MEETING, 48, True)},
        "Empty": {"Unrelated": ("support-audio", 48, False)},
        "WithoutRestore": {"Other": (MEETING, 48, False)},
        "OtherAudio": {"OtherOwner": ("other-audio", 72, True)},
    },
    "Twenty": {"Twenty": {f"Pool{index}": (f"pool-{index:02d}", 48, index % 4 == 0) for index in range(20)}},
    "S": SHARED_VERSIONS,
    "T": SHARED_VERSIONS,
}


@dataclass(frozen=True)
class Assembly:
    outdir: Path
    templates: dict[tuple[str, str], dict[str, Any]]  # (stack name, version) -> template


def synthesize(outdir: Path) -> Assembly:
    import aws_cdk as cdk  # here: aws-cdk-lib starts Node, which only these tests need

    from kvs_pool_retention import KinesisVideoStreamPoolRetention

    app = cdk.App(outdir=str(outdir))
    artifacts = {}
    for stack_name, versions in STACKS.items():
        for version, declared in versions.items():
            stack = cdk.Stack(app, f"{stack_name}-{version}", stack_name=stack_name)
            if not declared:
                cdk.CfnWaitConditionHandle(stack, "Placeholder")  # a template holds at least one resource
            for construct_id, (pool, hours, restore) in declared.items():
                KinesisVideoStreamPoolRetention(
                    stack,
                    construct_id,
                    pool_identifier=pool,
                    data_retention=cdk.Duration.hours(hours),
                    restore_on_delete=restore,
                )
            artifacts[(stack_name, version)] = stack.artifact_id
    synthesized = app.synth()
    return Assembly(
        outdir,
        {key: synthesized.get_stack_artifact(artifact).template for key, artifact in artifacts.items()},
    )


@dataclass(frozen=True)
class Declared:
    """One declaration as the pool's tags record it: its stack's name, its construct's id (CDK's hash suffix
    left out), its hours and whether it restores."""

    stack: str
    construct: str
    hours: int
    restores: bool


def construct_of(logical_id: str) -> str:
    return re.sub(r"[0-9A-F]{8}$", "", logical_id)


@dataclass
class Stacks:
    """Plays stack versions through the CloudFormation stand-in and reads the pools back."""

    cfn: CloudFormation
    pool_api: PoolApi
    assembly: Assembly

    def deploy(self, stack: str, version: str) -> StackOperation:
        return self.cfn.deploy(stack, self.assembly.templates[(stack, version)])

    def delete(self, stack: str) -> StackOperation:
        return self.cfn.delete(stack)

    def retention(self, pool: str = MEETING) -> int | None:
        return self.pool_api.pools[pool].retention

    def retentions(self) -> dict[str, int | None]:
        return {name: pool.retention for name, pool in self.pool_api.pools.items()}

    def tags(self, pool: str = MEETING) -> dict[str, str]:
        return {
            k: v for k, v in self.pool_api.pools[pool].tags.items() if k.startswith("kvs-pool-retention:")
        }

    def declarations(self, pool: str = MEETING) -> set[Declared]:
        """Every declaration the pool's record holds, read from its tags as a user reading them would."""
        tags = self.tags(pool)
        anchors = {
            key.removeprefix("kvs-pool-retention:stack-"): value.split("/")[1]
            for key, value in tags.items()
            if key.startswith("kvs-pool-retention:stack-")
        }
        found = set()
        for key, value in tags.items():
            if key.startswith("kvs-pool-retention:declaration-"):
                hours, restores, _prior, stack_key, logical_id = value.split(" ")
                found.add(
                    Declared(
                        anchors.get(stack_key, "?"),
                        construct_of(logical_id),
                        int(hours),
                        restores == "restore",
                    )
                )
        return found

    def original(self, pool: str = MEETING) -> int | None:
        value = self.tags(pool).get("kvs-pool-retention:original-retention-hours")
        return None if value is None else int(value)

    def assert_nothing_denied(self) -> None:
        assert [(c.method, c.identifier) for c in self.pool_api.calls if c.answered == 403] == []
        assert [c for c in self.cfn.describe_calls if c.answered != 200] == []
        assert [c for c in self.cfn.resource_calls if c.answered == 403] == []


def failure_reasons(operation: StackOperation) -> dict[str, str]:
    """The Reason of each FAILED resource, by construct id."""
    return {construct_of(event.logical_id): event.reason for event in operation.failures}


def failed(operation: StackOperation, construct: str) -> StackEvent:
    (event,) = (e for e in operation.failures if construct_of(e.logical_id) == construct)
    return event


def requests_of(operation: StackOperation, construct: str) -> list[CustomResourceRequest]:
    """The events sent to one construct's resource, in order."""
    return [request for request in operation.requests if construct_of(request.logical_id) == construct]


def once_status_contains(
    cfn: CloudFormation, stack: str, fragment: str, act: Callable[[], None]
) -> threading.Thread:
    """Call `act` as soon as the stack's status contains `fragment` (watched every 10 ms, for at most 120 s):
    to change the world at a phase of an operation under way."""

    def watch() -> None:
        end = time.monotonic() + 120
        while time.monotonic() < end:
            try:
                if fragment in cfn.stack(stack).status:
                    act()
                    return
            except ValidationError:  # not created yet
                pass
            time.sleep(0.01)

    watcher = threading.Thread(target=watch, daemon=True)
    watcher.start()
    return watcher
