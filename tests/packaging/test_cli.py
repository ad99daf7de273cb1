"""The pinned CDK CLI as reviewers and pipelines run it: offline, quiet, on a supported Node."""

from __future__ import annotations

import json
import os
import subprocess

import pytest

from tests.paths import ROOT

pytestmark = [pytest.mark.cli, pytest.mark.usefixtures("cdk_cli")]

SYSTEM_PATH = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"


def cdk(*arguments: str) -> subprocess.CompletedProcess[str]:
    """Run the pinned CLI as a person would, `npx cdk` from a plain shell: no telemetry variable set."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("CDK_", "JSII_"))}
    env["PATH"] = f"{ROOT / '.venv' / 'bin'}:{SYSTEM_PATH}"
    return subprocess.run(
        ["npx", "--no-install", "cdk", *arguments],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )


def pools(first_hours: int) -> str:
    return "pools=" + json.dumps(
        [
            {"identifier": "meeting-audio", "retentionHours": first_hours},
            {"identifier": "support-audio", "retentionHours": 72},
        ]
    )


def test_quiet_synth_prints_nothing_no_eol_banner_telemetry_flags_or_notices(tmp_path):
    result = cdk("synth", "--quiet", "--output", str(tmp_path))

    assert result.returncode == 0, result.stderr
    assert (result.stdout, result.stderr) == ("", "")


def test_a_retention_change_reads_in_cdk_diff_as_that_one_property(tmp_path):
    saved = tmp_path / "before"
    assert cdk("synth", "--quiet", "--output", str(saved), "-c", pools(48)).returncode == 0

    result = cdk(
        "diff",
        "--template",
        str(saved / "KvsPoolRetention.template.json"),
        "--output",
        str(tmp_path / "after"),
        "-c",
        pools(96),
    )

    assert result.returncode == 0, result.stderr
    changes = [line.strip() for line in (result.stdout + result.stderr).splitlines() if "[" in line]
    assert changes == [
        "[~] Custom::KinesisVideoStreamPoolRetention Pool0/Resource Pool0B9733A61",
        "└─ [~] DataRetentionInHours",
        "├─ [-] 48",
        "└─ [+] 96",
    ]
    assert "end-of-life" not in result.stderr
