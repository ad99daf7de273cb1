"""Run the benchmark and write docs/benchmarks/: `make bench` (about 18 minutes on 2 cores)."""

from __future__ import annotations

import json
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path
from typing import Any

from tests.fakes import cloudformation_event
from tests.iam_size import TYPICAL, iam_chars
from tests.paths import ROOT
from tests.simulation.herd import REQUESTS_PER_CREATE, floor_seconds, simulate_herd
from tests.standins.lambda_process import (
    invoke_asset,
    invoke_together,
    lambda_environment,
    lambda_runtime_path,
    synthesize_asset,
)
from tests.standins.pool_api import PoolApi, serve_pool_api
from tests.standins.response_endpoint import ResponseEndpoint, serve_response_endpoint
from tests.standins.stack_status import serve_stack_status

# Where the report goes; KVS_BENCH_OUT sends it elsewhere (the tests render it into a scratch folder).
OUT = Path(os.environ.get("KVS_BENCH_OUT") or ROOT / "docs" / "benchmarks")
RESULTS = ROOT / "docs" / "benchmarks" / "results.json"
COUNTS = (1, 10, 100, 200, 400, 490)
KINDS = ("ours", "aws-custom-resource")
SYNTH_REPEATS = 5
LIMITS = {
    "resources": 500,
    "outputs": 200,
    "template_bytes": 1_048_576,
    "inline_policy_chars": 10_240,
    "managed_policies": 10,
    "managed_policy_chars": 6_144,
}
# A whole stack at once: (pools, requests a second the API admits), each pool taking 3 s to settle. Its
# floor: 3 s + k N / rate, k the requests a lone Create makes (measured: HandlerBench.lone_create).
HERDS = ((50, 10.0), (100, 5.0))
HERD_TRANSITION_SECONDS = 3.0
HERD_RUNS = 3  # which invocations the API happens to serve first varies: the median run is reported
# Past one machine, in virtual time.
SIMULATED_POOLS = (490, 1000)
SIMULATED_RATES = (1.0, 5.0, 10.0)


# --- synthesis -------------------------------------------------------------------------------------


def measure_synth(count: int, workdir: Path) -> list[dict[str, Any]]:
    """Both kinds at one pool count, their runs interleaved so that drift in the machine's speed hits both."""
    runs: dict[str, list[dict[str, Any]]] = {kind: [] for kind in KINDS}
    for repeat in range(SYNTH_REPEATS):
        for kind in KINDS:
            outdir = workdir / f"{kind}-{count}-{repeat}"
            done = subprocess.run(
                [sys.executable, "-m", "tests.bench.synth_stack", kind, str(count), str(outdir)],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
            )
            runs[kind].append(json.loads(done.stdout.strip().splitlines()[-1]))
    rows = []
    for kind, measured in runs.items():
        template_path = Path(measured[0]["template"])
        cold = [run["seconds"] for run in measured]
        rows.append(
            {
                "kind": kind,
                "pools": count,
                "synth_seconds": statistics.median(cold),
                "synth_seconds_min": min(cold),
                "synth_seconds_max": max(cold),
                "warm_synth_seconds": statistics.median(run["warm_seconds"] for run in measured),
                "template_bytes": template_path.stat().st_size,
                **template_figures(json.loads(template_path.read_text())),
            }
        )
    return rows


# Where the first synth's time goes at one pool: each kind adds a layer to the one before (synth_stack).
ANATOMY = ("aws-custom-resource", "function", "function-resources", "ours")
ANATOMY_REPEATS = 9


def measure_anatomy(workdir: Path) -> dict[str, Any]:
    """The layers' first synth at one pool, medians of interleaved runs, with aws-cdk-lib's template
    validation off (CDK_VALIDATION=false): it costs every kind the same second, and most of the spread."""
    runs: dict[str, list[float]] = {kind: [] for kind in ANATOMY}
    for repeat in range(ANATOMY_REPEATS):
        for kind in ANATOMY:
            done = subprocess.run(
                [
                    sys.executable,
                    "-m",
                    "tests.bench.synth_stack",
                    kind,
                    "1",
                    str(workdir / f"{kind}-{repeat}"),
                ],
                cwd=ROOT,
                capture_output=True,
                text=True,
                check=True,
                env={**os.environ, "CDK_VALIDATION": "false"},
            )
            runs[kind].append(json.loads(done.stdout.strip().splitlines()[-1])["seconds"])
    layers = [
        {"kind": kind, "synth_seconds": statistics.median(seconds), "min": min(seconds), "max": max(seconds)}
        for kind, seconds in runs.items()
    ]
    return {"runs": ANATOMY_REPEATS, "layers": layers}


