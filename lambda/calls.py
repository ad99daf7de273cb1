"""Every request of one invocation, to the pool API and to CloudFormation: paced, retried, and bounded by
the time the invocation has.

One `Caller` per invocation: its Pacing learns the invocation's share of a rate-limited API from the
answers (pacing.py), and its Deadline is the time left before the answer must be sent. A request is
retried on throttling (any HTTP 429, and CloudFormation's `Throttling`), 5xx and connection faults for as
long as the deadline allows, and on access denials for at most 10 s (a grant made in the same deployment
may take seconds to apply). botocore's own retries are off: its standard and adaptive modes do not know
the pool API's ThrottledClientException, and two retry mechanisms would multiply.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TypeVar

from botocore.config import Config
from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from errors import ServiceError
from pacing import Pacing

logger = logging.getLogger(__name__)

T = TypeVar("T")

CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS = 3, 8
CLIENT_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
    retries={"mode": "standard", "total_max_attempts": 1},
)
THROTTLED = "ThrottledClientException"
CONFLICT = "ConflictException"
RETRYABLE_CODES = frozenset(
    {THROTTLED, "Throttling", "ThrottlingException", "ServiceFailureException", "ServiceUnavailableException"}
)
DENIED_CODES = frozenset(
    {"ForbiddenException", "UnauthorizedClientException", "AccessDeniedException", "AccessDenied"}
)
# A denied request is retried after these waits (10 s in all), then answered: a lasting denial still
# fails within seconds.
ACCESS_DENIED_RETRY_DELAYS = (1.0, 2.0, 3.0, 4.0)


@dataclass
class Deadline:
    """The time an operation may still use, on an injectable clock."""

    seconds: float
    clock: Callable[[], float] = time.monotonic
    sleep: Callable[[float], None] = time.sleep
    _end: float = field(init=False)

    def __post_init__(self) -> None:
        self._end = self.clock() + self.seconds

    def remaining(self) -> float:
        return self._end - self.clock()


def error_code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def http_status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


@dataclass
class Caller:
    """Runs one invocation's requests at its pace, within its deadline."""

    deadline: Deadline
    pace: Pacing | None = None  # on the deadline's clock when not given
    # A Delete comes after grants are removed, never added: its denials are final at once.
    retry_denials: bool = True
    last_fault: str = ""
    paced_by: str = ""  # the fault that last widened the pacing's gap; a served request keeps it

    def __post_init__(self) -> None:
        if self.pace is None:
            self.pace = Pacing(clock=self.deadline.clock)

    @property
    def pacing(self) -> Pacing:
        assert self.pace is not None
        return self.pace

    def call(
        self, verb: str, subject: str, request: Callable[[], T], *, refusals: frozenset[str] = frozenset()
    ) -> T:
        """Run `request`, retrying what may pass later; raise its ClientError otherwise, or ServiceError
        when the deadline comes first. `verb` and `subject` name it in logs and errors."""
        denials = 0
        pace = self.pacing
        while True:
            wait = pace.wait()
            if wait > self.deadline.remaining():
                raise self.out_of_time(verb, subject)
            if wait > 0:
                self.deadline.sleep(wait)
            pace.started()
            try:
                answer = request()
            except ClientError as error:
                code, status = error_code(error), http_status(error)
                if code in DENIED_CODES:
                    pace.served()  # an answer about the caller, not about load
                    denials += 1
                    if not self.retry_denials or denials > len(ACCESS_DENIED_RETRY_DELAYS):
                        raise
                    retry = ACCESS_DENIED_RETRY_DELAYS[denials - 1]
                    if retry > self.deadline.remaining():
                        raise
                    logger.info("%s: %s denied (%s), retrying in %.0f s", subject, verb, code, retry)
                    self.deadline.sleep(retry)
                    continue
                if code not in RETRYABLE_CODES | refusals and status != 429 and status < 500:
                    pace.served()  # an answer about the request itself, not about load
                    raise
                self.last_fault = (
                    THROTTLED if status == 429 or "Throttl" in code else code or f"HTTP {status}"
                )
            except (BotocoreConnectionError, HTTPClientError) as error:
                self.last_fault = type(error).__name__
            else:
                pace.served()
                self.last_fault = ""  # what kept failing is said of the request that ran out of time
                return answer
            pace.refused()
            self.paced_by = self.last_fault
            logger.info("%s: %s answered %s, retrying in %.2f s", subject, verb, self.last_fault, pace.wait())

    def out_of_time(self, verb: str, subject: str) -> ServiceError:
        pace = self.pacing
        tally = f"on {pace.faults} of {pace.requests} requests"
        # Served last, but the gap that outlasted the time was learned from faults: they are the cause.
        fault = self.last_fault or (self.paced_by if pace.gap else "")
        if not fault:
            return ServiceError(
                f"Could not {verb} {subject}: this deployment ran out of time before the request could be "
                "made. Retry the deployment."
            )
        if fault == THROTTLED:
            # What to do before the tally: a Reason keeps only its first 256 characters.
            return ServiceError(
                f"Could not {verb} {subject}: the API kept throttling until time ran out; raise the "
                f"account's API rate quota or deploy fewer pools per stack ({THROTTLED} {tally})."
            )
        if fault == CONFLICT:
            return ServiceError(
                f"Could not {verb} {subject}: the API kept refusing the update although the pool was ACTIVE, "
                f"until time ran out; retry the deployment later ({CONFLICT} {tally})."
            )
        return ServiceError(
            f"Could not {verb} {subject}: the service kept failing until time ran out; retry the "
            f"deployment later ({fault} {tally})."
        )
