"""Shared fixtures. The environment is set before any handler module is imported: crhelper builds
boto3 clients when `index` is imported, and those need a region and (fake) credentials."""

from __future__ import annotations

import json
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

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


# Parallel runs ---------------------------------------------------------------------------------------------
# `make test` runs pytest-xdist with --dist loadgroup. Tests that share an expensive fixture share a worker,
# so that it is made once rather than once a worker: the wheel's build and virtualenv (installed_python), and
# a test module's module-scoped fixtures (each a synthesized cloud assembly).
#
# pytest-xdist 3.8.0 tells its scheduler a test's group by appending "@group" to the test's node id, which
# pytest 9.2's structured node ids no longer take (pytest-xdist issue 1386): loadgroup then silently schedules
# every test on its own. Until a release fixes that, each worker writes its tests' groups to a folder the
# controller names, and the controller's scheduler reads them from there.

# Started first, so that none of the longest tests is left running alone at the end of a parallel run. An
# entry that no longer matches, or a long test missing here, costs time, never correctness.
LONGEST_FIRST = ("tests/model/", "tests/packaging/", "tests/test_cli.py", "tests/integration/")
_GROUPS = "xdist_groups_folder"
_GROUPS_FOLDER = pytest.StashKey[Path]()


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist's own hook reads the xdist_group marks
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    groups = {}
    for item in items:
        if "installed_python" in item.fixturenames:
            item.add_marker(pytest.mark.xdist_group("wheel"))
        elif _uses_module_scoped_fixture(item):
            item.add_marker(pytest.mark.xdist_group(item.nodeid.split("::")[0]))
        names = {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
        if names:
            groups[item.nodeid] = "_".join(sorted(names))  # as pytest-xdist joins several groups
    items.sort(key=lambda item: not item.nodeid.startswith(LONGEST_FIRST))  # the same order on every worker
    worker: dict[str, Any] = getattr(config, "workerinput", {})
    if _GROUPS in worker:
        (Path(worker[_GROUPS]) / f"{worker['workerid']}.json").write_text(json.dumps(groups))


def _uses_module_scoped_fixture(item: pytest.Item) -> bool:
    fixtures = getattr(item, "_fixtureinfo", None)
    return fixtures is not None and any(
        definitions[-1].scope == "module" for definitions in fixtures.name2fixturedefs.values()
    )


@pytest.hookimpl(optionalhook=True)
def pytest_configure_node(node: Any) -> None:
    """On the controller, for each worker it starts: where that worker writes its tests' groups."""
    if node.config.getvalue("dist") == "loadgroup":
        if _GROUPS_FOLDER not in node.config.stash:
            node.config.stash[_GROUPS_FOLDER] = Path(tempfile.mkdtemp(prefix="xdist-groups-"))
        node.workerinput[_GROUPS] = str(node.config.stash[_GROUPS_FOLDER])


@pytest.hookimpl(optionalhook=True)
def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadGroupScheduling

    class WrittenGroupScheduling(LoadGroupScheduling):
        """loadgroup, with each test's group as its worker wrote it (read once every worker has collected)."""

        groups: dict[str, str] | None = None

        def _split_scope(self, nodeid: str) -> str:
            if self.groups is None:
                self.groups = {
                    nodeid: group
                    for written in sorted(config.stash[_GROUPS_FOLDER].glob("*.json"))
                    for nodeid, group in json.loads(written.read_text()).items()
                }
            return self.groups.get(nodeid) or super()._split_scope(nodeid)

    return WrittenGroupScheduling(config, log)


def pytest_unconfigure(config: pytest.Config) -> None:
    if _GROUPS_FOLDER in config.stash:
        shutil.rmtree(config.stash[_GROUPS_FOLDER], ignore_errors=True)
