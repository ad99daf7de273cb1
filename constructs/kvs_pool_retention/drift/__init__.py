"""Drift check: do the deployed pools still have the retention the synthesized templates declare?

Custom resources have no CloudFormation drift detection, and a pool's retention can be changed outside
CloudFormation. This reads each declared pool with the caller's AWS credentials and compares.

Which stacks: every stack artifact of the cloud assembly, and of the nested cloud assemblies it holds at
any depth (`cdk:cloud-assembly` artifacts, one per `Stage`: every stack a CDK Pipelines app deploys lives
in one). A stack is named by its artifact's `displayName` (`Prod/Retention`: the stage path, then the
stack), else its artifact id; `--stack` takes that name, the artifact id or the CloudFormation stack name.

Nested CloudFormation stacks (`AWS::CloudFormation::Stack`, e.g. `cdk.NestedStack`) are read as part of
their parent, at any depth, named by their construct path. Their template is a file asset of the assembly,
found by the resource's `aws:asset:path` metadata (written when the CDK CLI synthesizes), else by the
asset whose content hash its `TemplateURL` holds (the asset manifest of the default synthesizers, the
`aws:cdk:asset` metadata of the legacy one). A nested stack whose template is not in the assembly (a
`TemplateURL` of one's own) may hold pools this cannot see: it is reported as unreadable, never skipped.

Where: a pool declared by ARN is read in the ARN's region; one declared by name in its stack's region
(the artifact's `environment`; a stage's stacks have their stage's), or the caller's default region for
an environment-agnostic stack. The caller's credentials must be for the account the pool is in.

Exit status: 3 when any pool differs (a definite finding, whatever else is unknown), else 2 when any
could not be read (or the assembly could not), else 0. "Nothing to check" (0) means the assembly declares
no pool at all.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from kvs_pool_retention.drift.assembly import (
    AssemblyError,
    DeclaredPool,
    DeclaredStack,
    UnknownStack,
    declared_pools,
    select,
    stacks,
)
from kvs_pool_retention.drift.check import DRIFTED, IN_SYNC, UNREADABLE, Finding, check, table
from kvs_pool_retention.resource_type import RESOURCE_TYPE

__all__ = [
    "DRIFTED",
    "IN_SYNC",
    "UNREADABLE",
    "AssemblyError",
    "DeclaredPool",
    "DeclaredStack",
    "Finding",
    "UnknownStack",
    "check",
    "declared_pools",
    "main",
    "select",
    "stacks",
    "table",
]


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m kvs_pool_retention", description="Keep KVS pool retention as declared."
    )
    commands = parser.add_subparsers(dest="command", required=True)
    drift = commands.add_parser("drift", help="compare deployed pools with a synthesized cloud assembly")
    drift.add_argument("--app", required=True, type=Path, help="the cloud assembly folder (cdk.out)")
    drift.add_argument(
        "--stack", help="only this stack: its path (Stage/Stack), artifact id or CloudFormation stack name"
    )
    arguments = parser.parse_args(argv)

    try:
        chosen = select(stacks(arguments.app), arguments.stack)
        pools = declared_pools(chosen)
    except UnknownStack as error:
        print(error, file=sys.stderr)
        return UNREADABLE
    except (OSError, ValueError, LookupError) as error:
        print(f"Cannot read the cloud assembly {arguments.app}: {error}", file=sys.stderr)
        return UNREADABLE
    if not pools:
        count = f"{len(chosen)} stack{'' if len(chosen) == 1 else 's'}"
        print(f"No {RESOURCE_TYPE} resources in {count} of {arguments.app}: nothing to check.")
        return IN_SYNC
    try:
        import boto3  # noqa: F401  (the reader's process uses it)
    except ImportError:
        print("The drift check needs boto3: pip install boto3", file=sys.stderr)
        return UNREADABLE
    findings = check(pools)
    print(table(findings))
    outcomes = {finding.outcome for finding in findings}
    # A drift found is a definite answer; an unreadable pool only makes the answer incomplete.
    return DRIFTED if DRIFTED in outcomes else UNREADABLE if UNREADABLE in outcomes else IN_SYNC
