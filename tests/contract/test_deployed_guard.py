"""The retention guard as deployed: the synthesized asset's `guard.handler` in a Lambda-like process, with
its role's synthesized policy in force at the pool API stand-in (IAM evaluated as the service would), its
own stack's CloudFormation calls answered over HTTP, fed the service's documented event after a pool was
changed outside CloudFormation."""

from __future__ import annotations

import json
import subprocess
import sys
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aws_cdk as cdk
import pytest
from declarations import Resource

from kvs_pool_retention import KinesisVideoStreamPoolRetention
from kvs_pool_retention.handler import retention_rules as rules
from kvs_pool_retention.resource_type import RESOURCE_TYPE
from tests.fakes import STACK_ID, STACK_KEY
from tests.iam_size import resolve
from tests.standins.iam import IamStore
from tests.standins.lambda_process import RUNNER, lambda_environment
from tests.standins.pool_api import ACCOUNT, PoolApi, pool_arn
from tests.standins.stack_status import StackStatus, Summary, serve_stack_status
from tests.unit.handler.stubs import declared

pytestmark = [pytest.mark.integration, pytest.mark.xdist_group("deployed-guard")]

EVENTS = Path(__file__).parents[1] / "events"
REGION = "us-east-1"
POOL = "meeting-audio"
PSEUDO = {
    "AWS::Partition": "aws",
    "AWS::Region": REGION,
    "AWS::AccountId": ACCOUNT,
    "AWS::StackId": STACK_ID,
    "AWS::StackName": "Retention",
}


@dataclass(frozen=True)
class Synthesized:
    asset: Path
    policy: dict[str, Any]  # the guard role's pool policy, resolved for STACK_ID
    environment: dict[str, str]


def synthesize(outdir: Path, *, enforce: bool) -> Synthesized:
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Retention", env=cdk.Environment(account=ACCOUNT, region=REGION))
    KinesisVideoStreamPoolRetention(
        stack, "Pool", pool_identifier=POOL, data_retention=cdk.Duration.hours(48)
    )
    KinesisVideoStreamPoolRetention.configure_guard(stack, enforce=enforce)
    template = app.synth().get_stack_by_name("Retention").template
    (function,) = [
        value
        for value in template["Resources"].values()
        if value["Type"] == "AWS::Lambda::Function" and value["Properties"]["Handler"] == "guard.handler"
    ]
    (policy,) = [
        value
        for key, value in template["Resources"].items()
        if key.startswith("KvsPoolRetentionGuardPoolAccess")
    ]
    manifest = json.loads((outdir / "Retention.assets.json").read_text())
    (asset,) = {
        entry["source"]["path"]
        for entry in manifest["files"].values()
        if entry["source"].get("packaging") == "zip"
    }
    return Synthesized(
        outdir / asset,
        resolve(policy["Properties"]["PolicyDocument"], PSEUDO),
        resolve(function["Properties"]["Environment"]["Variables"], PSEUDO),
    )


@pytest.fixture(scope="module")
def watching(tmp_path_factory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("watching"), enforce=False)


@pytest.fixture(scope="module")
def enforcing(tmp_path_factory) -> Synthesized:
    return synthesize(tmp_path_factory.mktemp("enforcing"), enforce=True)


@pytest.fixture
def own_stack() -> Iterator[StackStatus]:
    """The guard's own stack, deployed, with the one retention resource."""
    with serve_stack_status() as stand_in:
        stand_in.status = "UPDATE_COMPLETE"
        stand_in.summaries.append(Summary("Pool", pool_arn(POOL, REGION), RESOURCE_TYPE))
        yield stand_in


