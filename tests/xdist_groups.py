"""pytest-xdist scheduling for `make test` (loaded by tests/conftest.py): tests that share an expensive
fixture share a worker, and the longest start first."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import pytest

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
LONGEST_FIRST = ("tests/model/", "tests/packaging/", "tests/contract/")
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