def template_figures(template: dict[str, Any]) -> dict[str, Any]:
    resources = template.get("Resources", {})
    roles = [name for name, resource in resources.items() if resource["Type"] == "AWS::IAM::Role"]
    per_role = [role_policy_figures(resources, role) for role in roles]
    worst = max(per_role, key=lambda figures: figures["inline_policy_chars"])
    return {"resources": len(resources), "outputs": len(template.get("Outputs", {})), **worst}


def role_policy_figures(resources: dict[str, Any], role: str) -> dict[str, Any]:
    reference = {"Ref": role}
    inline_resources = [
        resource
        for resource in resources.values()
        if resource["Type"] == "AWS::IAM::Policy" and reference in resource["Properties"].get("Roles", [])
    ]
    inline = [resource["Properties"]["PolicyDocument"] for resource in inline_resources]
    inline += [policy["PolicyDocument"] for policy in resources[role]["Properties"].get("Policies", [])]
    managed = [
        resource["Properties"]["PolicyDocument"]
        for resource in resources.values()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
        and reference in resource["Properties"].get("Roles", [])
    ]
    aws_managed = len(resources[role]["Properties"].get("ManagedPolicyArns", []))
    return {
        "inline_policy_chars": sum(iam_chars(document, TYPICAL) for document in inline),
        "managed_policies": len(managed) + aws_managed,
        "managed_policy_chars": max((iam_chars(document, TYPICAL) for document in managed), default=0),
        "managed_policy_chars_total": sum(iam_chars(document, TYPICAL) for document in managed),
        "policy_resources": len(inline_resources) + len(managed),
    }


def within_limits(row: dict[str, Any]) -> list[str]:
    """The limits a synthesized stack passes (empty when it stays within all)."""
    return [name for name, limit in LIMITS.items() if row[name] > limit]


# --- the handler against the local stand-ins ---------------------------------------------------------


class HandlerBench:
    def __init__(
        self,
        api: PoolApi,
        cfn: ResponseEndpoint,
        stack_api_url: str,
        asset: Path,
        runtime: Path,
        workdir: Path,
    ) -> None:
        self.api, self.cfn, self.asset, self.runtime, self.workdir = api, cfn, asset, runtime, workdir
        self.env = lambda_environment(api.url, cfn.ca_file, stack_api_url)

    def invoke(self, name: str, event: dict[str, Any]) -> float:
        done = invoke_asset(self.asset, self.runtime, {**event, "ResponseURL": self.cfn.url}, self.env, 600.0)
        if done.returncode != 0:
            raise RuntimeError(done.stderr)
        return float(done.stdout.strip().splitlines()[-1])

    def transitions(self, seconds: float, runs: int) -> dict[str, Any]:
        """Change `runs` pools at once, each taking `seconds` to turn ACTIVE again."""
        self.api.transition_seconds = seconds
        names = [f"transition-{int(seconds)}s-{run}" for run in range(runs)]
        for name in names:
            self.api.add_pool(name, retention=24)
        threads = [
            threading.Thread(
                target=self.invoke,
                args=(
                    name,
                    cloudformation_event("Create", {"PoolIdentifier": name, "DataRetentionInHours": "48"}),
                ),
            )
            for name in names
        ]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        overheads, read_rates = [], []
        for name in names:
            pool = self.api.pools[name]
            arrived = next(
                at
                for at, body in zip(self.cfn.arrived_at, self.cfn.bodies, strict=True)
                if body["PhysicalResourceId"] == pool.arn
            )
            put = next(call.at for call in self.api.calls if call.method == "PUT" and call.identifier == name)
            reads = [
                call
                for call in self.api.calls
                if call.method == "GET" and call.identifier == name and call.at > put
            ]
            overheads.append(arrived - pool.busy_until)
            read_rates.append(len(reads) / (arrived - put))
        return {
            "transition_seconds": seconds,
            "runs": runs,
            "overhead_median_seconds": statistics.median(overheads),
            "overhead_max_seconds": max(overheads),
            "reads_per_second_max": max(read_rates),
        }

    def lone_create(self) -> int:
        """k: the requests one Create makes alone on a pool nothing declares yet (the herd's floor counts
        k a pool). Measured, and held to what the simulation assumes."""
        self.api.add_pool("lone", retention=24)
        before = len(self.api.calls)
        self.invoke(
            "lone", cloudformation_event("Create", {"PoolIdentifier": "lone", "DataRetentionInHours": "48"})
        )
        made = [call for call in self.api.calls[before:] if _pool_of(call.identifier) == "lone"]
        if len(made) != REQUESTS_PER_CREATE:
            raise RuntimeError(
                f"a lone Create made {len(made)} requests ({[call.method for call in made]}), the simulation "
                f"assumes {REQUESTS_PER_CREATE}: update tests/simulation/herd.py"
            )
        return len(made)

    def deletes(self, runs: int) -> dict[str, Any]:
        self.api.add_pool("deleted", retention=24)
        arn = self.api.pools["deleted"].arn
        event = cloudformation_event(
            "Delete", {"PoolIdentifier": "deleted", "DataRetentionInHours": "48"}, PhysicalResourceId=arn
        )
        calls_before = len(self.api.calls)
        handler_seconds = [self.invoke("delete", event) for _ in range(runs)]
        return {
            "runs": runs,
            "pool_api_calls": len(self.api.calls) - calls_before,
            "handler_median_seconds": statistics.median(handler_seconds),
            "handler_max_seconds": max(handler_seconds),
        }

    def cold_imports(self, runs: int) -> dict[str, float]:
        probes = {
            "handler": f"import sys; sys.path.insert(0, {str(self.asset)!r}); import index",
            "boto3_and_one_client": "import boto3; boto3.client('chime-sdk-media-pipelines')",
        }
        figures = {}
        for name, code in probes.items():
            timer = (
                f"import time; started = time.perf_counter(); {code}; print(time.perf_counter() - started)"
            )
            samples = []
            for _ in range(runs):
                done = subprocess.run(
                    [sys.executable, "-S", "-c", timer],
                    env={**self.env, "PYTHONPATH": str(self.runtime)},
                    capture_output=True,
                    text=True,
                    check=True,
                )
                samples.append(float(done.stdout.strip()))
            figures[f"{name}_median_seconds"] = statistics.median(samples)
        return figures


