"""Reading each declared pool with the caller's credentials, through the handler's own pool API client,
and comparing; the findings as a table."""

from __future__ import annotations

import sys
from dataclasses import dataclass
from importlib import resources
from types import SimpleNamespace
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


def check(pools: list[DeclaredPool], client_for: Any) -> list[Finding]:
    core = _handler_core()
    findings = []
    for pool in pools:
        if pool.unreadable:
            findings.append(Finding(pool, problem=pool.unreadable))
            continue
        try:
            reader = core.pool_api.PoolApi(
                client_for(pool.region), core.calls.Caller(core.calls.Deadline(60))
            )
            configuration = reader.describe(pool.identifier)
        except (core.errors.PoolNotFound, core.errors.AccessDenied) as error:
            findings.append(Finding(pool, problem=_with_account(str(error), pool)))
            continue
        except core.errors.RetentionError as error:
            findings.append(Finding(pool, problem=str(error)))
            continue
        status = str(configuration.get("PoolStatus", ""))
        # A retention the API leaves out reads as 0 h, the service's default (pool_api.describe).
        findings.append(Finding(pool, actual_hours=core.pool_api.retention_of(configuration), status=status))
    return findings


def _with_account(problem: str, pool: DeclaredPool) -> str:
    """A pool not found or not allowed is often read with another account's credentials (a pipeline's
    stages each deploy to their own); the caller's account is unknown here without a call to STS."""
    if pool.account is None:
        return problem
    return f"{problem} Declared in account {pool.account}: read it with that account's credentials."


def _handler_core() -> SimpleNamespace:
    """The handler's core, imported as the Lambda runtime imports it: its modules are top-level there and
    import each other so. Appended to the path, so it shadows nothing of the caller's."""
    folder = str(resources.files(HANDLER_PACKAGE))
    if folder not in sys.path:
        sys.path.append(folder)
    import calls
    import errors
    import pool_api

    return SimpleNamespace(calls=calls, errors=errors, pool_api=pool_api)


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
