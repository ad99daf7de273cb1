"""The Lambda asset: the handler modules and crhelper, staged once per process, without Docker or network.

Only what runs is staged (no `__init__.py`, tests, `__pycache__` or dist-info), and nothing that differs
by machine or install, so two synths of the same sources give the same asset hash. The hash is taken here,
from the bytes as they are staged, instead of by aws-cdk-lib reading the folder again.
"""

from __future__ import annotations

import atexit
import functools
import hashlib
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
    from aws_cdk import AssetHashType
    from aws_cdk import aws_lambda as lambda_

    path, digest = _staged()
    return lambda_.Code.from_asset(path, asset_hash=digest, asset_hash_type=AssetHashType.CUSTOM)


@functools.cache
def _staged() -> tuple[str, str]:
    """The staged folder and the SHA-256 of what it holds (each file's path and bytes)."""
    staging = Path(tempfile.mkdtemp(prefix="kvs-pool-retention-asset-"))
    # CDK copies the folder into the cloud assembly when the app synthesizes, before the process exits.
    atexit.register(shutil.rmtree, staging, ignore_errors=True)
    digest = hashlib.sha256()
    _copy_modules(resources.files(HANDLER_PACKAGE), staging, "", digest, skip={"__init__.py"})
    for package in BUNDLED_PACKAGES:
        _copy_modules(_package_folder(package), staging, package, digest, skip=set())
    return str(staging), digest.hexdigest()


def _package_folder(package: str) -> Path:
    """Where an installed package lives, found without importing it (crhelper would import boto3)."""
    spec = importlib.util.find_spec(package)
    if spec is None or not spec.submodule_search_locations:
        raise ModuleNotFoundError(
            f"{package} is missing: install this library from its repository, with its dependencies "
            "(`pip install <path to the repository>`, or the wheel `make dist` builds there: README, Install)"
        )
    return Path(next(iter(spec.submodule_search_locations)))


def _copy_modules(
    source: Traversable, staging: Path, folder: str, digest: hashlib._Hash, skip: set[str]
) -> None:
    """Copy a package's modules into `folder` of the staging folder ("" for its top), hashing each."""
    target = staging / folder
    target.mkdir(parents=True, exist_ok=True)
    for item in sorted(source.iterdir(), key=lambda entry: entry.name):
        if item.is_file() and item.name.endswith(".py") and item.name not in skip:
            content = item.read_bytes()
            (target / item.name).write_bytes(content)
            name = f"{folder}/{item.name}" if folder else item.name
            digest.update(f"{name}\0{len(content)}\0".encode())
            digest.update(content)
