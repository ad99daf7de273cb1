"""The Lambda asset: the handler modules and crhelper, staged once per process, without Docker or network.

Only what runs is staged (no `__init__.py`, tests, `__pycache__` or dist-info), and nothing that differs
by machine or install, so two synths of the same sources give the same asset hash.
"""

from __future__ import annotations

import atexit
import functools
import importlib.util
import shutil
import tempfile
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from aws_cdk import aws_lambda as lambda_

HANDLER_PACKAGE = "kvs_pool_retention.handler"
BUNDLED_PACKAGES = ("crhelper",)


def handler_code() -> lambda_.Code:
    """The asset as a function's code (the handler's and the guard's: one asset)."""
    from aws_cdk import aws_lambda as lambda_

    return lambda_.Code.from_asset(_staged())


@functools.cache
def _staged() -> str:
    staging = Path(tempfile.mkdtemp(prefix="kvs-pool-retention-asset-"))
    # CDK copies the folder into the cloud assembly when the app synthesizes, before the process exits.
    atexit.register(shutil.rmtree, staging, ignore_errors=True)
    _copy_modules(resources.files(HANDLER_PACKAGE), staging, skip={"__init__.py"})
    for package in BUNDLED_PACKAGES:
        _copy_modules(_package_folder(package), staging / package, skip=set())
    return str(staging)


def _package_folder(package: str) -> Path:
    """Where an installed package lives, found without importing it (crhelper would import boto3)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"{package} is missing: install this library from its repository, with its dependencies "
            "(`pip install <path to the repository>`, or the wheel `make dist` builds there: README, Install)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _copy_modules(source: Traversable, target: Path, skip: set[str]) -> None:
    target.mkdir(parents=True, exist_ok=True)
    # Readable by the Lambda runtime's user whatever the umask of the process that synthesizes (077 in
    # hardened CI would stage 0600 files, which the asset's zip keeps and the function then cannot import).
    target.chmod(0o755)
    for item in sorted(source.iterdir(), key=lambda entry: entry.name):
        if item.is_file() and item.name.endswith(".py") and item.name not in skip:
            staged = target / item.name
            staged.write_bytes(item.read_bytes())
            staged.chmod(0o644)
