"""Fixtures for stack-level tests: the pool API, the response URL, and CloudFormation with its IAM and Lambda,
all local; the scripted custom resource's asset."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.stack.retention_stacks import ORIGINAL, Assembly, Stacks, synthesize
from tests.stack.templates import SCRIPTED_ASSET_KEY
from tests.standins.cloudformation import CloudFormation, serve_cloudformation
from tests.standins.lambda_process import lambda_runtime_path
from tests.standins.pool_api import PoolApi, serve_pool_api
from tests.standins.response_endpoint import ResponseEndpoint

SCRIPTED_RESOURCE = Path(__file__).with_name("scripted_resource")


@pytest.fixture(scope="session")
def runtime_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lambda_runtime_path(tmp_path_factory.mktemp("lambda-runtime"))


@pytest.fixture(scope="session")
def scripted_asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy, so that the runtime's bytecode lands in a temporary folder, not in the repository."""
    folder = tmp_path_factory.mktemp("scripted") / "asset"
    shutil.copytree(SCRIPTED_RESOURCE, folder)
    return folder


@pytest.fixture
def pool_api() -> Iterator[PoolApi]:
    with serve_pool_api() as api:
        yield api


@pytest.fixture
def cloudformation(
    pool_api: PoolApi,
    response_endpoint: ResponseEndpoint,
    tmp_path: Path,
    runtime_path: Path,
    scripted_asset: Path,
) -> Iterator[CloudFormation]:
    """Answers are awaited at most 10 s and functions run at most 20 s: a stuck test fails soon."""
    with serve_cloudformation(
        pool_api, response_endpoint, tmp_path, runtime_path, response_wait_cap=10, function_timeout_cap=20
    ) as cfn:
        cfn.add_asset(SCRIPTED_ASSET_KEY, scripted_asset)
        yield cfn
        service = cfn.lambda_service
    assert list(service.running_processes()) == [], "execution environments outlived the stand-in"


@pytest.fixture(scope="session")
def retention_assembly(tmp_path_factory: pytest.TempPathFactory) -> Assembly:
    """Every version of every stack the retention tests deploy, from one synth."""
    return synthesize(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture
def stacks(
    pool_api: PoolApi,
    response_endpoint: ResponseEndpoint,
    tmp_path: Path,
    runtime_path: Path,
    retention_assembly: Assembly,
) -> Iterator[Stacks]:
    """The construct's stacks played through CloudFormation against the real handler asset, with the pools
    at their original retention. The handler keeps more than a minute back for answering, so functions run
    with the template's own timeout; nothing here waits that long unless the handler is stuck."""
    for name, hours in ORIGINAL.items():
        pool_api.add_pool(name, retention=hours)
    pool_api.transition_seconds = 0.3
    with serve_cloudformation(
        pool_api, response_endpoint, tmp_path, runtime_path, response_wait_cap=120, function_timeout_cap=None
    ) as cfn:
        cfn.add_assembly(retention_assembly.outdir)
        yield Stacks(cfn, pool_api, retention_assembly)
