"""Getting the response to CloudFormation, whatever happens.

crhelper 2.0.12 sends through `crhelper.utils._send_response`, which counts any HTTP answer (a 503
included) as delivered, retries connection errors in an endless loop, and cuts a long Reason keeping its
end. This module replaces that one step; everything else about the event stays crhelper's.
"""

from __future__ import annotations

import http.client
import json
import logging
import random
import ssl
import time
from collections.abc import Callable
from typing import Any
from urllib.parse import urlsplit

from crhelper import CfnResource

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 4096  # CloudFormation rejects larger response bodies.
MAX_REASON_CHARS = 256
DELIVERY_ATTEMPTS = 5
DELIVERY_TIMEOUT_SECONDS = 10.0
MAX_BACKOFF_SECONDS = 8.0


def _backoff(attempt: int) -> float:
    """The longest wait after failed attempt `attempt` (jitter only shortens it)."""
    return min(MAX_BACKOFF_SECONDS, 0.5 * 2.0 ** (attempt - 1))


# Every attempt timing out, with the longest waits between them: the time the handler keeps back for it.
DELIVERY_WORST_CASE_SECONDS = DELIVERY_ATTEMPTS * DELIVERY_TIMEOUT_SECONDS + sum(
    _backoff(attempt) for attempt in range(1, DELIVERY_ATTEMPTS)
)


def shorten_reason(reason: str) -> str:
    """Keep a Reason's beginning, which says what is wrong; crhelper would keep the end."""
    reason = str(reason)
    if len(reason) <= MAX_REASON_CHARS:
        return reason
    return reason[: MAX_REASON_CHARS - 3] + "..."


def encode_body(body: dict[str, Any]) -> bytes:
    """Serialize a response, turning one CloudFormation would reject into a FAILED that says why."""
    encoded = json.dumps(body).encode()
    if len(encoded) <= MAX_BODY_BYTES:
        return encoded
    failed = {
        **body,
        "Status": "FAILED",
        "Reason": f"The handler's response was {len(encoded)} bytes, over CloudFormation's {MAX_BODY_BYTES}.",
        "Data": {},
    }
    return json.dumps(failed).encode()


def deliver(
    url: str,
    body: dict[str, Any],
    ssl_verify: object = None,
    *,
    sleep: Callable[[float], None] = time.sleep,
) -> bool:
    """PUT `body` to the pre-signed `url`; retry connection errors and 5xx answers a bounded number of times.

    The URL is a credential: it is never logged. `ssl_verify` is accepted for crhelper's call signature;
    verification always uses the default context, which honours SSL_CERT_FILE.
    """
    del ssl_verify
    payload = encode_body(body)
    parts = urlsplit(url)
    target = parts.path + (f"?{parts.query}" if parts.query else "")
    context = ssl.create_default_context()
    for attempt in range(1, DELIVERY_ATTEMPTS + 1):
        try:
            connection = http.client.HTTPSConnection(
                parts.netloc, context=context, timeout=DELIVERY_TIMEOUT_SECONDS
            )
            try:
                connection.request("PUT", target, body=payload, headers={"Content-Type": ""})
                status = connection.getresponse().status
            finally:
                connection.close()
        except (OSError, http.client.HTTPException) as error:
            outcome = f"{type(error).__name__}"
        else:
            if status < 500:
                level = logging.INFO if status < 300 else logging.ERROR
                logger.log(
                    level, "response %s sent: HTTP %s (attempt %d)", body.get("Status"), status, attempt
                )
                return status < 300
            outcome = f"HTTP {status}"
        if attempt < DELIVERY_ATTEMPTS:
            delay = _backoff(attempt) * random.uniform(0.5, 1.0)  # noqa: S311 - jitter
            logger.warning("response not delivered (%s), retrying in %.1f s", outcome, delay)
            sleep(delay)
    logger.error("response not delivered after %d attempts (%s)", DELIVERY_ATTEMPTS, outcome)
    return False


class CloudFormationResource(CfnResource):
    """crhelper's CfnResource, sending through `deliver` with a Reason that keeps its beginning."""

    def _send(self, status: str | None = None, reason: str = "", send_response: Any = None) -> None:
        self.Reason = shorten_reason(self.Reason)
        super()._send(status, shorten_reason(reason), send_response=deliver)  # type: ignore[misc]
