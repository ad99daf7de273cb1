"""The README's code, run: every Python block executed, every shell command run as written.

An example that drifts from the API, or a command that no longer works from a clone, fails here. A new
shell command in the README fails too until it is given a way to run below.
"""

from __future__ import annotations

import os
import re
import shlex
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest

from tests.paths import ROOT
from tests.standins.pool_api import ACCESS_KEY, SECRET_KEY, PoolApi, serve_pool_api

pytestmark = pytest.mark.cli

README = (ROOT / "README.md").read_text()
BLOCKS = re.findall(r"^```(python|sh)\n(.*?)^```$", README, flags=re.MULTILINE | re.DOTALL)
SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def commands() -> list[str]:
    """Every shell command of the README, in order, without its trailing comment."""
    return [
        line.split("  #")[0].strip()
        for language, block in BLOCKS
        if language == "sh"
        for line in block.splitlines()
        if line.strip()
    ]


PYTHON_BLOCKS = [block for language, block in BLOCKS if language == "python"]


@pytest.mark.parametrize("block", PYTHON_BLOCKS, ids=[f"python-{n}" for n in range(len(PYTHON_BLOCKS))])
def test_every_python_block_runs_and_synthesizes(block, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    namespace: dict = {"__name__": "readme"}

    exec(compile(block, "README.md", "exec"), namespace)  # the README's own code

    assembly = namespace["app"].synth()  # the synthesis the block ran, as the app keeps it
    stacks = [*assembly.stacks]
    stacks += [stack for nested in assembly.nested_assemblies for stack in nested.nested_assembly.stacks]
    assert stacks, "the block synthesized no stack"


def shell(command: str, **env: str) -> subprocess.CompletedProcess[str]:
    """Run a README command as a person would, from the repository, in a plain shell."""
    environment = {key: value for key, value in os.environ.items() if not key.startswith(("CDK_", "JSII_"))}
    environment["PATH"] = f"{ROOT / '.venv' / 'bin'}:{SYSTEM_PATH}"
    environment.update(env)
    return subprocess.run(
        shlex.split(command),
        cwd=ROOT,
        env=environment,
        capture_output=True,
        text=True,
        check=False,
        timeout=600,
    )


def test_every_shell_command_runs_as_written(installed_python: Path, tmp_path: Path):
    dist = installed_python.parents[2] / "dist"  # where the packaging fixture built the wheel
    with serve_pool_api() as pool_api:
        runners: dict[str, Callable[[str], None]] = {
            "pip install": lambda command: install_from_this_clone(command, dist, tmp_path / "site"),
            "make test": lambda command: is_what_ci_runs(command),
            "make synth": lambda command: succeeds(command),
            "make dist": lambda command: succeeds(command),
            "npx cdk synth": lambda command: succeeds(command),
            "python -m kvs_pool_retention drift": lambda command: drift_in_sync(command, pool_api),
        }
        for command in commands():
            (run,) = [runner for prefix, runner in runners.items() if command.startswith(prefix)] or [None]
            assert run is not None, f"README command with no way to run it here: {command}"
            run(command)


def succeeds(command: str) -> None:
    result = shell(command)
    assert result.returncode == 0, f"{command}\n{result.stdout}\n{result.stderr}"


def install_from_this_clone(command: str, dist: Path, target: Path) -> None:
    """Installed as written (the wheel `make dist` built, before it), without the network: its dependencies
    are the pinned ones already installed."""
    result = shell(
        command.replace("pip", f"{sys.executable} -m pip", 1),
        PIP_NO_INDEX="1",
        PIP_FIND_LINKS=str(dist),
        PIP_NO_DEPS="1",
        PIP_TARGET=str(target),
    )
    assert result.returncode == 0, result.stderr
    assert (target / "kvs_pool_retention" / "handler" / "index.py").is_file()


def is_what_ci_runs(command: str) -> None:
    """This test runs inside `make test`: CI's script runs exactly that."""
    assert command in (ROOT / ".ci" / "run").read_text()


def drift_in_sync(command: str, pool_api: PoolApi) -> None:
    """Against the pools the README's `npx cdk synth -c` line declared, all in sync: exit 0, with and
    without the optional --stack."""
    pool_api.add_pool("meeting-audio", retention=72)
    endpoint = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ENDPOINT_URL_CHIME_SDK_MEDIA_PIPELINES": pool_api.url,
    }
    for optional in ("", "--stack KvsPoolRetention"):
        written = command.replace("[--stack NAME]", optional).replace("python", sys.executable, 1)
        result = shell(written, **endpoint)
        assert result.returncode == 0, f"{written}\n{result.stdout}\n{result.stderr}"
        assert "meeting-audio" in result.stdout


def test_the_benchmark_report_rewrites_from_its_committed_data_as_documented(tmp_path):
    """`python -m tests.bench --report`, as the README's Development section gives it, from a plain shell."""
    result = shell(f"{sys.executable} -m tests.bench --report", KVS_BENCH_OUT=str(tmp_path))

    assert result.returncode == 0, result.stderr
    rendered = (tmp_path / "results.md").read_text()
    assert rendered == (ROOT / "docs" / "benchmarks" / "results.md").read_text()
    assert (tmp_path / "synth.png").stat().st_size > 0
