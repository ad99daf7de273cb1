"""Turn the benchmark's results into the committed markdown table and PNG plot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

LABELS = {"ours": "KinesisVideoStreamPoolRetention", "aws-custom-resource": "AwsCustomResource"}


def _pair(results: dict[str, Any], count: int) -> tuple[dict[str, Any], dict[str, Any]]:
    rows = {row["kind"]: row for row in results["synth"] if row["pools"] == count}
    return rows["ours"], rows["aws-custom-resource"]


def _passed(row: dict[str, Any], limits: dict[str, int]) -> str:
    over = [f"{name} {row[name]:,} > {limit:,}" for name, limit in limits.items() if row[name] > limit]
    return "yes" if not over else "no: " + "; ".join(over)


def _spread(row: dict[str, Any]) -> str:
    return f"{row['synth_seconds']:.2f} ({row['synth_seconds_min']:.2f}-{row['synth_seconds_max']:.2f})"


def requests_per_create(results: dict[str, Any]) -> int:
    """k, as the run measured it; results from before 0.3.0 predate the record (read, update, read)."""
    return int(results["handler"].get("requests_per_create", 3))


# What a default stack holds (tests/unit/construct/test_least_privilege.py): 500 resources less the handler's 6
# and AWS::CDK::Metadata.
STACK_RESOURCES = 500
STACK_POOLS = 493


def render(results: dict[str, Any], limits: dict[str, int]) -> str:
    counts = sorted({row["pools"] for row in results["synth"]})
    lines = [
        "# Benchmark: KinesisVideoStreamPoolRetention vs AwsCustomResource",
        "",
        f"Written by `make bench` ({results['machine']}, {results['bench_seconds'] / 60:.1f} min). Both sides set",
        "the retention of N pools in one stack; AwsCustomResource calls `UpdateMediaPipelineKinesisVideoStreamPool`",
        "as CDK's documentation shows (`AwsCustomResourcePolicy.fromSdkCalls(ANY_RESOURCE)`,",
        "`install_latest_aws_sdk=False`). Synth time is building the app and synthesizing it, imports excluded:",
        "median (and range) of 5 runs, each in a fresh process, the two kinds interleaved.",
        _validation_share(results) + "*warm* is a second, identical app in the same process, which shows the "
        "per-pool work alone.",
        "IAM characters are counted as IAM does (resolved, no white space) on the handler function's role.",
        "",
        "## Synthesis and limits",
        "",
        "| pools | synth s ours | synth s ACR | ratio | warm s ours / ACR | template KB ours / ACR (ratio) | "
        "resources ours / ACR | outputs | inline IAM chars ours / ACR | managed policies ours / ACR | "
        "managed IAM chars ours (largest) | policy resources ours / ACR | "
        "within limits: ours | within limits: ACR |",
        "|---:|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for count in counts:
        ours, acr = _pair(results, count)
        lines.append(
            f"| {count} "
            f"| {_spread(ours)} | {_spread(acr)} | {ours['synth_seconds'] / acr['synth_seconds']:.2f} "
            f"| {ours['warm_synth_seconds']:.2f} / {acr['warm_synth_seconds']:.2f} "
            f"| {ours['template_bytes'] / 1024:.1f} / {acr['template_bytes'] / 1024:.1f} "
            f"({ours['template_bytes'] / acr['template_bytes']:.2f}) "
            f"| {ours['resources']} / {acr['resources']} "
            f"| {ours['outputs']} / {acr['outputs']} "
            f"| {ours['inline_policy_chars']:,} / {acr['inline_policy_chars']:,} "
            f"| {ours['managed_policies']} / {acr['managed_policies']} "
            f"| {ours['managed_policy_chars_total']:,} ({ours['managed_policy_chars']:,}) "
            f"| {ours['policy_resources']} / {acr['policy_resources']} "
            f"| {_passed(ours, limits)} | {_passed(acr, limits)} |"
        )
    handler = results["handler"]
    lines += [
        "",
        "Limits checked: 500 resources, 200 outputs, 1 MB template; per role 10 240 characters of inline policy,",
        "at most 10 managed policies of 6 144 characters each (AWS managed ones count towards the 10). This",
        "construct grants the declared pools' exact ARNs, inline first, then in customer managed policies, until",
        "the stack's 500 resources leave no room for another policy resource (here, 17-character names, from",
        "about 490 pools: that row shows the acknowledged account-wide grant). AwsCustomResource grants",
        "`Resource: *`, with one inline policy per instance.",
        "",
        "## The handler against the local API stand-in",
        "",
        "Overhead is the time from the pool turning ACTIVE to the response reaching the (local) pre-signed URL;",
        "reads per second count the reads made between the update and the response. The stand-in's transitions",
        "last exactly 3 s, 20 s and 60 s; the polling schedule reads at 0.5 s, 2 s, then every second to 10 s, then",
        "eases to every 1.5 s, so a transition ending just after a read waits up to 1 s (short) or 1.5 s (long) more.",
        "",
        "| transition | runs (concurrent) | overhead median | overhead max | reads per second (max) |",
        "|---:|---:|---:|---:|---:|",
    ]
    for transition in handler["transitions"]:
        lines.append(
            f"| {transition['transition_seconds']:.0f} s | {transition['runs']} "
            f"| {transition['overhead_median_seconds']:.2f} s | {transition['overhead_max_seconds']:.2f} s "
            f"| {transition['reads_per_second_max']:.2f} |"
        )
    delete, cold = handler["delete"], handler["cold_import"]
    lines += _herd_section(results)
    lines += [
        "",
        f"Delete: answered in {delete['handler_median_seconds'] * 1000:.0f} ms median, "
        f"{delete['handler_max_seconds'] * 1000:.0f} ms at most ({delete['runs']} runs; "
        f"{delete.get('pool_api_calls', 0)} calls to the pool API in all).",
        "",
        f"Cold import: the handler module {cold['handler_median_seconds']:.2f} s (boto3, crhelper, and the three clients",
        f"crhelper creates at import), against {cold['boto3_and_one_client_median_seconds']:.2f} s for `import boto3`",
        "plus one client (median of 5 fresh processes); the handler's own client is made at the first event.",
        "",
        "## Goals",
        "",
        "| goal | measured | met |",
        "|---|---|---|",
    ]
    short, middle, long = handler["transitions"]
    ours1, acr1 = _pair(results, 1)
    ours100, acr100 = _pair(results, 100)
    ours490, _ = _pair(results, 490)
    per_pool = (ours100["synth_seconds"] - ours1["synth_seconds"]) / (
        acr100["synth_seconds"] - acr1["synth_seconds"]
    )
    herds, k = handler["herds"], requests_per_create(results)
    goals = [
        (
            "response overhead ≤ 1 s median after a 3 s transition",
            f"{short['overhead_median_seconds']:.2f} s",
            short["overhead_median_seconds"] <= 1,
        ),
        *(
            (
                f"response overhead ≤ 2.5 s median after a {transition['transition_seconds']:.0f} s transition "
                "(stretch 1.5 s)",
                f"{transition['overhead_median_seconds']:.2f} s",
                transition["overhead_median_seconds"] <= 2.5,
            )
            for transition in (middle, long)
        ),
        (
            "at most one read per second on average",
            f"{max(t['reads_per_second_max'] for t in handler['transitions']):.2f} /s",
            max(t["reads_per_second_max"] for t in handler["transitions"]) <= 1,
        ),
        *(
            goal
            for herd in herds
            for goal in (
                (
                    f"whole stack ({_herd(herd)}): no failed resource",
                    str(herd["failed"]),
                    herd["failed"] == 0,
                ),
                (
                    f"whole stack ({_herd(herd)}): wall time ≤ 1.5 x floor (stretch 1.3)",
                    f"{herd['wall_seconds'] / herd['floor_seconds']:.2f} x",
                    herd["wall_seconds"] <= 1.5 * herd["floor_seconds"],
                ),
                (
                    f"whole stack ({_herd(herd)}): API requests a pool ≤ k + 9 = {k + 9}, 429s included "
                    f"(stretch k + 5 = {k + 5})",
                    f"{herd['requests_per_pool_mean']:.1f} (max {herd['requests_per_pool_max']})",
                    herd["requests_per_pool_mean"] <= k + 9,
                ),
            )
        ),
        (
            "delete answered in ≤ 1 s",
            f"{delete['handler_max_seconds'] * 1000:.0f} ms",
            delete["handler_max_seconds"] <= 1,
        ),
        (
            "synth time ≤ AwsCustomResource's at 1 pool",
            f"{ours1['synth_seconds'] / acr1['synth_seconds']:.2f} x median "
            f"({_spread(ours1)} s against {_spread(acr1)} s)",
            ours1["synth_seconds"] <= acr1["synth_seconds"],
        ),
        (
            "synth time ≤ AwsCustomResource's at 100 pools",
            f"{ours100['synth_seconds'] / acr100['synth_seconds']:.2f} x median "
            f"({_spread(ours100)} s against {_spread(acr100)} s); warm "
            f"{ours100['warm_synth_seconds'] / acr100['warm_synth_seconds']:.2f} x",
            ours100["synth_seconds"] <= acr100["synth_seconds"],
        ),
        (
            "synth time each pool adds (1 to 100 pools, medians) ≤ 0.75 x AwsCustomResource's",
            f"{per_pool:.2f} x",
            per_pool <= 0.75,
        ),
        (
            "template bytes ≤ 0.5 x AwsCustomResource's at 100 pools",
            f"{ours100['template_bytes'] / acr100['template_bytes']:.2f} x",
            ours100["template_bytes"] <= 0.5 * acr100["template_bytes"],
        ),
        ("490 pools stay within every limit", _passed(ours490, limits), _passed(ours490, limits) == "yes"),
    ]
    lines += [f"| {goal} | {measured} | {'yes' if met else '**no**'} |" for goal, measured, met in goals]
    lines += [
        "",
        "The template goal dates from when the grant widened to every pool of the account past about 80 pools.",
        "The role now gets the declared pools' exact ARNs at every count a stack holds (lowering a retention",
        "deletes media), and each exact ARN costs about 400 bytes of template (a Fn::Join of the stack's",
        "partition, region and account, as earlier versions already wrote them below 80 pools, so deployed",
        "stacks see no policy change). Rendering them as Fn::Sub would halve that but change the pool policy",
        "of every deployed stack on upgrade; left as it is.",
    ]
    lines += _anatomy_section(results)
    lines += [
        "",
        "![synth time, template size and IAM characters by pool count](synth.png)",
        "",
        "![every resource's answer time, a whole stack at once](herd.png)",
        "",
    ]
    return "\n".join(lines)


def _validation_share(results: dict[str, Any]) -> str:
    """How much of AwsCustomResource's first synth at one pool is aws-cdk-lib's template validation: the
    same app's first synth with it (the table) and without it (the anatomy below)."""
    anatomy = results.get("synth_anatomy")
    if not anatomy:
        return ""
    with_validation = _pair(results, 1)[1]["synth_seconds"]
    without = next(layer for layer in anatomy["layers"] if layer["kind"] == "aws-custom-resource")
    return (
        f"About {with_validation - without['synth_seconds']:.1f} s of every first synth is aws-cdk-lib's "
        "default template validation, the same for both kinds (the first synth at 1 pool with it, in the "
        "table, and without it, in the anatomy below); "
    )


