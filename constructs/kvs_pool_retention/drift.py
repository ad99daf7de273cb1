"""Drift check: do the deployed pools still have the retention the synthesized templates declare?

Custom resources have no CloudFormation drift detection, and a pool's retention can be changed outside
CloudFormation. This reads each declared pool with the caller's AWS credentials and compares.
Exit status: 3 when any pool differs, else 2 when any could not be read (or the assembly could not),
else 0.
"""

from __future__ import annotations

import argparse
import json
import sys
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from types import ModuleType
from typing import Any

from kvs_pool_retention.handler.retention_rules import parse_pool_identifier
from kvs_pool_retention.handler_asset import HANDLER_PACKAGE
from kvs_pool_retention.retention import RESOURCE_TYPE

IN_SYNC, DRIFTED, UNREADABLE = 0, 3, 2


@dataclass(frozen=True)
class DeclaredPool:
    stack: str
    identifier: str
    hours: int | None  # None when the template holds a deploy-time value for the pool or its hours
    region: str | None  # None: the caller's default region


@dataclass(frozen=True)
class Finding:
    pool: DeclaredPool
    actual_hours: int | None = None
    status: str = ""
    problem: str = ""

    @property
    def outcome(self) -> int:
        if self.problem:
            return UNREADABLE
        return IN_SYNC if self.actual_hours == self.pool.hours else DRIFTED


def declared_pools(assembly: Path, stack: str | None = None) -> list[DeclaredPool]:
    """Every KinesisVideoStreamPoolRetention in the cloud assembly's stack templates."""
    manifest = json.loads((assembly / "manifest.json").read_text())
    stacks = {
        name: artifact
        for name, artifact in manifest.get("artifacts", {}).items()
        if artifact.get("type") == "aws:cloudformation:stack"
        and stack in (None, name, artifact.get("properties", {}).get("stackName"))
    }
    if stack is not None and not stacks:
        raise LookupError(f"No stack named {stack} in {assembly}.")
    pools = []
    for name, artifact in sorted(stacks.items()):
        template = json.loads((assembly / artifact["properties"]["templateFile"]).read_text())
        stack_region = artifact.get("environment", "aws://unknown-account/unknown-region").rsplit("/", 1)[-1]
        for resource in template.get("Resources", {}).values():
            if resource.get("Type") == RESOURCE_TYPE:
                pools.append(_declared(name, resource.get("Properties", {}), stack_region))
    return pools


def _declared(stack: str, properties: dict[str, Any], stack_region: str) -> DeclaredPool:
    identifier = properties.get("PoolIdentifier")
    hours = properties.get("DataRetentionInHours")
    if not isinstance(identifier, str):
        return DeclaredPool(stack, json.dumps(identifier), None, None)
    try:
        region = parse_pool_identifier(identifier).region
    except ValueError:
        region = None
    if region is None and stack_region != "unknown-region":
        region = stack_region
    declared_hours = int(hours) if isinstance(hours, int | str) and str(hours).isdigit() else None
    return DeclaredPool(stack, identifier, declared_hours, region)


def check(pools: list[DeclaredPool], client_for: Any) -> list[Finding]:
    core = _handler_core()
    findings = []
    for pool in pools:
        if pool.hours is None:
            findings.append(
                Finding(pool, problem="declared by a deploy-time value; check it after deployment")
            )
            continue
        try:
            reader = core.PoolRetention(client_for(pool.region), core.Deadline(60))
            configuration = reader.describe(pool.identifier)
        except core.RetentionError as error:
            findings.append(Finding(pool, problem=str(error)))
            continue
        hours = configuration["StreamConfiguration"]["DataRetentionInHours"]
        findings.append(Finding(pool, actual_hours=int(hours), status=str(configuration["PoolStatus"])))
    return findings


def _handler_core() -> ModuleType:
    """The handler's core, imported as the Lambda runtime imports it: its modules are top-level there and
    import each other so. Appended to the path, so it shadows nothing of the caller's."""
    folder = str(resources.files(HANDLER_PACKAGE))
    if folder not in sys.path:
        sys.path.append(folder)
    import pool_retention

    return pool_retention


def table(findings: list[Finding]) -> str:
    rows = [("STACK", "POOL", "DECLARED H", "ACTUAL H", "STATUS", "RESULT")]
    for finding in findings:
        result = {IN_SYNC: "in sync", DRIFTED: "DRIFTED"}.get(
            finding.outcome, f"UNREADABLE: {finding.problem}"
        )
        rows.append(
            (
                finding.pool.stack,
                finding.pool.identifier,
                "?" if finding.pool.hours is None else str(finding.pool.hours),
                "-" if finding.actual_hours is None else str(finding.actual_hours),
                finding.status or "-",
                result,
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(5)]
    return "\n".join(
        "  ".join(cell.ljust(width) for cell, width in zip(row[:5], widths, strict=True)) + "  " + row[5]
        for row in rows
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kvs_pool_retention", description="Keep KVS pool retention as declared."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    drift = commands.add_parser("drift", help="compare deployed pools with a synthesized cloud assembly")
    drift.add_argument("--app", required=True, type=Path, help="the cloud assembly folder (cdk.out)")
    drift.add_argument("--stack", help="only this stack")
    arguments = parser.parse_args(argv)

    try:
        pools = declared_pools(arguments.app, arguments.stack)
    except (OSError, ValueError, LookupError) as error:
        print(f"Cannot read the cloud assembly: {error}", file=sys.stderr)
        return UNREADABLE
    if not pools:
        print(f"No {RESOURCE_TYPE} resources in {arguments.app}: nothing to check.")
        return IN_SYNC
    try:
        import boto3
    except ImportError:
        print("The drift check needs boto3: pip install boto3", file=sys.stderr)
        return UNREADABLE
    clients: dict[str | None, Any] = {}

    def client_for(region: str | None) -> Any:
        if region not in clients:
            clients[region] = boto3.client("chime-sdk-media-pipelines", region_name=region)
        return clients[region]

    findings = check(pools, client_for)
    print(table(findings))
    outcomes = {finding.outcome for finding in findings}
    # A drift found is a definite answer; an unreadable pool only makes the answer incomplete.
    return DRIFTED if DRIFTED in outcomes else UNREADABLE if UNREADABLE in outcomes else IN_SYNC
