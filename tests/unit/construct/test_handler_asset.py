"""The handler asset as staged for the Lambda runtime."""

from __future__ import annotations

import os
from importlib import resources
from pathlib import Path

from kvs_pool_retention.handler_asset import HANDLER_PACKAGE, _copy_modules


def test_staged_modules_are_readable_by_the_lambda_runtime_whatever_the_umask(tmp_path):
    """Hardened CI runs with umask 077: files written as is would be 0600, which the asset's zip keeps and
    the function's runtime user then cannot import."""
    target = tmp_path / "asset"
    previous = os.umask(0o077)
    try:
        _copy_modules(resources.files(HANDLER_PACKAGE), target, skip={"__init__.py"})
    finally:
        os.umask(previous)

    staged = sorted(Path(target).iterdir())
    assert [path.name for path in staged if path.name == "index.py"] == ["index.py"]
    assert {path.stat().st_mode & 0o777 for path in staged} == {0o644}
    assert target.stat().st_mode & 0o777 == 0o755
