"""The guard rule's event pattern, and whether the declared pools' ARNs fit it.

EventBridge holds an event pattern to 2 048 characters by default (EventBridge quotas, "Event pattern
size"). The ARNs are counted at the longest their parts can resolve to (grant_plan's longest pseudo
parameters, a deploy-time ARN as a long reference), as the pattern is written with JSON's spaces, so the
filter holds wherever the stack deploys; past the limit the rule filters by the events' type alone.
Plain values in, a pattern out.
"""

from __future__ import annotations

import json
from typing import Any

from aws_cdk import Stack

from kvs_pool_retention.grant_plan import document_chars
from kvs_pool_retention.handler.retention_rules import (
    POOL_EVENT_DETAIL_TYPE,
    POOL_EVENT_SOURCE,
    POOL_EVENT_TYPES,
)

EVENT_PATTERN_CHARS = 2_048


def base_pattern() -> dict[str, Any]:
    return {
        "source": [POOL_EVENT_SOURCE],
        "detail_type": [POOL_EVENT_DETAIL_TYPE],
        "detail": {"eventType": list(POOL_EVENT_TYPES)},
    }


def rendered(pattern: dict[str, Any]) -> dict[str, Any]:
    """The pattern as the template (and EventBridge) has it: CDK writes `detail_type` as `detail-type`."""
    return {key.replace("_", "-"): value for key, value in pattern.items()}


def pattern_chars(resolved: dict[str, Any]) -> int:
    """The longest the resolved pattern can be as EventBridge counts it: compact JSON at its longest, plus
    a space after every separator JSON's default form writes."""
    compact = document_chars(resolved)
    separators = json.dumps(resolved).count(", ") + json.dumps(resolved).count(": ")
    return compact + separators


def pool_event_pattern(stack: Stack, arns: list[object]) -> dict[str, Any]:
    """The rule's pattern: the two event types, and the pools' ARNs when they fit."""
    pattern = base_pattern()
    if not arns:
        return pattern
    filtered = {**pattern, "detail": {**pattern["detail"], "poolArn": arns}}
    if pattern_chars(stack.resolve(rendered(filtered))) <= EVENT_PATTERN_CHARS:
        return filtered
    return pattern
