"""Runs what would be deployed: the asset from a synthesized cloud assembly, in a Lambda-like process,
against local HTTP stand-ins of the pool API and of the pre-signed response URL."""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import aws_cdk as cdk
import pytest

from kvs_pool_retention import KinesisVideoStreamPoolRetention
from tests.standins.pool_api import ACCESS_KEY, SECRET_KEY, PoolApi, serve_pool_api
from tests.standins.response_endpoint import ResponseEndpoint, serve_response_endpoint

RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
RUNNER = Path(__file__).with_name("lambda_runtime.py")


@pytest.fixture(scope="session")
def lambda_asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Synthesize a stack and return its Lambda asset folder as the cloud assembly holds it."""
    outdir = tmp_path_factory.mktemp("cdk.out")
    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Integration")
    KinesisVideoStreamPoolRetention(
        stack, "Pool", pool_identifier="meeting-audio", data_retention=cdk.Duration.hours(48)
    )
    app.synth()
    manifest = json.loads((outdir / "Integration.assets.json").read_text())
    (asset,) = (
        entry["source"]["path"]
        for entry in manifest["files"].values()
        if entry["source"].get("packaging") == "zip"
    )
    return outdir / asset


@pytest.fixture(scope="session")
def lambda_runtime_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A folder holding only what the Lambda Python runtime provides: boto3 and its dependencies."""
    folder = tmp_path_factory.mktemp("lambda-runtime")
    for package in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(package)
        assert spec is not None, package
        assert spec.origin is not None, package
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (folder / source.name).symlink_to(source)
    return folder


@pytest.fixture
def pool_api() -> Iterator[PoolApi]:
    with serve_pool_api() as api:
        yield api


@pytest.fixture
def cfn(tmp_path: Path) -> Iterator[ResponseEndpoint]:
    with serve_response_endpoint(tmp_path) as endpoint:
        yield endpoint


@dataclass
class Invocation:
    seconds: float
    logs: str
    body: dict
    raw_body: bytes


@pytest.fixture
def invoke(lambda_asset, lambda_runtime_path, pool_api, cfn, tmp_path):
    """Invoke the asset's handler with one event; return what reached the response URL, logs and timing."""

    def run(event: dict, budget_seconds: float = 600.0) -> Invocation:
        event = {**event, "ResponseURL": cfn.url}
        event_file = tmp_path / "event.json"
        event_file.write_text(json.dumps(event))
        env = {
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(lambda_runtime_path),
            "AWS_REGION": "us-east-1",
            "AWS_DEFAULT_REGION": "us-east-1",
            "AWS_ACCESS_KEY_ID": ACCESS_KEY,
            "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
            "AWS_LAMBDA_FUNCTION_NAME": "kvs-pool-retention-handler",
            "AWS_ENDPOINT_URL_CHIME_SDK_MEDIA_PIPELINES": pool_api.url,
            "SSL_CERT_FILE": str(cfn.ca_file),
        }
        before = len(cfn.bodies)
        done = subprocess.run(
            [sys.executable, "-S", str(RUNNER), str(lambda_asset), str(event_file), str(budget_seconds)],
            env=env,
            capture_output=True,
            text=True,
            timeout=budget_seconds + 30,
            check=False,
        )
        assert done.returncode == 0, done.stderr
        assert len(cfn.bodies) == before + 1, (
            f"expected one response, got {cfn.bodies[before:]}\n{done.stderr}"
        )
        return Invocation(
            seconds=float(done.stdout.strip().splitlines()[-1]),
            logs=done.stderr,
            body=cfn.bodies[-1],
            raw_body=cfn.raw_bodies[-1],
        )

    return run
