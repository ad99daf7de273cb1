"""How long CloudFormation still waits for an event's response, read from the event itself.

Lambda delivers CloudFormation's asynchronous invocations at least once, and one it cannot start at once
waits in Lambda's queue (up to the function's maximum event age). Such an event can arrive after
CloudFormation has stopped waiting and rolled back: acting on it would set a retention nobody declares any
more. The pre-signed ResponseURL says when it was signed and when it expires (SigV4: `X-Amz-Date` and
`X-Amz-Expires`; the older form: `Expires`, in epoch seconds), and the event's `ServiceTimeout` says how
long CloudFormation waits after sending it. Standard library only.
"""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qs, urlsplit

DEFAULT_SERVICE_TIMEOUT_SECONDS = 3600  # CloudFormation's, when the resource sets none


def seconds_left(event: dict[str, Any], now: float) -> float | None:
    """Seconds from `now` (epoch seconds) until CloudFormation stops waiting; None when the URL says nothing.

    Negative when it has already stopped: then the event must change nothing.
    """
    query = parse_qs(urlsplit(str(event.get("ResponseURL", ""))).query)
    ends: list[float] = []
    signed_at = _signed_at(_first(query, "X-Amz-Date"))
    if signed_at is not None:
        ends.append(signed_at + _service_timeout(event))
        expires_in = _first(query, "X-Amz-Expires")
        if expires_in.isdigit():
            ends.append(signed_at + int(expires_in))
    expires_at = _first(query, "Expires")
    if expires_at.isdigit():
        ends.append(int(expires_at))
    return min(ends) - now if ends else None


def _first(query: dict[str, list[str]], name: str) -> str:
    return query.get(name, [""])[0]


def _signed_at(value: str) -> float | None:
    try:
        return datetime.strptime(value, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).timestamp()
    except ValueError:
        return None


def _service_timeout(event: dict[str, Any]) -> int:
    value = str((event.get("ResourceProperties") or {}).get("ServiceTimeout", "")).strip()
    return int(value) if value.isdigit() else DEFAULT_SERVICE_TIMEOUT_SECONDS
