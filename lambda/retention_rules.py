"""What a declared pool identifier and retention must be.

Shared by the construct (checking literal props at synth) and the handler (checking the string
properties CloudFormation sends): one set of rules, two callers. Standard library only, and no imports
of sibling modules, so that the construct can import it from the installed package.
"""

from __future__ import annotations

import hashlib
import re
from dataclasses import dataclass

MIN_RETENTION_HOURS = 1  # The update API's minimum (shape DataRetentionChangeInHours).
MAX_RETENTION_HOURS = 87_600  # Kinesis Video Streams caps retention at ten years.

POOL_RESOURCE_TYPE = "media-pipeline-kinesis-video-stream-pool"
_NAME = r"[0-9A-Za-z._-]{1,128}"
_POOL_NAME = re.compile(_NAME)
_POOL_ARN = re.compile(
    r"arn:(?P<partition>aws[a-z-]*):chime:(?P<region>[a-z]{2}(?:-[a-z]+)+-\d):(?P<account>\d{12}):"
    + POOL_RESOURCE_TYPE
    + r"/(?P<name>"
    + _NAME
    + r")"
)
_WHOLE_NUMBER = re.compile(r"[0-9]+")


def pool_arn(partition: str, region: str, account: str, name: str) -> str:
    """A pool's ARN (the parts may be CDK tokens at synth, or `*`)."""
    return f"arn:{partition}:chime:{region}:{account}:{POOL_RESOURCE_TYPE}/{name}"


IDENTIFIER_FORM = (
    "a pool name (1-128 characters of 0-9 A-Z a-z . _ -) or a pool ARN "
    f"(arn:<partition>:chime:<region>:<account>:{POOL_RESOURCE_TYPE}/<name>)"
)
RETENTION_RANGE = f"whole hours from {MIN_RETENTION_HOURS} to {MAX_RETENTION_HOURS}"


@dataclass(frozen=True)
class PoolIdentity:
    """A pool as declared: always a name; partition, region and account only when given as an ARN."""

    name: str
    partition: str | None = None
    region: str | None = None
    account: str | None = None


def same_pool(first: str, second: str, *, region: str, account: str | None) -> bool:
    """Whether two declared identifiers name one pool; a name means the pool in `region` (and `account`,
    when known) as the handler reads it. An identifier that is not well formed names no pool."""
    try:
        one, other = parse_pool_identifier(first.strip()), parse_pool_identifier(second.strip())
    except ValueError:
        return False
    if one.name != other.name or (one.region or region) != (other.region or region):
        return False
    return account is None or (one.account or account) == (other.account or account)


def parse_pool_identifier(value: str) -> PoolIdentity:
    """Return the pool a declared identifier names, or raise ValueError saying what is wrong."""
    if _POOL_NAME.fullmatch(value):
        return PoolIdentity(name=value)
    arn = _POOL_ARN.fullmatch(value)
    if arn:
        return PoolIdentity(**arn.groupdict())
    shown = value if len(value) <= 80 else value[:77] + "..."
    raise ValueError(f"must be {IDENTIFIER_FORM}; got {shown!r}")


def parse_retention_hours(value: str | int) -> int:
    """Return a declared retention as whole hours, or raise ValueError saying what is wrong."""
    text = str(value).strip()
    if not _WHOLE_NUMBER.fullmatch(text) or not MIN_RETENTION_HOURS <= int(text) <= MAX_RETENTION_HOURS:
        shown = text if len(text) <= 40 else text[:37] + "..."
        raise ValueError(f"must be {RETENTION_RANGE}; got {shown!r}")
    return int(text)


# --- The record on the pool: tags under one prefix, which the handler's role alone may write ------------

TAG_PREFIX = "kvs-pool-retention:"
# The pool's retention before any declaration was recorded (0.1.0's key, kept so that its records read).
ORIGINAL_TAG = TAG_PREFIX + "original-retention-hours"
# One anchor per declaring stack: `stack-<key>` = the stack's id. The key is derived at synth (stack_key),
# so that the role's cleanup-phase grant can name it in a condition key, which cannot be a token.
STACK_TAG_PREFIX = TAG_PREFIX + "stack-"
# One tag per declaration: `declaration-<hash of stack id and logical id>`.
DECLARATION_TAG_PREFIX = TAG_PREFIX + "declaration-"
# On the stack's functions, not on pools: which part of this library a function is, for a permissions
# boundary or an SCP to name (`component` = `handler`).
COMPONENT_TAG = TAG_PREFIX + "component"
# 0.2.0's owner and successor slots, read (and rewritten by their own resources) on upgrade.
LEGACY_TAGS = tuple(
    TAG_PREFIX + name for name in ("owner-stack", "owner", "owner-hours", "successor-stack", "successor")
)
# The record format; a resource property, so that a new format sends every resource one Update.
RECORD_VERSION = "3"
# Tags a pool carries for this library at most: an anchor and one or two declarations (a rename) a stack,
# and the original. AWS's usual limit is 50 tags a resource, which the pool's other tags share.
MAX_DECLARING_STACKS = 10

