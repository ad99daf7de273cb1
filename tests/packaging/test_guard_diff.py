"""`cdk diff` of a stack that turns the guard on, as a reviewer reads it: the guard's resources and its
alarm-name output added, nothing that exists changed."""

from __future__ import annotations

import pytest

from tests.packaging.test_cli import cdk

pytestmark = [pytest.mark.cli, pytest.mark.usefixtures("cdk_cli")]

APP = "JSII_NODE=node_modules/.bin/node .venv/bin/python tests/packaging/guard_app.py"


def test_turning_the_guard_on_adds_its_resources_and_changes_none(tmp_path):
    saved = tmp_path / "before"
    before = cdk("synth", "--quiet", "--app", APP, "--output", str(saved))
    assert before.returncode == 0, before.stderr

    result = cdk(
        "diff",
        "--app",
        APP,
        "--template",
        str(saved / "Guarded.template.json"),
        "--output",
        str(tmp_path / "after"),
        "-c",
        "guard=true",
    )

    assert result.returncode == 0, result.stderr
    lines = [line.strip() for line in (result.stdout + result.stderr).splitlines()]
    added = [line for line in lines if line.startswith("[+]")]
    assert [line for line in lines if line.startswith(("[~]", "[-]"))] == []
    resources = [line for line in added if line.startswith("[+] AWS::")]
    assert len(resources) == 13
    assert all(" KvsPoolRetentionGuard/" in line for line in resources)
    assert any(line.startswith("[+] Output KvsPoolRetentionGuard/AlarmName") for line in added)
