"""Runs what would be deployed: the asset from a synthesized cloud assembly, in a Lambda-like process,
against local HTTP stand-ins of the pool API and of the pre-signed response URL."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

from tests.standins.lambda_process import (
    invoke_asset,
    lambda_environment,
    lambda_runtime_path,
    synthesize_asset,
)
from tests.standins.pool_api import PoolApi, serve_pool_api
from tests.standins.response_endpoint import ResponseEndpoint
from tests.standins.stack_status import StackStatus, serve_stack_status


@pytest.fixture(scope="session")
def lambda_asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return synthesize_asset(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def runtime_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return lambda_runtime_path(tmp_path_factory.mktemp("lambda-runtime"))


@pytest.fixture
def pool_api() -> Iterator[PoolApi]:
    with serve_pool_api() as api:
        yield api


@pytest.fixture
def stack_api() -> Iterator[StackStatus]:
    """CloudFormation's DescribeStacks and GetTemplate, as a single event's handler asks them."""
    with serve_stack_status() as stand_in:
        yield stand_in


@pytest.fixture
def cfn(response_endpoint: ResponseEndpoint) -> ResponseEndpoint:
    """The stand-in of CloudFormation's pre-signed response URL (the shared fixture, by a shorter name)."""
    return response_endpoint


@dataclass
class Invocation:
    seconds: float
    logs: str
    body: dict
    raw_body: bytes


@pytest.fixture
def invoke(lambda_asset, runtime_path, pool_api, cfn, stack_api):
    """Invoke the asset's handler with one event; return what reached the response URL, logs and timing."""

    def run(event: dict, budget_seconds: float = 600.0, response_query: str = "") -> Invocation:
        """`response_query` is added to the response URL's query (its signing date and expiry, say)."""
        event = {**event, "ResponseURL": cfn.url + (f"&{response_query}" if response_query else "")}
        env = lambda_environment(pool_api.url, cfn.ca_file, stack_api.url)
        before = len(cfn.bodies)
        done = invoke_asset(lambda_asset, runtime_path, event, env, budget_seconds)
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