def measure_handler(workdir: Path) -> dict[str, Any]:
    asset = synthesize_asset(workdir / "asset.out")
    runtime = lambda_runtime_path(Path(tempfile.mkdtemp(dir=workdir)))
    with serve_pool_api() as api, serve_response_endpoint(workdir) as cfn, serve_stack_status() as stack:
        bench = HandlerBench(api, cfn, stack.url, asset, runtime, workdir)
        figures = {
            "requests_per_create": bench.lone_create(),
            "transitions": [
                bench.transitions(3.0, runs=5),
                bench.transitions(20.0, runs=3),
                bench.transitions(60.0, runs=3),
            ],
            "delete": bench.deletes(runs=5),
            "cold_import": bench.cold_imports(runs=5),
        }
    figures["herds"] = [measure_herds(asset, runtime, workdir, pools, rate) for pools, rate in HERDS]
    return figures


def measure_herds(asset: Path, runtime: Path, workdir: Path, pools: int, rate: float) -> dict[str, Any]:
    """The median of HERD_RUNS runs by wall time, with the range of the runs' wall time over the floor."""
    runs = sorted(
        (measure_herd(asset, runtime, workdir, pools, rate, run) for run in range(HERD_RUNS)),
        key=lambda run: run["wall_seconds"],
    )
    ratios = [run["wall_seconds"] / run["floor_seconds"] for run in runs]
    return {
        **runs[len(runs) // 2],
        "runs": len(runs),
        "wall_over_floor_min": min(ratios),
        "wall_over_floor_max": max(ratios),
        "failed_any_run": max(run["failed"] for run in runs),
        "requests_per_pool_mean_max": max(run["requests_per_pool_mean"] for run in runs),
    }


def measure_herd(
    asset: Path, runtime: Path, workdir: Path, pools: int, rate: float, run: int
) -> dict[str, Any]:
    """One process per pool, started, then all handed their Create at once against the API's rate."""
    logs = workdir / f"herd-{pools}-{rate:g}-{run}"
    logs.mkdir()
    with serve_pool_api() as api, serve_response_endpoint(logs) as cfn, serve_stack_status() as stack:
        names = [f"herd-{index:04d}" for index in range(pools)]
        for name in names:
            api.add_pool(name, retention=24)
        api.transition_seconds = HERD_TRANSITION_SECONDS
        api.limit_rate(rate)
        events = [
            {
                **cloudformation_event("Create", {"PoolIdentifier": name, "DataRetentionInHours": "48"}),
                "ResponseURL": cfn.url,
            }
            for name in names
        ]
        env = lambda_environment(api.url, cfn.ca_file, stack.url)
        done = invoke_together(asset, runtime, events, env, 600.0, logs)
        answered = sorted(at - done.handed_out_at for at in cfn.arrived_at)
        requests = Counter(_pool_of(call.identifier) for call in api.calls)
        succeeded = sum(
            body["Status"] == "SUCCESS" and api.pools[body["Data"]["PoolName"]].retention == 48
            for body in cfn.bodies
        )
        return {
            "pools": pools,
            "rate": rate,
            "transition_seconds": HERD_TRANSITION_SECONDS,
            "failed": pools - succeeded,
            "wall_seconds": answered[-1],
            "floor_seconds": floor_seconds(pools, rate, HERD_TRANSITION_SECONDS),
            "median_answer_seconds": statistics.median(answered),
            "requests_per_pool_mean": statistics.mean(requests[name] for name in names),
            "requests_per_pool_max": max(requests[name] for name in names),
            "throttled_share": sum(call.answered == 429 for call in api.calls) / len(api.calls),
            "answered_seconds": answered,
        }


def _pool_of(identifier: str) -> str:
    """The pool a request names: reads and updates name it, tag requests its ARN, which ends with it."""
    return identifier.rsplit("/", 1)[-1]


def measure_simulation() -> dict[str, Any]:
    """Whole stacks past what one machine runs as processes: the handler's core in virtual time."""
    import index

    from kvs_pool_retention.provider import HANDLER_TIMEOUT

    budget = HANDLER_TIMEOUT.to_seconds() - index.RESPONSE_MARGIN_SECONDS
    runs = []
    for pools in SIMULATED_POOLS:
        for rate in SIMULATED_RATES:
            result = simulate_herd(pools, rate, budget_seconds=budget)
            runs.append(
                {
                    "pools": pools,
                    "rate": rate,
                    "failed": result.failed,
                    "wall_seconds": result.wall_seconds,
                    "floor_seconds": result.floor_seconds,
                    "requests_per_pool_mean": result.requests_per_pool,
                    "answered_seconds": sorted(outcome.finished_at for outcome in result.outcomes),
                }
            )
    capacity = [{"rate": rate, "pools": most_pools_in_time(rate, budget)} for rate in SIMULATED_RATES]
    return {"budget_seconds": budget, "runs": runs, "capacity": capacity}


def most_pools_in_time(rate: float, budget: float) -> int:
    """The largest stack (to 10 pools) whose every resource succeeds within the function's time."""
    fits, fails = 10, 10 + int(budget * rate / REQUESTS_PER_CREATE)  # past this, even the floor is over it
    while fails - fits > 10:
        middle = (fits + fails) // 2
        if simulate_herd(middle, rate, budget_seconds=budget).failed == 0:
            fits = middle
        else:
            fails = middle
    return fits // 10 * 10


# --- report ----------------------------------------------------------------------------------------


def main() -> None:
    if sys.argv[1:] == ["--report"]:  # rewrite the table and plots from the committed results.json
        write_report(json.loads(RESULTS.read_text()))
        return
    started = time.monotonic()
    os.environ.setdefault("JSII_NODE", str(ROOT / "node_modules" / ".bin" / "node"))
    with tempfile.TemporaryDirectory(prefix="kvs-bench-") as scratch:
        workdir = Path(scratch)
        synth_rows = [row for count in COUNTS for row in measure_synth(count, workdir)]
        anatomy = measure_anatomy(workdir)
        handler = measure_handler(workdir)
    simulation = measure_simulation()
    results = {
        "machine": f"{os.cpu_count()} cores, Python {sys.version.split()[0]}",
        "synth": synth_rows,
        "synth_anatomy": anatomy,
        "handler": handler,
        "simulation": simulation,
        "bench_seconds": time.monotonic() - started,
    }
    OUT.mkdir(parents=True, exist_ok=True)
    (OUT / "results.json").write_text(json.dumps(results, indent=1) + "\n")
    write_report(results)


def write_report(results: dict[str, Any]) -> None:
    from tests.bench.report import plot, plot_herds, render

    (OUT / "results.md").write_text(render(results, LIMITS))
    plot(results, LIMITS, OUT / "synth.png")
    plot_herds(results, OUT / "herd.png")
    print((OUT / "results.md").read_text())


if __name__ == "__main__":
    main()
