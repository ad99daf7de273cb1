"""Lambda entry point of the retention guard (`guard.handler`), shipped in the handler's asset.

Two kinds of invocation: the service's pool event (EventBridge rule: `PoolUpdated` or `PoolDeleted` of a
pool, its ARN in `detail.poolArn`), and the sweep (a schedule rule; any other event). Either way the guard
reads its own stack's status first and does nothing while an operation is in progress (the handler is
changing pools then, and the sweep after the operation sees the outcome); it reads the status again right
before a change and before a stack-level point, and stops if an operation began. A status it cannot read
fails the invocation (Lambda retries it, then the dead-letter queue keeps it). Then the stack's retention
resources (own_stack.py): only the pools they name are read or written.

What it publishes (embedded metric format, one JSON line each, `guarding` decides the values):
- an event: the pool's gauge [Stack, Pool], 0 or 1; and the stack's gauge [Stack] = 1 when the pool is
  not where its declarations say, or was found below them and put back. An event that finds its pool in
  sync publishes no stack-level 0: it knows one pool, and a 0 would clear the alarm another pool's drift
  raised (the alarm keeps its state while no point comes; the sweep clears it once every pool is back).
- a sweep: every pool's gauge, then the stack's gauge = the maximum, a pool not read counting 1. A 0 is
  stamped with the sweep's start, so that it never comes after a 1 an event published meanwhile; a 1 is
  stamped when published. No 0 while a pool was being changed (not ACTIVE): nothing is known of it.
"""

from __future__ import annotations

import functools
import json
import logging
import os
import time
from typing import TYPE_CHECKING, Any

import boto3
from botocore.exceptions import BotoCoreError, ClientError
from calls import CLIENT_CONFIG, CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS, Caller, Deadline
from errors import RetentionError
from guarding import NOT_CHECKED, Finding, GuardSettings, SweepPacing, check_pool, report
from own_stack import DeploymentStarted, OwnStack, in_progress
from pool_api import PoolApi
from retention_rules import (
    GUARD_ALLOW_LOWERING_ENV,
    GUARD_ENFORCE_ENV,
    GUARD_METRIC,
    GUARD_NAMESPACE,
    GUARD_POOL_DIMENSION,
    GUARD_RESOURCE_TYPE_ENV,
    GUARD_STACK_DIMENSION,
    GUARD_STACK_ID_ENV,
    GUARD_STACK_KEY_ENV,
    GUARD_STACK_NAME_ENV,
    POOL_EVENT_DETAIL_TYPE,
    POOL_EVENT_SOURCE,
    POOL_EVENT_TYPES,
    parse_pool_identifier,
    parse_stack_key,
)

if TYPE_CHECKING:
    from mypy_boto3_chime_sdk_media_pipelines import ChimeSDKMediaPipelinesClient
    from mypy_boto3_cloudformation import CloudFormationClient

logger = logging.getLogger()
logger.setLevel(logging.INFO)

# Kept back from the invocation's time: a request under way when the deadline passes, and the metric lines.
MARGIN_SECONDS = CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS + 2
# A sweep gives each pool at most this long (its reads, and a put-back settling): one unreachable or
# throttled pool cannot take the time of the others.
POOL_BUDGET_SECONDS = 30.0
# Within the alarm's three evaluated 60-second periods, with a minute left for the metric's extraction.
ZERO_AT_MOST_MS = 120_000


def handler(event: dict[str, Any], context: Any) -> dict[str, Any]:
    settings = settings_from(os.environ)
    deadline = Deadline(context.get_remaining_time_in_millis() / 1000 - MARGIN_SECONDS)
    pool = pool_of(event)
    # Grants never change under a running guard: a denial is final at once (another stack's pool).
    pacing = None if pool is not None else SweepPacing(clock=deadline.clock)
    caller = Caller(deadline, pacing, retry_denials=False)
    own = OwnStack(
        stack_client_for(_region_of(settings.stack_id)), caller, settings.stack_id, settings.resource_type
    )
    # Unreadable, it raises: the invocation fails, Lambda retries it, then the dead-letter queue keeps it.
    status = own.status()
    if in_progress(status):
        logger.info("stack %s is %s: the guard does nothing now", settings.stack_name, status)
        return {"skipped": status}
    try:
        if pool is not None:
            return on_event(pool, settings, caller, own)
        return sweep(settings, caller, own)
    except DeploymentStarted as started:
        logger.info("stack %s is now %s: the guard stops", settings.stack_name, started.status)
        return {"skipped": started.status}


