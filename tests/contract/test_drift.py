"""`python -m kvs_pool_retention drift` against the local pool API stand-in."""

from __future__ import annotations

import os
import subprocess
import sys

import aws_cdk as cdk
import pytest

from kvs_pool_retention import KinesisVideoStreamPoolRetention
from tests.pipeline_app import STAGES, pipeline_app
from tests.standins.pool_api import ACCESS_KEY, SECRET_KEY

pytestmark = pytest.mark.integration

EU_POOL = "arn:aws:chime:eu-central-1:111122223333:media-pipeline-kinesis-video-stream-pool/eu-pool"


@pytest.fixture(scope="module")
def assembly(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("drift.out")
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Retention", env=cdk.Environment(account="111122223333", region="us-east-1"))
    for name, identifier, hours in (("Meeting", "meeting-audio", 48), ("Eu", EU_POOL, 72)):
        KinesisVideoStreamPoolRetention(
            stack, name, pool_identifier=identifier, data_retention=cdk.Duration.hours(hours)
        )
    other = cdk.Stack(app, "Other")
    KinesisVideoStreamPoolRetention(
        other, "Support", pool_identifier="support-audio", data_retention=cdk.Duration.hours(12)
    )
    app.synth()
    return outdir


def drift(pool_api, *arguments: str) -> subprocess.CompletedProcess[str]:
    env = {
        **os.environ,
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_CHIME_SDK_MEDIA_PIPELINES": pool_api.url,
    }
    return subprocess.run(
        [sys.executable, "-m", "kvs_pool_retention", "drift", *arguments],
        env=env,
        capture_output=True,
        text=True,
        check=False,
        timeout=120,
    )


def row(output: str, pool: str) -> list[str]:
    (line,) = (line for line in output.splitlines() if f" {pool} " in line)
    return line.split()


def test_all_pools_as_declared_exit_0(pool_api, assembly):
    pool_api.add_pool("meeting-audio", retention=48)
    pool_api.add_pool("eu-pool", region="eu-central-1", retention=72)
    pool_api.add_pool("support-audio", retention=12)

    result = drift(pool_api, "--app", str(assembly))

    assert result.returncode == 0, result.stdout + result.stderr
    assert row(result.stdout, "meeting-audio") == [
        "Retention",
        "meeting-audio",
        "48",
        "48",
        "ACTIVE",
        "in",
        "sync",
    ]
    assert row(result.stdout, EU_POOL)[2:] == ["72", "72", "ACTIVE", "in", "sync"]
    assert {call.region for call in pool_api.calls if call.identifier == EU_POOL} == {"eu-central-1"}


def test_a_changed_retention_exits_3_and_shows_both_values(pool_api, assembly):
    pool_api.add_pool("meeting-audio", retention=24)
    pool_api.add_pool("eu-pool", region="eu-central-1", retention=72)

    result = drift(pool_api, "--app", str(assembly), "--stack", "Retention")

    assert result.returncode == 3
    assert row(result.stdout, "meeting-audio")[2:] == ["48", "24", "ACTIVE", "DRIFTED"]
    assert "support-audio" not in result.stdout


def test_a_pool_that_cannot_be_read_exits_2_and_is_named(pool_api, assembly):
    pool_api.add_pool("meeting-audio", retention=48)

    result = drift(pool_api, "--app", str(assembly), "--stack", "Retention")

    assert result.returncode == 2
    assert f"UNREADABLE: Pool {EU_POOL} was not found in region eu-central-1" in result.stdout


def test_an_unknown_stack_exits_2(pool_api, assembly):
    result = drift(pool_api, "--app", str(assembly), "--stack", "Nope")

    assert result.returncode == 2
    assert "No stack named Nope" in result.stderr


# Stacks inside stages: every stack a CDK Pipelines app deploys lives in a nested cloud assembly.

STAGED_ACCOUNT, STAGED_REGION = "222222222222", "eu-west-2"
DEEP_ACCOUNT, DEEP_REGION = "333333333333", "us-west-2"


def _pool(stack: cdk.Stack, name: str, identifier: str, hours: int) -> None:
    KinesisVideoStreamPoolRetention(
        stack, name, pool_identifier=identifier, data_retention=cdk.Duration.hours(hours)
    )


@pytest.fixture(scope="module")
def staged_assembly(tmp_path_factory):
    """Stages with and without an environment, a stage in a stage, and a nested stack in a staged stack."""
    outdir = tmp_path_factory.mktemp("drift-stages.out")
    app = cdk.App(outdir=str(outdir))
    eu = cdk.Stage(app, "Eu", env=cdk.Environment(account=STAGED_ACCOUNT, region=STAGED_REGION))
    eu_stack = cdk.Stack(eu, "Retention")
    for name, hours in (("eu-fine", 48), ("eu-drifted", 72), ("eu-missing", 24)):
        _pool(eu_stack, name, name, hours)
    outer = cdk.Stage(app, "Outer", env=cdk.Environment(account=DEEP_ACCOUNT, region=DEEP_REGION))
    deep = cdk.Stack(cdk.Stage(outer, "Inner"), "Deep")
    _pool(deep, "Deep", "deep-audio", 12)
    _pool(cdk.NestedStack(deep, "Archive"), "Archive", "archive-audio", 6)
    tokens = cdk.Stack(cdk.Stage(app, "Tokens"), "Retention")
    _pool(tokens, "FromParameter", cdk.CfnParameter(tokens, "PoolName").value_as_string, 24)
    app.synth()
    return outdir


def _pools_as_declared(pool_api) -> None:
    for name, hours in (("eu-fine", 48), ("eu-drifted", 72), ("eu-missing", 24)):
        pool_api.add_pool(name, region=STAGED_REGION, retention=hours)
    pool_api.add_pool("deep-audio", region=DEEP_REGION, retention=12)
    pool_api.add_pool("archive-audio", region=DEEP_REGION, retention=6)


def _regions(pool_api, pool: str) -> set[str]:
    return {call.region for call in pool_api.calls if call.identifier == pool}


def test_every_stack_of_every_stage_is_checked(pool_api, staged_assembly):
    _pools_as_declared(pool_api)

    result = drift(pool_api, "--app", str(staged_assembly))

    assert result.returncode == 2, result.stdout + result.stderr  # the deploy-time identifier
    rows = [line.split()[:2] for line in result.stdout.splitlines()[1:]]
    assert rows == [
        ["Eu/Retention", "eu-fine"],
        ["Eu/Retention", "eu-drifted"],
        ["Eu/Retention", "eu-missing"],
        ["Outer/Inner/Deep", "deep-audio"],
        ["Outer/Inner/Deep/Archive", "archive-audio"],
        ["Tokens/Retention", '{"Ref":'],
    ]
    assert result.stdout.count("in sync") == 5


def test_a_stage_stack_is_read_in_its_stage_region_and_chosen_by_its_path(pool_api, staged_assembly):
    _pools_as_declared(pool_api)

    result = drift(pool_api, "--app", str(staged_assembly), "--stack", "Eu/Retention")

    assert result.returncode == 0, result.stdout + result.stderr
    assert row(result.stdout, "eu-fine") == ["Eu/Retention", "eu-fine", "48", "48", "ACTIVE", "in", "sync"]
    assert _regions(pool_api, "eu-fine") == {STAGED_REGION}
    assert "deep-audio" not in result.stdout
    assert {call.identifier for call in pool_api.calls} == {"eu-fine", "eu-drifted", "eu-missing"}


def test_a_stage_in_a_stage_and_its_stacks_nested_stack_are_read(pool_api, staged_assembly):
    _pools_as_declared(pool_api)

    result = drift(pool_api, "--app", str(staged_assembly), "--stack", "Outer/Inner/Deep")

    assert result.returncode == 0, result.stdout + result.stderr
    assert row(result.stdout, "deep-audio")[:4] == ["Outer/Inner/Deep", "deep-audio", "12", "12"]
    assert row(result.stdout, "archive-audio")[:4] == ["Outer/Inner/Deep/Archive", "archive-audio", "6", "6"]
    assert _regions(pool_api, "deep-audio") == _regions(pool_api, "archive-audio") == {DEEP_REGION}


def test_a_drift_and_an_unreadable_pool_in_one_stage_exit_3_showing_both(pool_api, staged_assembly):
    pool_api.add_pool("eu-fine", region=STAGED_REGION, retention=48)
    pool_api.add_pool("eu-drifted", region=STAGED_REGION, retention=24)

    result = drift(pool_api, "--app", str(staged_assembly), "--stack", "Eu/Retention")

    assert result.returncode == 3, result.stdout + result.stderr
    assert row(result.stdout, "eu-fine")[2:] == ["48", "48", "ACTIVE", "in", "sync"]
    assert row(result.stdout, "eu-drifted")[2:] == ["72", "24", "ACTIVE", "DRIFTED"]
    (missing,) = (line for line in result.stdout.splitlines() if " eu-missing " in line)
    assert f"UNREADABLE: Pool eu-missing was not found in region {STAGED_REGION}" in missing
    assert f"Declared in account {STAGED_ACCOUNT}: read it with that account's credentials." in missing


def test_a_deploy_time_identifier_in_a_stage_exits_2_and_is_named(pool_api, staged_assembly):
    result = drift(pool_api, "--app", str(staged_assembly), "--stack", "Tokens-Retention")  # stack name

    assert result.returncode == 2, result.stdout + result.stderr
    (line,) = result.stdout.splitlines()[1:]
    assert line.startswith('Tokens/Retention  {"Ref": "PoolName"}  24 ')
    assert line.endswith("UNREADABLE: declared by a deploy-time value; check it after deployment")
    assert pool_api.calls == []


def test_an_unknown_stack_exits_2_naming_the_stacks_there_are(pool_api, staged_assembly):
    result = drift(pool_api, "--app", str(staged_assembly), "--stack", "Retention")

    assert result.returncode == 2
    assert result.stderr.strip() == (
        "No stack named Retention. The assembly's stacks: Eu/Retention (stack name Eu-Retention), "
        "Outer/Inner/Deep (stack name Outer-Inner-Deep), Tokens/Retention (stack name Tokens-Retention)."
    )


# CDK Pipelines: the stages deploy to their own accounts and regions.


class AudioRetention(cdk.Stage):
    """A stage's stack keeping its own pool (`staging-audio`, `prod-audio`) at 30 days."""

    def __init__(self, scope: cdk.App, construct_id: str, *, env: cdk.Environment | None = None) -> None:
        super().__init__(scope, construct_id, env=env)
        stack = cdk.Stack(self, "Retention")
        _pool(stack, "Audio", f"{construct_id.lower()}-audio", 720)


class NoPools(cdk.Stage):
    def __init__(self, scope: cdk.App, construct_id: str, *, env: cdk.Environment | None = None) -> None:
        super().__init__(scope, construct_id, env=env)
        cdk.CfnWaitConditionHandle(cdk.Stack(self, "Website"), "Placeholder")


@pytest.fixture(scope="module")
def pipeline_assembly(tmp_path_factory):
    outdir = tmp_path_factory.mktemp("drift-pipeline.out")
    pipeline_app(outdir, {"Staging": AudioRetention, "Prod": AudioRetention})
    return outdir


def test_a_pipelines_stages_are_read_each_in_its_region(pool_api, pipeline_assembly):
    for name, (_, region) in STAGES.items():
        pool_api.add_pool(f"{name.lower()}-audio", region=region, retention=720)

    result = drift(pool_api, "--app", str(pipeline_assembly))

    assert result.returncode == 0, result.stdout + result.stderr
    assert row(result.stdout, "staging-audio")[:4] == ["Staging/Retention", "staging-audio", "720", "720"]
    assert row(result.stdout, "prod-audio")[:4] == ["Prod/Retention", "prod-audio", "720", "720"]
    assert result.stdout.count("in sync") == 2
    assert _regions(pool_api, "staging-audio") == {"eu-west-2"}
    assert _regions(pool_api, "prod-audio") == {"us-west-2"}


def test_a_pipelines_stage_drifted_exits_3(pool_api, pipeline_assembly):
    pool_api.add_pool("staging-audio", region="eu-west-2", retention=720)
    pool_api.add_pool("prod-audio", region="us-west-2", retention=168)

    result = drift(pool_api, "--app", str(pipeline_assembly))

    assert result.returncode == 3, result.stdout + result.stderr
    assert row(result.stdout, "prod-audio")[2:] == ["720", "168", "ACTIVE", "DRIFTED"]


def test_a_pipeline_whose_stages_declare_no_pools_has_nothing_to_check(pool_api, tmp_path):
    pipeline_app(tmp_path / "cdk.out", {"Staging": NoPools})

    result = drift(pool_api, "--app", str(tmp_path / "cdk.out"))

    assert result.returncode == 0, result.stdout + result.stderr
    # Delivery, Staging/Website and the pipeline's support stack for the stage's region: all were read.
    assert result.stdout == (
        f"No Custom::KinesisVideoStreamPoolRetention resources in 3 stacks of {tmp_path / 'cdk.out'}: "
        "nothing to check.\n"
    )
    assert pool_api.calls == []
