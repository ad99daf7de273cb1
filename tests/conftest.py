"""Shared fixtures. The environment is set before any handler module is imported: crhelper builds
boto3 clients when `index` is imported, and those need a region and (fake) credentials."""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.fakes import LambdaContext
from tests.standins.response_endpoint import ResponseEndpoint, serve_response_endpoint

ROOT = Path(__file__).resolve().parent.parent

os.environ.setdefault("AWS_REGION", "us-east-1")
os.environ.setdefault("AWS_DEFAULT_REGION", "us-east-1")
os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDTESTING")
os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "testing-secret")
# jsii runs aws-cdk-lib on Node: use the supported Node that `make setup` puts under node_modules.
_NODE = ROOT / "node_modules" / ".bin" / "node"
if _NODE.exists():
    os.environ.setdefault("JSII_NODE", str(_NODE))
os.environ.setdefault("JSII_SILENCE_WARNING_UNTESTED_NODE_VERSION", "1")
os.environ.setdefault("CDK_DISABLE_CLI_TELEMETRY", "true")


@pytest.fixture
def lambda_context() -> LambdaContext:
    return LambdaContext()


@pytest.fixture(scope="session")
def cdk_cli() -> str:
    cli = ROOT / "node_modules" / ".bin" / "cdk"
    if not cli.exists():
        pytest.fail("The pinned CDK CLI is missing: run `make setup` (npm ci) first.")
    return str(cli)


@pytest.fixture
def response_endpoint(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[ResponseEndpoint]:
    """A local HTTPS response URL, trusted by this process through SSL_CERT_FILE."""
    with serve_response_endpoint(tmp_path) as endpoint:
        monkeypatch.setenv("SSL_CERT_FILE", str(endpoint.ca_file))
        yield endpoint
