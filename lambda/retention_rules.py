"""What a declared pool identifier and retention must be.

Shared by the construct (checking literal props at synth) and the handler (checking the string
properties CloudFormation sends): one set of rules, two callers. Standard library only, and no imports
of sibling modules, so that the construct can import it from the installed package.
"""

from __future__ import annotations

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
