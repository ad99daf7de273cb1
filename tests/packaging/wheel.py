"""Build the wheel from a clean copy of the repository and install it into a fresh virtual environment.

The fresh environment gets only the wheel itself (no editable install, no repository on its path); its
dependencies (aws-cdk-lib, constructs, crhelper, ...) are the already-installed, pinned ones, reached
through a .pth file, so the tests need no network.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from tests.paths import ROOT

NODE_BIN = ROOT / "node_modules" / ".bin"
COPY_IGNORES = shutil.ignore_patterns(
    ".git", ".venv", "node_modules", "cdk.out", "build", "dist", "__pycache__", "*.egg-info", ".*_cache"
)


def clean_copy(target: Path) -> Path:
    shutil.copytree(ROOT, target, ignore=COPY_IGNORES)
    return target


def install_wheel(source: Path, workdir: Path) -> Path:
    """Build `source`'s sdist and, from it, the wheel; install the wheel into a new venv under `workdir`.

    Returns that venv's python.
    """
    dist = workdir / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "build",
            "--sdist",
            "--wheel",
            "--no-isolation",
            "--outdir",
            str(dist),
            str(source),
        ],
        check=True,
        capture_output=True,
    )
    (wheel,) = dist.glob("cdk_kvs_pool_retention-*.whl")
    venv = workdir / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    python = venv / "bin" / "python"
    site = Path(
        subprocess.run(
            [str(python), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
            check=True,
            capture_output=True,
            text=True,
        ).stdout.strip()
    )
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "install",
            "--quiet",
            "--no-deps",
            "--no-index",
            "--target",
            str(site),
            str(wheel),
        ],
        check=True,
        capture_output=True,
    )
    (site / "pinned_dependencies.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")
    return python


def synth(app_dir: Path, python: Path, outdir: Path, *context: str) -> Path:
    """`cdk synth` with the pinned CLI, running `app_dir`'s app.py on `python`; returns the cloud assembly."""
    arguments = [
        str(NODE_BIN / "cdk"),
        "synth",
        "--quiet",
        "--app",
        f"{python} app.py",
        "--output",
        str(outdir),
    ]
    for item in context:
        arguments += ["-c", item]
    subprocess.run(
        arguments,
        cwd=app_dir,
        check=True,
        capture_output=True,
        env={**os.environ, "PATH": f"{NODE_BIN}:{os.environ['PATH']}", "JSII_NODE": str(NODE_BIN / "node")},
    )
    return outdir


def lambda_asset_dirs(assembly: Path) -> list[Path]:
    manifests = assembly.glob("*.assets.json")
    return [
        assembly / entry["source"]["path"]
        for manifest in manifests
        for entry in json.loads(manifest.read_text())["files"].values()
        if entry["source"].get("packaging") == "zip"
    ]
