"""The wheel users install: the construct finds its handler inside it and ships only what runs."""

from __future__ import annotations

import subprocess
import tarfile
import zipfile
from pathlib import Path

import pytest

from tests.packaging.wheel import lambda_asset_dirs, synth

pytestmark = pytest.mark.cli

SMALL_APP = """
import aws_cdk as cdk
from kvs_pool_retention import KinesisVideoStreamPoolRetention
import kvs_pool_retention

assert "/repo/" not in kvs_pool_retention.__file__, kvs_pool_retention.__file__
app = cdk.App()
stack = cdk.Stack(app, "Installed")
for name in ("a", "b"):
    KinesisVideoStreamPoolRetention(stack, name, pool_identifier=name, data_retention=cdk.Duration.hours(24))
app.synth()
"""


def test_the_installed_wheel_synthesizes_an_asset_of_handler_and_crhelper_only(installed_python, tmp_path):
    app_dir = tmp_path / "user-app"
    app_dir.mkdir()
    (app_dir / "app.py").write_text(SMALL_APP)

    (asset,) = lambda_asset_dirs(synth(app_dir, installed_python, tmp_path / "cdk.out"))

    files = sorted(str(path.relative_to(asset)) for path in asset.rglob("*") if path.is_file())
    assert files == [
        "calls.py",
        "cfn_response.py",
        "crhelper/__init__.py",
        "crhelper/log_helper.py",
        "crhelper/resource_helper.py",
        "crhelper/utils.py",
        "decision.py",
        "declarations.py",
        "declaring.py",
        "errors.py",
        "guard.py",
        "guarding.py",
        "index.py",
        "own_stack.py",
        "pacing.py",
        "pool_api.py",
        "response_window.py",
        "retention_rules.py",
        "settling.py",
        "stack_api.py",
    ]


def test_the_wheel_carries_the_handler_source_and_type_marker(installed_python):
    site = subprocess.run(
        [
            str(installed_python),
            "-c",
            "import kvs_pool_retention, pathlib; print(pathlib.Path(kvs_pool_retention.__file__).parent)",
        ],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    package = Path(site)

    assert (package / "py.typed").exists()
    assert (package / "handler" / "index.py").read_text() == (
        Path(__file__).parents[2] / "lambda" / "index.py"
    ).read_text()
    assert not any(path.name.startswith("test") for path in package.rglob("*"))


def test_the_wheel_holds_no_tests_or_caches(installed_python):
    (wheel,) = (installed_python.parents[2] / "dist").glob("*.whl")
    names = zipfile.ZipFile(wheel).namelist()

    assert not [name for name in names if "__pycache__" in name or name.startswith("tests/")]
    assert "kvs_pool_retention/handler/declaring.py" in names


def test_the_sdist_carries_the_handler_source(installed_python):
    (sdist,) = (installed_python.parents[2] / "dist").glob("*.tar.gz")
    with tarfile.open(sdist) as archive:
        names = archive.getnames()

    assert any(name.endswith("/lambda/index.py") for name in names)
    assert any(name.endswith("/constructs/kvs_pool_retention/retention.py") for name in names)
