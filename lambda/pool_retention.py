"""Keep one Kinesis Video Stream pool's data retention at a declared value.

The pure core of the handler: it takes a client and plain values and returns plain data. It knows nothing
of CloudFormation; `index.py` turns its results and errors into responses. What a resource records on
its pool for `restore_on_delete`, and what each event does with that record, is `pool_record`'s.
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
from pool_record import (
    ORIGINAL,
    STEP_BACK_TAGS,
    SUCCESSOR,
    DamagedRecord,
    Holder,
    PoolRecord,
    Release,
    hand_over_tags,
    present_keys,
    read_record,
    release_on_delete,
    tags_on_apply,
)

if TYPE_CHECKING:
    from mypy_boto3_chime_sdk_media_pipelines import ChimeSDKMediaPipelinesClient

logger = logging.getLogger(__name__)

GET_ACTION = "chime:GetMediaPipelineKinesisVideoStreamPool"
UPDATE_ACTION = "chime:UpdateMediaPipelineKinesisVideoStreamPool"
TAG_ACTION = "chime:TagResource"
UNTAG_ACTION = "chime:UntagResource"
LIST_TAGS_ACTION = "chime:ListTagsForResource"

BUSY_STATUSES = frozenset({"CREATING", "UPDATING"})
# The update API's minimum (shape DataRetentionChangeInHours), as in retention_rules, which the construct
# imports from the package: this module needs botocore, that one only the standard library.
MIN_UPDATE_HOURS = 1
THROTTLED = "ThrottledClientException"
CONFLICT = "ConflictException"
DENIED_CODES = frozenset({"ForbiddenException", "UnauthorizedClientException", "AccessDeniedException"})
# IAM is eventually consistent: a grant made just before the event (the stack's own policy, in the same
# deployment) may take seconds to apply. A denied request is retried after these waits (10 s in all), then
# answered: a lasting denial still fails within seconds.
ACCESS_DENIED_RETRY_DELAYS = (1.0, 2.0, 3.0, 4.0)
# Another writer may change the pool while this resource's update settles: applied again this many times,
# then the answer names both values.
MAX_REAPPLIES = 2

T = TypeVar("T")


class RetentionError(Exception):
    """A failure whose message is fit to show a person as the CloudFormation Reason."""


class InvalidRequest(RetentionError):
    """The declared identifier or retention cannot be applied as given."""


class PoolNotFound(RetentionError):
    pass


class AccessDenied(RetentionError):
    def __init__(self, message: str, action: str = "") -> None:
        super().__init__(message)
        self.action = action


class PoolFailed(RetentionError):
    """The pool is, or ended, in status FAILED or DELETING."""


class PoolNotSettled(RetentionError):
    """The pool stayed busy past the time this invocation had."""


class RetentionOverwritten(RetentionError):
    """Another writer kept changing the pool's retention while this resource applied its own."""


class InvalidRecord(RetentionError):
    """The pool carries a restore record this handler did not write."""


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


def retention_of(pool: dict[str, Any]) -> int:
    return int(pool["StreamConfiguration"]["DataRetentionInHours"])


