"""Reading each declared pool with the caller's credentials, through the handler's own pool API client (in
a process of its own: reader.py), and comparing; the findings as a table."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from dataclasses import dataclass
from importlib import resources
from typing import Any

from kvs_pool_retention.drift.assembly import DeclaredPool
from kvs_pool_retention.handler_asset import HANDLER_PACKAGE

IN_SYNC, DRIFTED, UNREADABLE = 0, 3, 2


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


def check(pools: list[DeclaredPool]) -> list[Finding]:
    """Read every readable pool with the caller's credentials (boto3's usual chain), in one child process
    running the handler's own pool API client (reader.py)."""
    readable = [pool for pool in pools if not pool.unreadable]
    answers = _read(readable) if readable else []
    by_pool = dict(zip((id(pool) for pool in readable), answers, strict=True))
    findings = []
    for pool in pools:
        if pool.unreadable:
            findings.append(Finding(pool, problem=pool.unreadable))
            continue
        answer = by_pool[id(pool)]
        if "problem" in answer:
            problem = str(answer["problem"])
            findings.append(
                Finding(pool, problem=_with_account(problem, pool) if answer["about_access"] else problem)
            )
            continue
        findings.append(Finding(pool, actual_hours=int(answer["hours"]), status=str(answer["status"])))
    return findings


def _read(pools: list[DeclaredPool]) -> list[dict[str, Any]]:
    folder = str(resources.files(HANDLER_PACKAGE))
    path = os.pathsep.join(part for part in (folder, os.environ.get("PYTHONPATH", "")) if part)
    requests = [{"identifier": pool.identifier, "region": pool.region} for pool in pools]
    done = subprocess.run(
        [sys.executable, "-m", "kvs_pool_retention.drift.reader"],
        input=json.dumps(requests),
        env={**os.environ, "PYTHONPATH": path},
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode != 0:
        failure = (done.stderr.strip().splitlines() or ["no output"])[-1]
        return [{"problem": f"The pools could not be read: {failure}", "about_access": False}] * len(pools)
    answers: list[dict[str, Any]] = json.loads(done.stdout)
    return answers


def _with_account(problem: str, pool: DeclaredPool) -> str:
    """A pool not found or not allowed is often read with another account's credentials (a pipeline's
    stages each deploy to their own); the caller's account is unknown here without a call to STS."""
    if pool.account is None:
        return problem
    return f"{problem} Declared in account {pool.account}: read it with that account's credentials."


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
