"""Running a synthesized Lambda asset the way the Lambda Python runtime would, in its own process.

Shared by the integration tests and the benchmark.
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from tests.standins.pool_api import ACCESS_KEY, SECRET_KEY

RUNTIME_PACKAGES = ("boto3", "botocore", "s3transfer", "jmespath", "dateutil", "urllib3", "six")
RUNNER = Path(__file__).with_name("lambda_runtime.py")


def synthesize_asset(outdir: Path) -> Path:
    """Synthesize a stack and return its Lambda asset folder as the cloud assembly holds it."""
    # Imported here: aws-cdk-lib starts a Node process, which the Lambda stand-ins alone do not need.
    import aws_cdk as cdk

    from kvs_pool_retention import KinesisVideoStreamPoolRetention

    app = cdk.App(outdir=str(outdir))
    stack = cdk.Stack(app, "Asset")
    KinesisVideoStreamPoolRetention(
        stack, "Pool", pool_identifier="meeting-audio", data_retention=cdk.Duration.hours(48)
    )
    app.synth()
    manifest = json.loads((outdir / "Asset.assets.json").read_text())
    (asset,) = (
        entry["source"]["path"]
        for entry in manifest["files"].values()
        if entry["source"].get("packaging") == "zip"
    )
    return outdir / asset


def lambda_runtime_path(folder: Path) -> Path:
    """Fill `folder` with only what the Lambda Python runtime provides: boto3 and its dependencies."""
    for package in RUNTIME_PACKAGES:
        spec = importlib.util.find_spec(package)
        assert spec is not None, package
        assert spec.origin is not None, package
        origin = Path(spec.origin)
        source = origin.parent if origin.name == "__init__.py" else origin
        (folder / source.name).symlink_to(source)
    return folder


def lambda_environment(pool_api_url: str, ca_file: Path, stack_api_url: str) -> dict[str, str]:
    """Lambda's variables, with the pool API, CloudFormation's API and the response URL's CA pointing at
    the local stand-ins."""
    return {
        "PATH": os.environ["PATH"],
        "AWS_REGION": "us-east-1",
        "AWS_DEFAULT_REGION": "us-east-1",
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_LAMBDA_FUNCTION_NAME": "kvs-pool-retention-handler",
        "AWS_ENDPOINT_URL_CHIME_SDK_MEDIA_PIPELINES": pool_api_url,
        "AWS_ENDPOINT_URL_CLOUDFORMATION": stack_api_url,
        "SSL_CERT_FILE": str(ca_file),
    }


def _command(asset: Path, budget_seconds: float) -> list[str]:
    return [sys.executable, "-S", str(RUNNER), str(asset), str(budget_seconds)]


def invoke_asset(
    asset: Path, runtime_path: Path, event: dict, env: dict[str, str], budget_seconds: float
) -> subprocess.CompletedProcess[str]:
    """Run the asset's `index.handler` on one event in a fresh `python -S` process."""
    return subprocess.run(
        _command(asset, budget_seconds),
        input=json.dumps(event),
        env={**env, "PYTHONPATH": str(runtime_path)},
        capture_output=True,
        text=True,
        timeout=budget_seconds + 30,
        check=False,
    )


@dataclass
class Finished:
    returncode: int
    seconds: float | None
    logs: str


@dataclass
class Herd:
    handed_out_at: float  # time.monotonic() when the last event was handed to its started process
    finished: list[Finished]


def invoke_together(
    asset: Path,
    runtime_path: Path,
    events: list[dict],
    env: dict[str, str],
    budget_seconds: float,
    logs: Path,
) -> Herd:
    """Start one process per event, as Lambda starts one execution environment per concurrent invocation;
    once every one has imported the handler, hand all the events out at once, as CloudFormation does."""
    processes = []
    for index, _ in enumerate(events):
        log = (logs / f"invocation-{index}.log").open("w")  # a file: a full stderr pipe would stall it
        processes.append(
            subprocess.Popen(
                _command(asset, budget_seconds),
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=log,
                env={**env, "PYTHONPATH": str(runtime_path)},
                text=True,
            )
        )
        log.close()
    for process in processes:
        assert process.stdout is not None
        ready = process.stdout.readline().strip()
        assert ready == "ready", f"an invocation did not start: {ready!r}"
    for process, event in zip(processes, events, strict=True):
        assert process.stdin is not None
        process.stdin.write(json.dumps(event))
        process.stdin.close()
    handed_out_at = time.monotonic()
    finished = []
    for index, process in enumerate(processes):
        assert process.stdout is not None
        output = process.stdout.read()
        process.wait(timeout=budget_seconds + 30)
        last = output.strip().splitlines()[-1:] or [""]
        finished.append(
            Finished(
                process.returncode,
                float(last[0]) if process.returncode == 0 else None,
                (logs / f"invocation-{index}.log").read_text(),
            )
        )
    return Herd(handed_out_at, finished)