@dataclass
class PoolRetention:
    """Reads and updates one pool through `client`, within `deadline`."""

    client: ChimeSDKMediaPipelinesClient
    deadline: Deadline
    polling: PollingSchedule = field(default_factory=PollingSchedule)
    pacing: InitVar[Pacing | None] = None  # one per invocation; on the deadline's clock when not given
    reads: int = 0
    pace: Pacing = field(init=False)
    pool_arn: str = ""  # once a read has named the pool: a FAILED answer names it too
    # A grant made in the same deployment may take seconds to apply: denials are retried. A Delete comes
    # after grants are removed, never added: its denials are final at once.
    retry_denials: bool = True
    _last_fault: str = field(default="", init=False, repr=False)

    def __post_init__(self, pacing: Pacing | None) -> None:
        self.pace = pacing or Pacing(clock=self.deadline.clock)

    @property
    def region(self) -> str:
        return str(self.client.meta.region_name)

    # --- Create and Update ---------------------------------------------------------------------------

    def apply(
        self,
        request: RetentionRequest,
        *,
        resource: Holder | None = None,
        new_to_pool: bool = True,
        was_restoring: bool = False,
        settled: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """Bring the pool to the requested retention and return its settled configuration.

        `resource` is who asks (needed for the record of `restore_on_delete`); `new_to_pool` says whether it
        takes this pool over (a Create, or an Update that moved it here) rather than keeping it;
        `was_restoring` whether it kept this pool with restore_on_delete until now; `settled` is the pool as
        just read, if it was.
        """
        identifier = request.pool_identifier
        wanted = request.data_retention_in_hours
        pool = settled or self.wait_until_settled(identifier)
        if resource is not None:
            self._keep_record(pool, request, resource, new_to_pool=new_to_pool, was_restoring=was_restoring)
        reapplied = 0
        conflict_is_refusal = False
        while True:
            current = retention_of(pool)
            if current == wanted:
                logger.info("pool %s: retention already %s h, no update", identifier, wanted)
                return pool
            logger.info("pool %s: retention %s h -> %s h", identifier, current, wanted)
            if self.update(identifier, wanted, conflict_is_refusal=conflict_is_refusal):
                pool = self.wait_until_settled(identifier, just_updated=True)
                holds = retention_of(pool)
                if holds == wanted:
                    return pool
                reapplied += 1
                if reapplied > MAX_REAPPLIES:
                    raise RetentionOverwritten(
                        f"Pool {identifier} settled at {holds} h, not the declared {wanted} h, "
                        f"{reapplied} times: another writer keeps changing its retention. Find it (another "
                        "stack, app or person) and stop it, then redeploy."
                    )
                logger.warning(
                    "pool %s settled at %s h, not %s h: another writer changed it; applying again",
                    identifier,
                    holds,
                    wanted,
                )
                continue
            # ConflictException: busy with another change (a duplicate of this event, or one made
            # elsewhere). Once it settles, compare again, so a duplicate finds the retention already set
            # and makes no second update.
            pool = self.describe(identifier)
            if pool["PoolStatus"] in BUSY_STATUSES:
                logger.info("pool %s: busy (ConflictException), waiting before comparing again", identifier)
                pool = self.wait_until_settled(identifier, just_updated=True)
                continue
            # ACTIVE, yet refused: a refusal like throttling, retried at the invocation's widening pace.
            logger.info("pool %s: ACTIVE yet the update was refused (ConflictException)", identifier)
            conflict_is_refusal = True

    def _keep_record(
        self,
        pool: dict[str, Any],
        request: RetentionRequest,
        resource: Holder,
        *,
        new_to_pool: bool,
        was_restoring: bool,
    ) -> None:
        """Before any change: write this resource's record (restore_on_delete); or, without
        restore_on_delete, remove a record that would otherwise restore the pool on a Delete: the record of
        the resource it takes the pool over from, or its own once restore_on_delete is turned off."""
        arn = str(pool["PoolArn"])
        current, wanted = retention_of(pool), request.data_retention_in_hours
        if not request.restore_on_delete:
            # A take-over that changes the retention needs nothing: the earlier resource's Delete finds the
            # pool changed and leaves it.
            taking_over = new_to_pool and current == wanted
            if not (taking_over or was_restoring):
                return
            tags = self.tags(arn)
            keys = present_keys(tags)
            try:
                record = read_record(tags)
            except DamagedRecord:
                record = None
            if was_restoring and record is not None and record.successor == resource:
                # Its take-over was pending: it gives it up, or the owner's Delete would hand the record to
                # a resource that no longer restores.
                self.tag(arn, STEP_BACK_TAGS)
                return
            if keys and (taking_over or record is None or record.held_by(resource)):
                logger.warning(
                    "pool %s: removing the restore record %s: %s declares the pool without "
                    "restore_on_delete, so its retention before kvs-pool-retention (%s h) is not put back",
                    arn,
                    {key: tags[key] for key in keys},
                    resource,
                    tags.get(ORIGINAL, "?"),
                )
                self.untag(arn, keys)
            return
        tags = self.tags(arn)
        try:
            record = read_record(tags)
        except DamagedRecord as damage:
            raise InvalidRecord(
                f"Pool {request.pool_identifier} carries a damaged restore record ({damage}): correct the "
                "pool's kvs-pool-retention:* tags, or remove them (the original retention is then "
                "forgotten), then redeploy."
            ) from None
        leftovers = [key for key in present_keys(tags) if record is None or tags[key] == ""]
        if leftovers and (record is None or record.owner == resource):
            # Successor tags a hand-over or step-back emptied (never a moment without a holder: they go
            # with the owner's next event), or tags an earlier version's restore left without a record.
            self.untag(arn, leftovers)
        writes = tags_on_apply(record, resource, new_to_pool=new_to_pool, current=current, declared=wanted)
        if not writes:
            return
        if record is not None and SUCCESSOR in writes and record.successor not in (None, resource):
            logger.warning(
                "pool %s: %s takes over from %s, whose take-over of the pool was never completed",
                arn,
                resource,
                record.successor,
            )
        logger.info("pool %s: record %s", arn, writes)
        try:
            self.tag(arn, writes)
        except InvalidRequest as refused:  # the pool's tag limit, most likely: nothing was changed yet
            raise InvalidRequest(
                f"Could not record pool {request.pool_identifier}'s retention for restore_on_delete, kept in "
                "tags on the pool: free a tag on the pool, or declare it without restore_on_delete. Its "
                f"retention was left as it is ({refused})"
            ) from None

    # --- Delete -------------------------------------------------------------------------------------

    def release(
        self,
        pool_arn: str,
        resource: Holder,
        *,
        declared: int | None,
        owner_gone: Callable[[Holder], bool],
    ) -> str:
        """What `resource`'s Delete does to its pool (restore_on_delete): says what it did, one line.

        Never raises for trouble with the pool or its record: a Delete that fails blocks the stack's
        deletion or rollback, and one in the cleanup phase is ignored by CloudFormation. Whatever is left
        undone is logged at WARNING with the value to set by hand. `declared` is what the resource
        declared for this pool (None when the event's properties name another pool).
        """
        self.retry_denials = False
        try:
            tags = self.tags(pool_arn)
        except PoolNotFound:
            return f"pool {pool_arn} no longer exists: nothing to restore"
        except AccessDenied:
            # Neither declared by this stack any more nor recorded as this stack's: nothing of its to undo,
            # unless the record predates owners (0.1.0's), which no grant can single out.
            return self.left(
                pool_arn,
                "the role may not read its tags, so no record names this stack; a record written by 0.1.0 "
                f"names none: its tag {ORIGINAL}, if any, holds the retention to set by hand",
            )
        except RetentionError as error:
            return self.left(pool_arn, f"its record could not be read: {error}")
        try:
            record = read_record(tags)
        except DamagedRecord as damage:
            return self.left(pool_arn, f"its restore record is damaged ({damage}); set it by hand")
        if record is None:
            return f"pool {pool_arn} has no restore record: nothing to restore"
        owner = record.owner
        # Only a successor's Delete asks whether its owner is gone.
        gone = owner is not None and record.successor == resource and owner_gone(owner)
        decision = release_on_delete(record, resource, owner_gone=gone)
        try:
            return self._release(pool_arn, record, resource, decision, declared, present_keys(tags))
        except PoolNotFound:
            return f"pool {pool_arn} no longer exists: nothing to restore"
        except RetentionError as error:
            return self.left(
                pool_arn, f"{error} Its retention before kvs-pool-retention was {record.original} h."
            )

    def _release(
        self,
        pool_arn: str,
        record: PoolRecord,
        resource: Holder,
        decision: Release,
        declared: int | None,
        keys: list[str],
    ) -> str:
        if decision is Release.NOT_HELD:
            return f"pool {pool_arn}: its record belongs to {record.owner}, left as it is"
        if decision is Release.HAND_OVER:
            current = retention_of(self.wait_until_settled(pool_arn))
            self.tag(pool_arn, hand_over_tags(record, current))
            return f"pool {pool_arn}: record handed over to {record.successor} at {current} h, pool left"
        if decision is Release.STEP_BACK:
            target = record.owner_hours
            try:
                if target is not None and target >= MIN_UPDATE_HOURS:
                    self.apply(RetentionRequest(pool_identifier=pool_arn, data_retention_in_hours=target))
            finally:
                # Whatever became of the pool, this resource no longer holds it: a successor tag left
                # naming it would have the owner's Delete hand the record to a resource that is gone.
                self.tag(pool_arn, STEP_BACK_TAGS)
            if target is None:
                return self.left(pool_arn, f"{record.owner or 'its owner'} declares no known retention")
            return f"pool {pool_arn}: take-over given back, back to {target} h for {record.owner}"
        return self._restore(pool_arn, record, resource, declared, keys)

    def _restore(
        self, pool_arn: str, record: PoolRecord, resource: Holder, declared: int | None, keys: list[str]
    ) -> str:
        """The last resource holding the pool leaves: put back the original, unless another writer has
        changed the pool since (then its retention is someone's decision: left, and said so)."""
        pool = self.wait_until_settled(pool_arn)
        current = retention_of(pool)
        expected = record.owner_hours if record.owner == resource else declared
        original = record.original
        if current != original and expected is not None and current != expected:
            self.untag(pool_arn, keys)
            return self.left(
                pool_arn,
                f"it holds {current} h, not the {expected} h {resource} declared: another writer changed it "
                f"since. Its retention before kvs-pool-retention was {original} h",
            )
        if current != original:
            if original < MIN_UPDATE_HOURS:  # a pool may be created with 0 h; updates need 1 h or more
                self.untag(pool_arn, keys)
                return self.left(pool_arn, f"its original retention of {original} h cannot be set again")
            self.apply(RetentionRequest(pool_arn, data_retention_in_hours=original), settled=pool)
        self.untag(pool_arn, keys)
        return f"pool {pool_arn} restored to its original {original} h"

    @staticmethod
    def left(pool_arn: str, why: str) -> str:
        """Say, at WARNING, that the pool was left as it is and why: the value to set by hand is in `why`."""
        message = f"pool {pool_arn} NOT restored: {why.rstrip('.')}. Left as it is."
        logger.warning(message)
        return message

    # --- Requests -----------------------------------------------------------------------------------

    def tags(self, pool_arn: str) -> dict[str, str]:
        answer = self._request(
            "list the tags of",
            LIST_TAGS_ACTION,
            pool_arn,
            lambda: self.client.list_tags_for_resource(ResourceARN=pool_arn),
        )
        return {tag["Key"]: tag["Value"] for tag in answer.get("Tags", [])}

    def tag(self, pool_arn: str, tags: dict[str, str]) -> None:
        self._request(
            "tag",
            TAG_ACTION,
            pool_arn,
            lambda: self.client.tag_resource(
                ResourceARN=pool_arn, Tags=[{"Key": key, "Value": value} for key, value in tags.items()]
            ),
        )

    def untag(self, pool_arn: str, keys: list[str]) -> None:
        if keys:
            self._request(
                "untag",
                UNTAG_ACTION,
                pool_arn,
                lambda: self.client.untag_resource(ResourceARN=pool_arn, TagKeys=keys),
            )

    def _request(self, verb: str, action: str, identifier: str, call: Callable[[], T]) -> T:
        """One call with retries, its errors turned into RetentionErrors that name `action`."""
        try:
            return self._call(verb, identifier, call)
        except ClientError as error:
            raise _translate(error, identifier, action, self.region) from None

    def update(self, identifier: str, hours: int, *, conflict_is_refusal: bool = False) -> bool:
        """Ask for the new retention; False when the pool is busy with another change (ConflictException),
        unless a conflict is known to be a refusal: then it is retried at the invocation's pace."""
        try:
            self._call(
                "update",
                identifier,
                lambda: self.client.update_media_pipeline_kinesis_video_stream_pool(
                    Identifier=identifier, StreamConfiguration={"DataRetentionInHours": hours}
                ),
                refusals=frozenset({CONFLICT}) if conflict_is_refusal else frozenset(),
            )
        except ClientError as error:
            if _code(error) != CONFLICT:
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
        """The pool's configuration. A retention the answer leaves out (it is optional in the service
        model) reads as 0 h, the service's own default for a pool created without one."""
        answer = self._request(
            "read",
            GET_ACTION,
            identifier,
            lambda: self.client.get_media_pipeline_kinesis_video_stream_pool(Identifier=identifier),
        )
        self.reads += 1
        pool: dict[str, Any] = dict(answer["KinesisVideoStreamPoolConfiguration"])
        stream: dict[str, Any] = dict(pool.get("StreamConfiguration") or {})
        stream["DataRetentionInHours"] = int(stream.get("DataRetentionInHours") or 0)
        pool["StreamConfiguration"] = stream
        self.pool_arn = self.pool_arn or str(pool.get("PoolArn", ""))
        return pool

    def _call(
        self, verb: str, identifier: str, call: Callable[[], T], *, refusals: frozenset[str] = frozenset()
    ) -> T:
        """Run one API call at this invocation's pace, retrying throttling (any HTTP 429), 5xx, connection
        faults and `refusals` for as long as the invocation has time, and access denials for at most
        ACCESS_DENIED_WINDOW_SECONDS."""
        denials = 0
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
                code, status = _code(error), _status(error)
                if code in DENIED_CODES:
                    self.pace.served()  # an answer about the caller, not about load
                    denials += 1
                    if not self.retry_denials or denials > len(ACCESS_DENIED_RETRY_DELAYS):
                        raise
                    retry = ACCESS_DENIED_RETRY_DELAYS[denials - 1]
                    if retry > self.deadline.remaining():
                        raise
                    logger.info("pool %s: %s denied (%s), retrying in %.0f s", identifier, verb, code, retry)
                    self.deadline.sleep(retry)
                    continue
                if code not in RETRYABLE_CODES | refusals and status != 429 and status < 500:
                    self.pace.served()  # an answer about the request itself, not about load
                    raise
                self._last_fault = THROTTLED if status == 429 else code or f"HTTP {status}"
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
        if self._last_fault == CONFLICT:
            return ServiceError(
                f"Could not {verb} pool {identifier}: the API kept refusing the update although the pool was "
                f"ACTIVE, until time ran out; retry the deployment later ({CONFLICT} {tally})."
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
    message = error.response.get("Error", {}).get("Message", "") or code or f"HTTP {_status(error)}"
    if code == "NotFoundException":
        return PoolNotFound(
            f"Pool {identifier} was not found in region {region}: check the pool name or ARN, and that "
            f"the pool exists in that region ({message})."
        )
    if code in DENIED_CODES:
        return AccessDenied(
            f"Access denied to {action} on pool {identifier}: grant the handler's role that action "
            f"on the pool's ARN ({message}).",
            action,
        )
    if code == "BadRequestException":
        return InvalidRequest(f"The service rejected the request for pool {identifier}: {message}.")
    return ServiceError(f"The service failed a request for pool {identifier}: {code or message}: {message}.")