def settings_from(environment: Any) -> GuardSettings:
    return GuardSettings(
        stack_key=parse_stack_key(environment[GUARD_STACK_KEY_ENV]),
        stack_id=str(environment[GUARD_STACK_ID_ENV]),
        stack_name=str(environment[GUARD_STACK_NAME_ENV]),
        resource_type=str(environment[GUARD_RESOURCE_TYPE_ENV]),
        enforce=environment.get(GUARD_ENFORCE_ENV, "false") == "true",
        allow_lowering=environment.get(GUARD_ALLOW_LOWERING_ENV, "false") == "true",
    )


def pool_of(event: dict[str, Any]) -> str | None:
    """The pool ARN of a service pool event the guard acts on; None for anything else (the sweep)."""
    detail = event.get("detail")
    if event.get("source") != POOL_EVENT_SOURCE or event.get("detail-type") != POOL_EVENT_DETAIL_TYPE:
        return None
    if not isinstance(detail, dict) or detail.get("eventType") not in POOL_EVENT_TYPES:
        return None
    arn = str(detail.get("poolArn", ""))
    try:
        return arn if parse_pool_identifier(arn).region is not None else None
    except ValueError:
        return None


def on_event(pool: str, settings: GuardSettings, caller: Caller, own: OwnStack) -> dict[str, Any]:
    # CloudFormation first: a pool none of the stack's retention resources names is not the guard's, however
    # it is tagged, and is not asked about (the rule filters by type alone past the pattern's limit).
    logical_ids = own.retention_resources().get(pool)
    if not logical_ids:
        return {"pool": pool, "ours": False}
    api = PoolApi(client_for(_region_of(pool)), caller)
    finding = check_pool(api, pool, settings, logical_ids, own.ensure_idle)
    if finding.busy:
        return {"pool": pool, "busy": finding.busy}
    report(finding, settings)
    if finding.drift:
        own.ensure_idle()
    publish(settings, pool=finding.pool, value=finding.drift, stack_too=bool(finding.drift))
    return _summary([finding])


def sweep(settings: GuardSettings, caller: Caller, own: OwnStack) -> dict[str, Any]:
    """Every pool of the stack's retention resources, each within its own budget; then the stack's gauge,
    the maximum, stamped with the sweep's start (a 0) so that it never follows a 1 an event published
    meanwhile. A pool not read counts as 1: an incomplete sweep alarms rather than saying nothing."""
    started_ms = int(time.time() * 1000)
    try:
        pools = own.retention_resources()
    except (RetentionError, ClientError, BotoCoreError):
        logger.warning("retention guard: stack %s: its resources could not be listed", settings.stack_name)
        publish(settings, pool=None, value=1)
        raise
    findings: list[Finding] = []
    busy: list[str] = []
    unread: list[str] = []
    for pool, logical_ids in sorted(pools.items()):
        finding = _check_within_budget(pool, logical_ids, settings, caller, own)
        if finding is None or finding.problem.startswith(NOT_CHECKED):
            unread.append(pool)
        if finding is None:
            continue
        elif finding.busy:
            busy.append(pool)
        else:
            report(finding, settings)
            publish(settings, pool=finding.pool, value=finding.drift)
            findings.append(finding)
    if unread:
        logger.warning(
            "retention guard: sweep of stack %s incomplete: %d pools not checked, %s the first",
            settings.stack_name,
            len(unread),
            unread[0],
        )
    drift = 1 if unread else max((finding.drift for finding in findings), default=0)
    if drift or not busy:  # a pool being changed is not known in sync: no 0 while one is
        own.ensure_idle()
        # A 0 stamped with the sweep's start cannot clear a 1 an event published after the sweep had read
        # that pool; but a point older than the alarm's evaluated range is not seen at all: never older
        # than ZERO_AT_MOST_MS ago, so that a long sweep still clears the alarm (a 1 published before that
        # has already alarmed; the next sweep finds its pool again).
        zero_at = max(started_ms, int(time.time() * 1000) - ZERO_AT_MOST_MS)
        publish(settings, pool=None, value=drift, timestamp_ms=None if drift else zero_at)
    return {**_summary(findings), "complete": not unread and not busy}