class Guard:
    """One warm execution environment of the guard function, with its role's credentials."""

    def __init__(
        self, synthesized: Synthesized, pool_api: PoolApi, own: StackStatus, runtime_path: Path, tmp: Path
    ):
        iam = IamStore(ACCOUNT)
        role = iam.put_role("guard")
        iam.put_role_policy("guard", "pools", synthesized.policy)
        session = iam.issue_credentials(role, "guard-function")
        pool_api.credentials[session.access_key] = session.secret_key
        pool_api.authorizer = iam.authorize
        env = {
            **lambda_environment(pool_api.url, tmp / "no-ca.pem", own.url),
            "AWS_ACCESS_KEY_ID": session.access_key,
            "AWS_SECRET_ACCESS_KEY": session.secret_key,
            **synthesized.environment,
            "PYTHONPATH": str(runtime_path),
        }
        self.log_file = (tmp / f"guard-{uuid.uuid4()}.log").open("w+")
        self.process = subprocess.Popen(
            [sys.executable, "-S", str(RUNNER), "--serve", str(synthesized.asset), "guard.handler"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self.log_file,
            env=env,
            text=True,
        )
        assert self.process.stdout is not None
        assert self.process.stdout.readline().strip() == "ready"

    def invoke(self, event: dict[str, Any]) -> dict[str, Any]:
        assert self.process.stdin is not None
        assert self.process.stdout is not None
        request_id = str(uuid.uuid4())
        invocation = {
            "event": event,
            "request_id": request_id,
            "budget_seconds": 60,
            "function_name": "guard",
            "invoked_function_arn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:function:guard",
        }
        self.process.stdin.write(json.dumps(invocation) + "\n")
        self.process.stdin.flush()
        answer = json.loads(self.process.stdout.readline())
        assert answer["error"] is None, self.logs()
        return answer

    def logs(self) -> str:
        self.log_file.flush()
        self.log_file.seek(0)
        return self.log_file.read()

    def close(self) -> None:
        assert self.process.stdin is not None
        self.process.stdin.close()
        self.process.wait(timeout=30)
        self.log_file.close()


@pytest.fixture
def start(pool_api, own_stack, runtime_path, tmp_path) -> Iterator[Any]:
    started: list[Guard] = []

    def run(synthesized: Synthesized) -> Guard:
        started.append(Guard(synthesized, pool_api, own_stack, runtime_path, tmp_path))
        return started[-1]

    yield run
    for guard in started:
        guard.close()


def documented(kind: str, arn: str) -> dict[str, Any]:
    event = json.loads((EVENTS / f"pool_{kind}.json").read_text())
    event["detail"]["poolArn"] = arn
    return event


def declared_pool(pool_api: PoolApi, *, holds: int, stack_id: str = STACK_ID) -> str:
    """The pool as the handler left it at 48 h (its record on it), then set to `holds` out of band."""
    tags = declared(48, resource=Resource(stack_id, "Pool"), key=STACK_KEY)
    pool_api.add_pool(POOL, retention=holds, tags=tags)
    return pool_arn(POOL, REGION)


def gauges(logs: str) -> list[tuple[list[list[str]], int]]:
    lines = [json.loads(line) for line in logs.splitlines() if line.startswith('{"_aws"')]
    return [(line["_aws"]["CloudWatchMetrics"][0]["Dimensions"], line[rules.GUARD_METRIC]) for line in lines]


def warnings(logs: str) -> list[str]:
    return [line for line in logs.splitlines() if "WARNING" in line and "retention guard" in line]


def test_the_function_runs_with_its_stacks_key_and_id(watching):
    assert watching.environment[rules.GUARD_STACK_KEY_ENV] == STACK_KEY
    assert watching.environment[rules.GUARD_STACK_ID_ENV] == STACK_ID


def test_a_lowered_pool_is_reported_and_left_as_it_is_without_enforce(watching, pool_api, start):
    arn = declared_pool(pool_api, holds=12)
    guard = start(watching)

    guard.invoke(documented("updated", arn))

    logs = guard.logs()
    (warning,) = warnings(logs)
    assert f"pool {arn} holds 12 h, stack Retention declares 48 h" in warning
    assert gauges(logs) == [([["Stack"], ["Stack", "Pool"]], 1)]
    assert pool_api.pools[POOL].retention == 12
    assert pool_api.calls_of("PUT") == []


def test_enforcing_puts_a_lowered_pool_back_within_seconds_and_a_repeat_changes_nothing(
    enforcing, pool_api, start
):
    arn = declared_pool(pool_api, holds=12)
    pool_api.transition_seconds = 0.3
    guard = start(enforcing)

    first = guard.invoke(documented("updated", arn))
    guard.invoke(documented("updated", arn))  # EventBridge delivers at least once

    assert pool_api.pools[POOL].retention == 48
    assert len(pool_api.calls_of("PUT")) == 1
    assert first["seconds"] < 5
    (warning,) = warnings(guard.logs())
    assert "was at 12 h, stack Retention declares 48 h: raised it back to 48 h" in warning


def test_enforcing_leaves_a_raised_pool_and_alarms(enforcing, pool_api, start):
    arn = declared_pool(pool_api, holds=720)
    guard = start(enforcing)

    guard.invoke(documented("updated", arn))

    assert pool_api.pools[POOL].retention == 720
    assert pool_api.calls_of("PUT") == []
    assert gauges(guard.logs()) == [([["Stack"], ["Stack", "Pool"]], 1)]


def test_the_watching_role_may_not_update_even_if_told_to_enforce(watching, pool_api, start):
    arn = declared_pool(pool_api, holds=12)
    forced = Synthesized(
        watching.asset, watching.policy, {**watching.environment, rules.GUARD_ENFORCE_ENV: "true"}
    )
    guard = start(forced)

    guard.invoke(documented("updated", arn))

    (put,) = pool_api.calls_of("PUT")
    assert put.answered == 403  # the role has no UpdateMediaPipelineKinesisVideoStreamPool
    assert pool_api.pools[POOL].retention == 12
    assert gauges(guard.logs()) == [([["Stack"], ["Stack", "Pool"]], 1)]


def test_another_stacks_pool_is_never_read_and_ignored(watching, pool_api, own_stack, start):
    other = "arn:aws:cloudformation:us-east-1:111122223333:stack/Retention/00000000-other"
    arn = declared_pool(pool_api, holds=12, stack_id=other)  # same name, same key, another stack's id
    own_stack.summaries[:] = [Summary("Pool", pool_arn("another-pool", REGION), RESOURCE_TYPE)]
    guard = start(watching)

    guard.invoke(documented("updated", arn))

    assert pool_api.calls == []  # CloudFormation names it no resource of this stack: not asked
    assert gauges(guard.logs()) == []


def test_a_pool_the_stack_names_whose_record_names_another_stack_is_reported(watching, pool_api, start):
    other = "arn:aws:cloudformation:us-east-1:111122223333:stack/Retention/00000000-other"
    arn = declared_pool(pool_api, holds=12, stack_id=other)
    guard = start(watching)

    guard.invoke(documented("updated", arn))

    assert [(call.method, call.answered) for call in pool_api.calls] == [("GET", 403)]
    assert gauges(guard.logs()) == [([["Stack"], ["Stack", "Pool"]], 1)]


def test_nothing_happens_while_the_stack_is_being_deployed(watching, pool_api, own_stack, start):
    arn = declared_pool(pool_api, holds=12)
    own_stack.status = "UPDATE_IN_PROGRESS"
    guard = start(watching)

    guard.invoke(documented("updated", arn))

    assert pool_api.calls == []
    assert gauges(guard.logs()) == []


def test_a_deleted_pool_is_reported_never_recreated(enforcing, pool_api, start):
    guard = start(enforcing)
    arn = pool_arn(POOL, REGION)  # the stack's resource names it; the API no longer has it

    guard.invoke(documented("deleted", arn))

    # IAM cannot match the tag condition of a pool that is gone: denied, which for a pool the stack's own
    # resource names means deleted (or its record removed), and is reported so.
    (warning,) = warnings(guard.logs())
    assert (
        f"pool {arn}, declared by stack Retention, cannot be read: deleted outside CloudFormation" in warning
    )
    assert gauges(guard.logs()) == [([["Stack"], ["Stack", "Pool"]], 1)]
    assert [(call.method, call.answered) for call in pool_api.calls] == [("GET", 403)]


def test_the_sweep_finds_a_change_the_events_missed_and_clears_once_it_is_back(watching, pool_api, start):
    declared_pool(pool_api, holds=12)
    guard = start(watching)

    guard.invoke({"sweep": True})
    pool_api.pools[POOL].retention = 48  # set back by hand
    guard.invoke({"sweep": True})

    assert gauges(guard.logs()) == [
        ([["Stack", "Pool"]], 1),
        ([["Stack"]], 1),
        ([["Stack", "Pool"]], 0),
        ([["Stack"]], 0),
    ]
