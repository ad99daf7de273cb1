"""Two synths from two clean copies give identical templates and asset hashes."""

from __future__ import annotations

import filecmp

import pytest

from tests.packaging.wheel import clean_copy, install_wheel, lambda_asset_dirs, synth

pytestmark = pytest.mark.cli


def test_two_clean_copies_synthesize_identical_templates_and_assets(tmp_path):
    assemblies = []
    for name in ("first", "second"):
        workdir = tmp_path / name
        copy = clean_copy(workdir / "repo")
        assemblies.append(synth(copy, install_wheel(copy, workdir), workdir / "cdk.out"))

    first, second = assemblies
    templates = sorted(path.name for path in first.glob("*.template.json"))
    assert templates
    for template in templates:
        assert (first / template).read_bytes() == (second / template).read_bytes()
    first_assets, second_assets = lambda_asset_dirs(first), lambda_asset_dirs(second)
    assert [path.name for path in first_assets] == [path.name for path in second_assets]
    comparison = filecmp.dircmp(first_assets[0], second_assets[0])
    assert comparison.left_only == comparison.right_only == comparison.diff_files == []
