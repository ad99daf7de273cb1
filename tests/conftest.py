"""Every shared fixture of the test suite, in one place (tests/README.md maps the levels that use them).

The environment is set before any handler module is imported: crhelper builds boto3 clients when `index` is
imported, and those need a region and (fake) credentials."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from hypothesis import HealthCheck, settings

from tests.fakes import LambdaContext
from tests.packaging.wheel import clean_copy, install_wheel
from tests.paths import ROOT
from tests.stack.retention_stacks import ORIGINAL, Assembly, Stacks, synthesize
from tests.stack.templates import SCRIPTED_ASSET_KEY, SCRIPTED_RESOURCE
from tests.standins.cloudformation import CloudFormation, serve_cloudformation
from tests.standins.lambda_process import (
    invoke_asset,
    lambda_environment,
    lambda_runtime_path,
    synthesize_asset,
)
from tests.standins.pool_api import PoolApi, serve_pool_api
from tests.standins.response_endpoint import ResponseEndpoint, serve_response_endpoint
from tests.standins.stack_status import StackStatus, serve_stack_status

pytest_plugins = ["tests.xdist_groups"]


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


# Hypothesis profiles of the randomized test of the invariant (tests/model). "ci" (the default, in `make
# test`): about a minute on a 2-core machine. "long" (`make test-long`, or `pytest tests/model
# --hypothesis-profile=long`): the bulk, at least 300 sequences. Both derandomized, so that a run is
# reproducible: the same sequences on every machine. `--hypothesis-profile=` on the command line is applied
# after this (pytest's configure step) and wins.
_COMMON = {
    "derandomize": True,
    "database": None,
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
}
settings.register_profile("ci", max_examples=6000, stateful_step_count=30, **_COMMON)
settings.register_profile("long", max_examples=20000, stateful_step_count=50, **_COMMON)
settings.load_profile("ci")


# The handler asset and its runtime (contract and stack levels) -------------------------------------------


@pytest.fixture(scope="session")
def lambda_asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The handler's asset folder as `cdk synth` stages it."""
    return synthesize_asset(tmp_path_factory.mktemp("cdk.out"))


@pytest.fixture(scope="session")
def runtime_path(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """What the Lambda runtime puts on the handler's path besides its asset (boto3, as Lambda bundles it)."""
    return lambda_runtime_path(tmp_path_factory.mktemp("lambda-runtime"))


# Local stand-ins of AWS endpoints ------------------------------------------------------------------------


@pytest.fixture
def pool_api() -> Iterator[PoolApi]:
    """The pool API over HTTP, with no pools until a test adds them."""
    with serve_pool_api() as api:
        yield api


@pytest.fixture
def stack_api() -> Iterator[StackStatus]:
    """CloudFormation's DescribeStackResource and DescribeStacks, as a single event's handler asks them."""
    with serve_stack_status() as stand_in:
        yield stand_in


@pytest.fixture
def cloudformation(
    pool_api: PoolApi,
    response_endpoint: ResponseEndpoint,
    tmp_path: Path,
    runtime_path: Path,
    scripted_asset: Path,
) -> Iterator[CloudFormation]:
    """CloudFormation with its IAM and Lambda, for hand-written templates (tests/stack). Answers are awaited
    at most 10 s and functions run at most 20 s: a stuck test fails soon."""
    with serve_cloudformation(
        pool_api, response_endpoint, tmp_path, runtime_path, response_wait_cap=10, function_timeout_cap=20
    ) as cfn:
        cfn.add_asset(SCRIPTED_ASSET_KEY, scripted_asset)
        yield cfn
        service = cfn.lambda_service
    assert list(service.running_processes()) == [], "execution environments outlived the stand-in"


# One event to the deployed handler (tests/contract) ------------------------------------------------------


@dataclass
class Invocation:
    seconds: float
    logs: str
    body: dict
    raw_body: bytes


@pytest.fixture
def invoke(
    lambda_asset: Path,
    runtime_path: Path,
    pool_api: PoolApi,
    response_endpoint: ResponseEndpoint,
    stack_api: StackStatus,
) -> Callable[..., Invocation]:
    """Invoke the asset's handler with one event; return what reached the response URL, logs and timing."""

    def run(event: dict, budget_seconds: float = 600.0, response_query: str = "") -> Invocation:
        """`response_query` is added to the response URL's query (its signing date and expiry, say)."""
        url = response_endpoint.url + (f"&{response_query}" if response_query else "")
        if event["RequestType"] == "Delete":  # as CloudFormation marks a resource before sending its Delete
            stack_api.stack_resources.setdefault(
                event["LogicalResourceId"], ("DELETE_IN_PROGRESS", str(event.get("PhysicalResourceId", "")))
            )
        env = lambda_environment(pool_api.url, response_endpoint.ca_file, stack_api.url)
        before = len(response_endpoint.bodies)
        done = invoke_asset(lambda_asset, runtime_path, {**event, "ResponseURL": url}, env, budget_seconds)
        assert done.returncode == 0, done.stderr
        assert len(response_endpoint.bodies) == before + 1, (
            f"expected one response, got {response_endpoint.bodies[before:]}\n{done.stderr}"
        )
        return Invocation(
            seconds=float(done.stdout.strip().splitlines()[-1]),
            logs=done.stderr,
            body=response_endpoint.bodies[-1],
            raw_body=response_endpoint.raw_bodies[-1],
        )

    return run


# The construct's stacks through CloudFormation (tests/stack) ---------------------------------------------


@pytest.fixture(scope="session")
def scripted_asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the scripted custom resource, so that the runtime's bytecode lands in a temporary folder."""
    folder = tmp_path_factory.mktemp("scripted") / "asset"
    shutil.copytree(SCRIPTED_RESOURCE, folder)
    return folder


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


# The installed wheel (tests/packaging) -------------------------------------------------------------------


@pytest.fixture(scope="session")
def installed_python(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A fresh virtualenv's python with only the wheel built from a clean copy of the repository."""
    workdir = tmp_path_factory.mktemp("wheel")
    return install_wheel(clean_copy(workdir / "repo"), workdir)