ANATOMY_LAYERS = {
    "aws-custom-resource": "AwsCustomResource, as above",
    "function": "a Lambda-backed custom resource built from Python with this library's handler asset",
    "function-resources": "that, with what AwsCustomResource does not make: a log group (a year's retention), "
    "async-invoke settings (2 retries, 15 minutes), a second inline policy, and a role built apart from the "
    "function instead of CDK's default one",
    "ours": "KinesisVideoStreamPoolRetention: that, with the grant plan (an aspect and a walk of the stack at "
    "synth), the review metadata and the handler's tag",
}


def _anatomy_section(results: dict[str, Any]) -> list[str]:
    """Where the first synth's time goes at one pool (a layer each row, measured with validation off)."""
    anatomy = results.get("synth_anatomy")
    if not anatomy:
        return []
    layers = anatomy["layers"]
    lines = [
        "",
        "### Where the first synth's time goes at 1 pool",
        "",
        "Each row adds a layer to the one before; aws-cdk-lib's template validation is off "
        "(`CDK_VALIDATION=false`), since it costs every kind the same second and brings most of the spread "
        f"(median and range of {anatomy['runs']} interleaved runs).",
        "",
        "| layer | first synth ms | added ms |",
        "|---|---|---|",
    ]
    previous = None
    for layer in layers:
        added = "" if previous is None else f"{(layer['synth_seconds'] - previous) * 1000:+.0f}"
        lines.append(
            f"| {ANATOMY_LAYERS[layer['kind']]} | {layer['synth_seconds'] * 1000:.0f} "
            f"({layer['min'] * 1000:.0f}-{layer['max'] * 1000:.0f}) | {added} |"
        )
        previous = layer["synth_seconds"]
    seconds = {layer["kind"]: layer["synth_seconds"] for layer in layers}
    before_ours = (seconds["function-resources"] - seconds["aws-custom-resource"]) * 1000
    lines += [
        "",
        "The last row is this library's own work; the two before it are what any Lambda-backed custom resource "
        "built from Python with a log group, retries and a role of its own costs. Without the last row, the first "
        f"synth at 1 pool would still take {before_ours:.0f} ms more than AwsCustomResource's.",
    ]
    return lines


