"""Lambda entry point of the retention guard (`guard.handler`), shipped in the handler's asset.

Two kinds of invocation: the service's pool event (EventBridge rule: `PoolUpdated` or `PoolDeleted` of a
pool, its ARN in `detail.poolArn`), and the sweep (a schedule rule; any other event). Either way the guard
does nothing while its own stack has an operation in progress: the handler is changing pools then, and the
sweep after the operation sees the outcome.

What it publishes (embedded metric format, one JSON line each, `guarding` decides the values):
- an event: the pool's gauge [Stack, Pool], 0 or 1; and the stack's gauge [Stack] = 1 when the pool is
  not at its declaration. An event that finds its pool in sync publishes no stack-level 0: it knows one
  pool, and a 0 would clear the alarm another pool's drift raised (the alarm keeps its state while no
  point comes; the sweep clears it once every pool is back).
- a sweep: every declared pool's gauge, then the stack's gauge = the maximum, 0 only when every pool was
  read and is in sync.
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
from guarding import Finding, GuardSettings, OwnStack, SweepPacing, check_pool, report
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
    POOL_DELETED,
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
    status = own.status()
    if status is None or status.endswith("_IN_PROGRESS"):
        logger.info("stack %s is %s: the guard does nothing now", settings.stack_name, status or "unreadable")
        return {"skipped": status or "unreadable"}
    if pool is not None:
        return on_event(pool, str(event["detail"]["eventType"]), settings, caller, own)
    return sweep(settings, caller, own)


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


def on_event(
    pool: str, event_type: str, settings: GuardSettings, caller: Caller, own: OwnStack
) -> dict[str, Any]:
    api = PoolApi(client_for(_region_of(pool)), caller)
    if event_type == POOL_DELETED:
        # Its tags went with it: it is this stack's when one of the stack's resources names it.
        known = _declares(own, pool)
        finding = check_pool(api, pool, settings, known_ours=known)
    else:
        finding = check_pool(api, pool, settings)
    if not finding.ours:
        return {"pool": pool, "ours": False}
    report(finding, settings)
    publish(settings, pool=finding.pool, value=finding.drift, stack_too=bool(finding.drift))
    return _summary([finding])


def sweep(settings: GuardSettings, caller: Caller, own: OwnStack) -> dict[str, Any]:
    findings: list[Finding] = []
    unread: list[str] = []
    try:
        for pool in own.declared_pools():
            try:
                finding = check_pool(
                    PoolApi(client_for(_region_of(pool)), caller), pool, settings, known_ours=True
                )
            except RetentionError as error:  # throttled past the deadline, say: the others still count
                logger.warning("retention guard: pool %s not checked: %s", pool, error)
                unread.append(pool)
                continue
            if finding.ours:
                report(finding, settings)
                publish(settings, pool=finding.pool, value=finding.drift)
                findings.append(finding)
    except (RetentionError, ClientError, BotoCoreError) as error:  # the stack's resources, unlisted
        logger.warning("retention guard: sweep of stack %s incomplete: %s", settings.stack_name, error)
        unread.append(settings.stack_id)
    drift = max((finding.drift for finding in findings), default=0)
    # A 0 says every pool is in sync: only when every pool was read.
    if drift or not unread:
        publish(settings, pool=None, value=drift)
    return {**_summary(findings), "complete": not unread}


def _declares(own: OwnStack, pool: str) -> bool:
    try:
        return pool in set(own.declared_pools())
    except (RetentionError, ClientError, BotoCoreError) as error:
        logger.warning("could not list the resources of stack %s: %s", own.stack_id, error)
        return False


def _summary(findings: list[Finding]) -> dict[str, Any]:
    return {
        "pools": len(findings),
        "drifted": sorted(finding.pool for finding in findings if finding.drift),
        "put_back": sorted(finding.pool for finding in findings if finding.found is not None),
    }


def publish(settings: GuardSettings, *, pool: str | None, value: int, stack_too: bool = False) -> None:
    """One embedded-metric-format line: the pool's gauge (and the stack's with `stack_too`), or the stack's
    alone when `pool` is None. CloudWatch Logs extracts the metric from the function's log group."""
    dimensions = [[GUARD_STACK_DIMENSION, GUARD_POOL_DIMENSION]] if pool is not None else []
    if pool is None or stack_too:
        dimensions.insert(0, [GUARD_STACK_DIMENSION])
    line: dict[str, Any] = {
        "_aws": {
            "Timestamp": int(time.time() * 1000),
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
