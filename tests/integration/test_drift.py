"""`python -m kvs_pool_retention drift` against the local pool API stand-in."""

from __future__ import annotations

import os
import subprocess
import sys

import aws_cdk as cdk
import pytest

from kvs_pool_retention import KinesisVideoStreamPoolRetention
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