def _herd(herd: dict[str, Any]) -> str:
    return f"{herd['pools']} pools, {herd['rate']:g}/s"


def _herd_section(results: dict[str, Any]) -> list[str]:
    simulation, k = results["simulation"], requests_per_create(results)
    lines = [
        "",
        "## A whole stack at once",
        "",
        "CloudFormation invokes the function once per resource, all together. Here one handler process per",
        "pool is started (as Lambda starts one execution environment per concurrent invocation) and, once all",
        "have imported the handler, each is handed its Create (24 h to 48 h) at once, against the stand-in",
        "admitting R requests a second across all of them (token bucket, burst R, 429 ThrottledClientException",
        "past it), each pool taking 3 s to settle. Wall time runs from the events handed out to the last",
        f"response; the floor is 3 s + kN/R with k = {k}, the requests one Create makes alone on a pool nothing",
        "declares yet (measured), at the API's rate. Requests count every call to the API, tag requests and",
        "429s included. Which invocations the API happens to",
        "serve first varies from run to run: each stack runs 3 times; the table shows the median run by wall",
        "time, with the range of wall / floor over the runs.",
        "",
        "| pools | API rate | failed | wall time | floor | wall / floor (runs) | median answer | requests a pool "
        "(max) | answered 429 |",
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for herd in results["handler"]["herds"]:
        lines.append(
            f"| {herd['pools']} | {herd['rate']:g}/s | {herd['failed']} | {herd['wall_seconds']:.1f} s "
            f"| {herd['floor_seconds']:.1f} s | {herd['wall_seconds'] / herd['floor_seconds']:.2f} "
            f"({herd['wall_over_floor_min']:.2f}-{herd['wall_over_floor_max']:.2f}) "
            f"| {herd['median_answer_seconds']:.1f} s "
            f"| {herd['requests_per_pool_mean']:.1f} ({herd['requests_per_pool_max']}) "
            f"| {herd['throttled_share']:.0%} |"
        )
    lines += [
        "",
        "### Past one machine, in virtual time",
        "",
        "The handler's core (`declaring.declare` with its `Caller` and `Pacing`, unmodified) runs once per pool",
        "in virtual time (tests/simulation): an injected clock and sleep, the stand-in's own API model with the",
        "same token bucket, 20 ms network latency each way, starts spread over 1 s, nothing shared between",
        f"invocations but the API. Each invocation has the function's time: {simulation['budget_seconds']:.0f} s",
        "(the 10-minute timeout less the handler's answering margin).",
        "",
        "| pools | API rate | failed | last answer | floor | requests a pool |",
        "|---:|---:|---:|---:|---:|---:|",
    ]
    for run in simulation["runs"]:
        lines.append(
            f"| {run['pools']} | {run['rate']:g}/s | {run['failed']} | {run['wall_seconds']:.0f} s "
            f"| {run['floor_seconds']:.0f} s | {run['requests_per_pool_mean']:.1f} |"
        )
    lines += [
        "",
        "### Pools the API's rate lets through in the function's time",
        "",
        "The largest herd (to 10 pools) whose every resource succeeded within the function's time, by",
        "simulation (one seed: plan below it), and what one stack of them holds: a stack takes at most",
        f"{STACK_POOLS} retention resources ({STACK_RESOURCES} less the handler's own and CDK's metadata).",
        "",
        "| API rate (requests a second) | pools in the function's time | pools a stack |",
        "|---:|---:|---:|",
        *(
            f"| {row['rate']:g} | {row['pools']} | {min(row['pools'], STACK_POOLS)} |"
            for row in simulation["capacity"]
        ),
    ]
    return lines


def plot(results: dict[str, Any], limits: dict[str, int], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    panels = [
        ("synth_seconds", "synth time (s)", None),
        ("template_bytes", "template size (bytes)", limits["template_bytes"]),
        ("inline_policy_chars", "inline IAM policy characters on the role", limits["inline_policy_chars"]),
        ("managed_policy_chars_total", "managed IAM policy characters on the role", None),
        ("policy_resources", "IAM policy resources for the role", None),
    ]
    figure, axes = plt.subplots(1, len(panels), figsize=(24, 4.5))
    for axis, (field, title, limit) in zip(axes, panels, strict=True):
        for kind, label in LABELS.items():
            rows = sorted(
                (row for row in results["synth"] if row["kind"] == kind), key=lambda row: row["pools"]
            )
            axis.plot([row["pools"] for row in rows], [row[field] for row in rows], marker="o", label=label)
        if limit:
            axis.axhline(limit, color="grey", linestyle="--", linewidth=1, label="limit")
        axis.set_xscale("log")
        axis.set_yscale("log")
        axis.set_xlabel("pools in one stack")
        axis.set_title(title)
        axis.grid(True, which="both", alpha=0.3)
    axes[0].legend()
    figure.tight_layout()
    figure.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(figure)


def plot_herds(results: dict[str, Any], path: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, (real, simulated) = plt.subplots(1, 2, figsize=(13, 4.5))
    for herd in results["handler"]["herds"]:
        answered = herd["answered_seconds"]
        line = real.plot(answered, range(1, len(answered) + 1), label=f"{_herd(herd)}")[0]
        real.axvline(herd["floor_seconds"], color=line.get_color(), linestyle="--", linewidth=1)
    k = requests_per_create(results)
    real.set_title(f"processes over real sockets (dashed: floor 3 s + kN/R, k = {k})")
    real.set_xlabel("seconds since the events were handed out")
    real.set_ylabel("resources answered")
    real.legend()
    simulation = results["simulation"]
    for run in simulation["runs"]:
        answered = run["answered_seconds"]
        simulated.plot(
            answered, range(1, len(answered) + 1), label=f"{run['pools']} pools, {run['rate']:g}/s"
        )
    simulated.axvline(
        simulation["budget_seconds"], color="grey", linestyle="--", linewidth=1, label="function time"
    )
    simulated.set_title("virtual time: answered (successes and failures)")
    simulated.set_xlabel("seconds since CloudFormation sent the events")
    simulated.legend(fontsize=8)
    for axis in (real, simulated):
        axis.grid(True, alpha=0.3)
    figure.tight_layout()
    figure.savefig(path, dpi=100, metadata={"Software": None})
    plt.close(figure)