def _check_within_budget(
    pool: str, logical_ids: frozenset[str], settings: GuardSettings, caller: Caller, own: OwnStack
) -> Finding | None:
    """One pool within its own POOL_BUDGET_SECONDS (an unreachable or throttled pool must not eat the
    sweep's time); a pool that could not be read is a Finding with its problem; None: no time left."""
    overall = caller.deadline
    if overall.remaining() <= 0:
        return None
    budget = Deadline(min(POOL_BUDGET_SECONDS, overall.remaining()), clock=overall.clock, sleep=overall.sleep)
    pool_caller = Caller(budget, caller.pacing, retry_denials=False)
    try:
        return check_pool(
            PoolApi(client_for(_region_of(pool)), pool_caller), pool, settings, logical_ids, own.ensure_idle
        )
    except (RetentionError, ClientError, BotoCoreError) as error:
        return Finding(pool, problem=f"{NOT_CHECKED}{error}")


def _summary(findings: list[Finding]) -> dict[str, Any]:
    return {
        "pools": len(findings),
        "drifted": sorted(finding.pool for finding in findings if finding.drift),
        "put_back": sorted(finding.pool for finding in findings if finding.found is not None),
    }


def publish(
    settings: GuardSettings,
    *,
    pool: str | None,
    value: int,
    stack_too: bool = False,
    timestamp_ms: int | None = None,
) -> None:
    """One embedded-metric-format line: the pool's gauge (and the stack's with `stack_too`), or the stack's
    alone when `pool` is None, at `timestamp_ms` (now by default). CloudWatch Logs extracts the metric from
    the function's log group."""
    dimensions = [[GUARD_STACK_DIMENSION, GUARD_POOL_DIMENSION]] if pool is not None else []
    if pool is None or stack_too:
        dimensions.insert(0, [GUARD_STACK_DIMENSION])
    line: dict[str, Any] = {
        "_aws": {
            "Timestamp": int(time.time() * 1000) if timestamp_ms is None else timestamp_ms,
            "CloudWatchMetrics": [
                {
                    "Namespace": GUARD_NAMESPACE,
                    "Dimensions": dimensions,
                    "Metrics": [{"Name": GUARD_METRIC, "Unit": "Count"}],
                }
            ],
        },
        GUARD_STACK_DIMENSION: settings.stack_name,
        GUARD_METRIC: value,
    }
    if pool is not None:
        line[GUARD_POOL_DIMENSION] = pool
    print(json.dumps(line), flush=True)  # stdout is the log stream; EMF wants the bare JSON line


def _region_of(arn: str) -> str | None:
    parts = arn.split(":")
    return parts[3] if len(parts) > 4 and parts[3] else None


@functools.cache
def client_for(region: str | None) -> ChimeSDKMediaPipelinesClient:
    return boto3.client(
        "chime-sdk-media-pipelines", region_name=region or os.environ.get("AWS_REGION"), config=CLIENT_CONFIG
    )


@functools.cache
def stack_client_for(region: str | None) -> CloudFormationClient:
    return boto3.client(
        "cloudformation", region_name=region or os.environ.get("AWS_REGION"), config=CLIENT_CONFIG
    )