# Every action the handler takes on a pool: read and update its retention; list, write and remove its
# record (only keys under TAG_PREFIX: the role can touch no other tag of the pool).
GET_POOL = "chime:GetMediaPipelineKinesisVideoStreamPool"
UPDATE_POOL = "chime:UpdateMediaPipelineKinesisVideoStreamPool"
LIST_TAGS = "chime:ListTagsForResource"
TAG_POOL = "chime:TagResource"
UNTAG_POOL = "chime:UntagResource"
POOL_ACTIONS = (GET_POOL, UPDATE_POOL, LIST_TAGS, TAG_POOL, UNTAG_POOL)
# What the handler asks CloudFormation: whether a declaration's resource still exists (any stack of the
# account), and its own stack's status (is this Delete a rollback?).
DESCRIBE_STACK_RESOURCE = "cloudformation:DescribeStackResource"
DESCRIBE_STACKS = "cloudformation:DescribeStacks"

# The custom resource's properties, as the construct writes them and the handler reads them.
POOL_IDENTIFIER = "PoolIdentifier"
DATA_RETENTION_IN_HOURS = "DataRetentionInHours"
RESTORE_ON_DELETE = "RestoreOnDelete"
RECORD_VERSION_PROPERTY = "RecordVersion"
STACK_KEY = "StackKey"
_STACK_KEY = re.compile(r"[0-9a-f]{16}")


def stack_key(*known: str) -> str:
    """The key of a declaring stack's anchor tag, from what is known of the stack at synth (its name or
    path, and its account and region when concrete): 16 hex characters, the same at every synth."""
    return hashlib.sha256("\n".join(known).encode()).hexdigest()[:16]


def parse_stack_key(value: str) -> str:
    text = str(value).strip()
    if not _STACK_KEY.fullmatch(text):
        raise ValueError(f"must be 16 lower-case hex characters (set by the construct); got {text[:40]!r}")
    return text


# --- The retention guard (lambda/guard.py; the construct's guard.py) ---------------------------------------

# What the service sends after a pool changes (Amazon Chime SDK developer guide, "Kinesis Video Streams pool
# events"): on the default bus of the pool's region, the pool's ARN in `detail.poolArn`, no retention.
POOL_EVENT_SOURCE = "aws.chime"
POOL_EVENT_DETAIL_TYPE = "Chime Media Pipeline Kinesis Video Pool State Change"
POOL_UPDATED = "chime:MediaPipelineKinesisVideoStreamPoolUpdated"
POOL_DELETED = "chime:MediaPipelineKinesisVideoStreamPoolDeleted"
POOL_EVENT_TYPES = (POOL_UPDATED, POOL_DELETED)
# The drift gauge, in embedded metric format: 0 or 1, by [Stack] and by [Stack, Pool] (the pool's ARN).
GUARD_NAMESPACE = "KvsPoolRetention"
GUARD_METRIC = "RetentionDrift"
GUARD_STACK_DIMENSION = "Stack"
GUARD_POOL_DIMENSION = "Pool"
# What the guard may do: read a pool and its record; update it only when enforcing; list its own stack's
# retention resources (the sweep) and read its own stack's status.
GUARD_POOL_READS = (GET_POOL, LIST_TAGS)
LIST_STACK_RESOURCES = "cloudformation:ListStackResources"
# The guard function's environment, written by the construct.
GUARD_STACK_KEY_ENV = "GUARD_STACK_KEY"
GUARD_STACK_ID_ENV = "GUARD_STACK_ID"
GUARD_STACK_NAME_ENV = "GUARD_STACK_NAME"
GUARD_ENFORCE_ENV = "GUARD_ENFORCE"
GUARD_ALLOW_LOWERING_ENV = "GUARD_ALLOW_LOWERING"
# The retention resources' type (resource_type.py), which the sweep looks for among its stack's resources.
GUARD_RESOURCE_TYPE_ENV = "GUARD_RESOURCE_TYPE"
