"""Keep one Kinesis Video Stream pool's data retention at a declared value.

The pure core of the handler: it takes a client and plain values and returns plain data. It knows nothing
of CloudFormation; `index.py` turns its results and errors into responses.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterator
from dataclasses import InitVar, dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from botocore.exceptions import ClientError, HTTPClientError
from botocore.exceptions import ConnectionError as BotocoreConnectionError
from pacing import Pacing

if TYPE_CHECKING:
    from mypy_boto3_chime_sdk_media_pipelines import ChimeSDKMediaPipelinesClient

logger = logging.getLogger(__name__)

GET_ACTION = "chime:GetMediaPipelineKinesisVideoStreamPool"
UPDATE_ACTION = "chime:UpdateMediaPipelineKinesisVideoStreamPool"
TAG_ACTION = "chime:TagResource"
UNTAG_ACTION = "chime:UntagResource"
LIST_TAGS_ACTION = "chime:ListTagsForResource"

# Where a pool keeps the retention it had before this resource first changed it (restore_on_delete): on the
# pool itself, so it survives between events and across function versions.
ORIGINAL_RETENTION_TAG = "kvs-pool-retention:original-retention-hours"

BUSY_STATUSES = frozenset({"CREATING", "UPDATING"})
# The update API's minimum (shape DataRetentionChangeInHours), as in retention_rules, which the construct
# imports from the package: this module needs botocore, that one only the standard library.
MIN_UPDATE_HOURS = 1
THROTTLED = "ThrottledClientException"

T = TypeVar("T")


class RetentionError(Exception):
    """A failure whose message is fit to show a person as the CloudFormation Reason."""


class InvalidRequest(RetentionError):
    """The declared identifier or retention cannot be applied as given."""


class PoolNotFound(RetentionError):
    pass


class AccessDenied(RetentionError):
    pass


class PoolFailed(RetentionError):
    """The pool is, or ended, in status FAILED or DELETING."""


class PoolNotSettled(RetentionError):
    """The pool stayed busy past the time this invocation had."""


class ServiceError(RetentionError):
    """The API kept failing or answered with an error this handler has no remedy for."""


@dataclass(frozen=True)
class RetentionRequest:
    pool_identifier: str
    data_retention_in_hours: int
    restore_on_delete: bool = False


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


@dataclass(frozen=True)
class PollingSchedule:
    """Delays between reads while a pool is busy.

    The first read comes early because small pools settle within a second; the second delay pays that
    back, so that by n seconds at most n reads were made. Reads stay one a second while a change is young
    (ending a short transition within a second of it), then ease to every `cap` seconds, so a long
    transition's end is noticed within 1.5 s at two reads in three seconds. Under throttling the
    invocation's pacing spaces reads further, so this schedule need not spare the API on its own.
    """

    first: float = 0.5
    steady: float = 1.0
    steady_for: float = 10.0
    factor: float = 1.5
    cap: float = 1.5

    def delays(self) -> Iterator[float]:
        yield self.first
        yield 2 * self.steady - self.first
        elapsed, delay = 2 * self.steady, self.steady
        while True:
            if elapsed >= self.steady_for:
                delay = min(delay * self.factor, self.cap)
            yield delay
            elapsed += delay


# Retried for as long as the invocation has time, at its pace: botocore's standard and adaptive modes do
# not treat ThrottledClientException as throttling, so the client is built with retries off.
RETRYABLE_CODES = frozenset({THROTTLED, "ServiceFailureException", "ServiceUnavailableException"})


@dataclass
class PoolRetention:
    """Reads and updates one pool through `client`, within `deadline`."""

    client: ChimeSDKMediaPipelinesClient
    deadline: Deadline
    polling: PollingSchedule = field(default_factory=PollingSchedule)
    pacing: InitVar[Pacing | None] = None  # one per invocation; on the deadline's clock when not given
    reads: int = 0
    pace: Pacing = field(init=False)
    _last_fault: str = field(default="", init=False, repr=False)

    def __post_init__(self, pacing: Pacing | None) -> None:
        self.pace = pacing or Pacing(clock=self.deadline.clock)

    @property
    def region(self) -> str:
        return str(self.client.meta.region_name)

    def apply(self, request: RetentionRequest) -> dict[str, Any]:
        """Bring the pool to the requested retention and return its settled configuration."""
        identifier = request.pool_identifier
        wanted = request.data_retention_in_hours
        pool = self.wait_until_settled(identifier)
        while True:
            current = pool["StreamConfiguration"]["DataRetentionInHours"]
            if current == wanted:
                logger.info("pool %s: retention already %s h, no update", identifier, wanted)
                return pool
            if request.restore_on_delete:
                self.remember_original(pool["PoolArn"], current)
            logger.info("pool %s: retention %s h -> %s h", identifier, current, wanted)
            if self.update(identifier, wanted):
                return self.wait_until_settled(identifier, just_updated=True)
            # Busy with another change (a duplicate of this event, or one made elsewhere): once it settles,
            # compare again, so a duplicate finds the retention already set and makes no second update.
            logger.info("pool %s: busy (ConflictException), waiting before comparing again", identifier)
            pool = self.wait_until_settled(identifier, just_updated=True)

    def remember_original(self, pool_arn: str, hours: int) -> None:
        """Tag the pool with its retention before the first change; later changes keep that first value."""
        if ORIGINAL_RETENTION_TAG in self.tags(pool_arn):
            return
        logger.info(
            "pool %s: remembering original retention %s h in tag %s", pool_arn, hours, ORIGINAL_RETENTION_TAG
        )
        self._request(
            "tag",
            TAG_ACTION,
            pool_arn,
            lambda: self.client.tag_resource(
                ResourceARN=pool_arn, Tags=[{"Key": ORIGINAL_RETENTION_TAG, "Value": str(hours)}]
            ),
        )

    def restore_original(self, pool_arn: str) -> int | None:
        """Put back the remembered retention and drop the tag; None when there is nothing to restore."""
        try:
            original = self.tags(pool_arn).get(ORIGINAL_RETENTION_TAG, "")
            if not original.isdigit():
                logger.info("pool %s: no remembered retention, leaving it as it is", pool_arn)
                return None
            hours = int(original)
            settable = hours >= MIN_UPDATE_HOURS  # a pool may be created with 0 h; updates need 1 h or more
            if settable:
                self.apply(RetentionRequest(pool_identifier=pool_arn, data_retention_in_hours=hours))
            else:
                logger.warning(
                    "pool %s: original retention %s h cannot be set again; leaving it", pool_arn, hours
                )
            self._request(
                "untag",
                UNTAG_ACTION,
                pool_arn,
                lambda: self.client.untag_resource(ResourceARN=pool_arn, TagKeys=[ORIGINAL_RETENTION_TAG]),
            )
        except PoolNotFound:
            logger.info("pool %s: no longer exists, nothing to restore", pool_arn)
            return None
        return hours if settable else None

    def tags(self, pool_arn: str) -> dict[str, str]:
        answer = self._request(
            "list the tags of",
            LIST_TAGS_ACTION,
            pool_arn,
            lambda: self.client.list_tags_for_resource(ResourceARN=pool_arn),
        )
        return {tag["Key"]: tag["Value"] for tag in answer.get("Tags", [])}

    def _request(self, verb: str, action: str, identifier: str, call: Callable[[], T]) -> T:
        """One call with retries, its errors turned into RetentionErrors that name `action`."""
        try:
            return self._call(verb, identifier, call)
        except ClientError as error:
            raise _translate(error, identifier, action, self.region) from None

    def update(self, identifier: str, hours: int) -> bool:
        """Ask for the new retention; False when the pool is busy with another change (ConflictException)."""
        try:
            self._call(
                "update",
                identifier,
                lambda: self.client.update_media_pipeline_kinesis_video_stream_pool(
                    Identifier=identifier, StreamConfiguration={"DataRetentionInHours": hours}
                ),
            )
        except ClientError as error:
            if _code(error) != "ConflictException":
                raise _translate(error, identifier, UPDATE_ACTION, self.region) from None
            return False
        return True

    def wait_until_settled(self, identifier: str, *, just_updated: bool = False) -> dict[str, Any]:
        """Read the pool until it is neither CREATING nor UPDATING; fail on FAILED or DELETING."""
        started = self.deadline.clock()
        delays = self.polling.delays()
        if just_updated:  # the update's own answer said UPDATING: a read at once would only repeat it
            self._pause(next(delays), identifier, "still UPDATING")
        while True:
            pool = self.describe(identifier)
            status = pool["PoolStatus"]
            if status == "ACTIVE":
                waited = self.deadline.clock() - started
                if waited > 0:
                    logger.info("pool %s: ACTIVE after %.1f s (%d reads)", identifier, waited, self.reads)
                return pool
            if status not in BUSY_STATUSES:
                raise PoolFailed(
                    f"Pool {identifier} is {status}: its retention cannot be managed. "
                    "Check the pool in the Amazon Chime SDK console or recreate it, then redeploy."
                )
            self._pause(next(delays), identifier, f"still {status}")

    def describe(self, identifier: str) -> dict[str, Any]:
        answer = self._request(
            "read",
            GET_ACTION,
            identifier,
            lambda: self.client.get_media_pipeline_kinesis_video_stream_pool(Identifier=identifier),
        )
        self.reads += 1
        return dict(answer["KinesisVideoStreamPoolConfiguration"])

    def _call(self, verb: str, identifier: str, call: Callable[[], T]) -> T:
        """Run one API call at this invocation's pace, retrying throttling, 5xx and connection faults for
        as long as the invocation has time."""
        while True:
            wait = self.pace.wait()
            if wait > self.deadline.remaining():
                raise self._out_of_time(verb, identifier)
            if wait > 0:
                self.deadline.sleep(wait)
            self.pace.started()
            try:
                answer = call()
            except ClientError as error:
                if _code(error) not in RETRYABLE_CODES and _status(error) < 500:
                    self.pace.served()  # an answer about the request itself, not about load
                    raise
                self._last_fault = _code(error) or f"HTTP {_status(error)}"
            except (BotocoreConnectionError, HTTPClientError) as error:
                self._last_fault = type(error).__name__
            else:
                self.pace.served()
                return answer
            self.pace.refused()
            logger.info(
                "pool %s: %s answered %s, retrying in %.2f s",
                identifier,
                verb,
                self._last_fault,
                self.pace.wait(),
            )

    def _out_of_time(self, verb: str, identifier: str) -> ServiceError:
        tally = f"on {self.pace.faults} of {self.pace.requests} requests"
        if not self._last_fault:
            return ServiceError(
                f"Could not {verb} pool {identifier}: this deployment ran out of time before the request "
                "could be made. Retry the deployment."
            )
        if self._last_fault == THROTTLED:
            # What to do before the tally: a Reason keeps only its first 256 characters.
            return ServiceError(
                f"Could not {verb} pool {identifier}: the API kept throttling until time ran out; raise the "
                f"account's API rate quota or deploy fewer pools per stack ({THROTTLED} {tally})."
            )
        return ServiceError(
            f"Could not {verb} pool {identifier}: the service kept failing until time ran out; retry the "
            f"deployment later ({self._last_fault} {tally})."
        )

    def _pause(self, seconds: float, identifier: str, why: str) -> None:
        if self.deadline.remaining() < seconds:
            raise PoolNotSettled(
                f"Pool {identifier} was {why} when this deployment ran out of time. "
                "Wait until the pool is ACTIVE, then retry the deployment."
            )
        self.deadline.sleep(seconds)


def _code(error: ClientError) -> str:
    return str(error.response.get("Error", {}).get("Code", ""))


def _status(error: ClientError) -> int:
    return int(error.response.get("ResponseMetadata", {}).get("HTTPStatusCode", 0))


def _translate(error: ClientError, identifier: str, action: str, region: str) -> RetentionError:
    code = _code(error)
    message = error.response.get("Error", {}).get("Message", "") or code
    if code == "NotFoundException":
        return PoolNotFound(
            f"Pool {identifier} was not found in region {region}: check the pool name or ARN, and that "
            f"the pool exists in that region ({message})."
        )
    if code in {"ForbiddenException", "UnauthorizedClientException", "AccessDeniedException"}:
        return AccessDenied(
            f"Access denied to {action} on pool {identifier}: grant the handler's role that action "
            f"on the pool's ARN ({message})."
        )
    if code == "BadRequestException":
        return InvalidRequest(f"The service rejected the request for pool {identifier}: {message}.")
    return ServiceError(f"The service failed a request for pool {identifier}: {code}: {message}.")
