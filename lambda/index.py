"""Lambda entry point (`index.handler`): the crhelper layer over `pool_retention`.

Turns CloudFormation's string properties into a RetentionRequest, the settled pool into response Data,
and every error into a FAILED response whose Reason says what is wrong and what to do.
"""

from __future__ import annotations

import functools
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from botocore.config import Config
from cfn_response import DELIVERY_WORST_CASE_SECONDS, CloudFormationResource
from crhelper import log_helper
from pool_record import Holder
from pool_retention import (
    AccessDenied,
    Deadline,
    InvalidRequest,
    PoolRetention,
    RetentionError,
    RetentionRequest,
)
from response_window import seconds_left
from retention_rules import (
    IDENTIFIER_FORM,
    RETENTION_RANGE,
    parse_pool_identifier,
    parse_retention_hours,
    same_pool,
)
from stack_view import ROLLING_BACK_AN_UPDATE, declared_retention, destination_resources, stack_status

if TYPE_CHECKING:
    from mypy_boto3_chime_sdk_media_pipelines import ChimeSDKMediaPipelinesClient
    from mypy_boto3_cloudformation import CloudFormationClient

logger = logging.getLogger(__name__)

CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS = 3, 8
CLIENT_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
    # One retry mechanism: PoolRetention's, since botocore's modern modes skip ThrottledClientException.
    retries={"mode": "standard", "total_max_attempts": 1},
)
# CloudFormation's own API is asked by Deletes (DescribeStacks, GetTemplate): botocore's standard retries
# know its "Throttling", and ten attempts ride out a whole stack's Deletes asking at once (backoff to 20 s).
# AWS_MAX_ATTEMPTS, the SDKs' own variable, set on the function, changes that number.
STACK_CLIENT_CONFIG = Config(
    connect_timeout=CONNECT_TIMEOUT_SECONDS,
    read_timeout=READ_TIMEOUT_SECONDS,
    retries={"mode": "standard", "total_max_attempts": int(os.environ.get("AWS_MAX_ATTEMPTS") or 10)},
)
# Time kept back from the work so that the answer is delivered before Lambda's timeout: a request already
# under way when the deadline passes, then the response delivery's worst case with all its retries. An
# invocation that timed out after answering would be retried by Lambda and act again.
RESPONSE_MARGIN_SECONDS = CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS + DELIVERY_WORST_CASE_SECONDS
PROPERTIES = {"PoolIdentifier": IDENTIFIER_FORM, "DataRetentionInHours": RETENTION_RANGE}
# RecordVersion: set by the construct on restore_on_delete resources, so that upgrading from 0.1.0 sends each
# of them an Update, which names the resource in its pool's record.
OPTIONAL_PROPERTIES = ("RestoreOnDelete", "RecordVersion")
FRAMEWORK_PROPERTIES = ("ServiceToken", "ServiceTimeout")

# JSON logs: every line one object with the event's RequestType, StackId, RequestId and LogicalResourceId
# (crhelper's formatter, set up again for each event), for CloudWatch Logs Insights. Set up once before
# crhelper builds its clients too, so that no line of the cold start is plain text. At INFO crhelper logs
# no event, so the pre-signed response URL never reaches the logs.
log_helper.setup("INFO", boto_level="WARNING", RequestType="ContainerInit")
helper = CloudFormationResource(json_logging=True, log_level="INFO", boto_level="WARNING", sleep_on_delete=0)


def handler(event: dict[str, Any], context: Any) -> None:
    helper(event, context)


@functools.cache
def client_for(region: str | None) -> ChimeSDKMediaPipelinesClient:
    """One client per region, kept across invocations of a warm function."""
    return boto3.client(
        "chime-sdk-media-pipelines",
        region_name=region or os.environ.get("AWS_REGION"),
        config=CLIENT_CONFIG,
    )


@functools.cache
def stack_client_for(region: str) -> CloudFormationClient:
    return boto3.client("cloudformation", region_name=region, config=STACK_CLIENT_CONFIG)


def stack_client(stack_id: str) -> CloudFormationClient:
    """The client for a stack's own region (arn:aws:cloudformation:<region>:...)."""
    return stack_client_for(stack_id.split(":")[3])


def restoring(properties: dict[str, Any]) -> bool:
    """RestoreOnDelete, read leniently (parse_request checks it strictly where a typo must fail)."""
    return str(properties.get("RestoreOnDelete", "")).strip().lower() == "true"


def resource_of(event: dict[str, Any]) -> Holder:
    return Holder(str(event["StackId"]), str(event["LogicalResourceId"]))


def account_of(context: Any) -> str | None:
    """The function's account, from its ARN (arn:aws:lambda:<region>:<account>:function:<name>)."""
    parts = str(getattr(context, "invoked_function_arn", "")).split(":")
    return parts[4] if len(parts) > 4 and parts[4].isdigit() else None


def parse_request(properties: dict[str, Any]) -> RetentionRequest:
    unknown = sorted(set(properties) - {*PROPERTIES, *OPTIONAL_PROPERTIES, *FRAMEWORK_PROPERTIES})
    if unknown:
        raise InvalidRequest(
            f"Unknown propert{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}: "
            f"this resource takes only {', '.join([*PROPERTIES, *OPTIONAL_PROPERTIES])}."
        )
    restore = str(properties.get("RestoreOnDelete", "false")).strip().lower()
    if restore not in {"true", "false"}:
        raise InvalidRequest(f"RestoreOnDelete must be true or false; got {restore[:20]!r}.")
    values = {}
    for name, form in PROPERTIES.items():
        value = properties.get(name)
        if value is None or str(value).strip() == "":
            raise InvalidRequest(f"{name} is missing: set it to {form}.")
        values[name] = value
    try:
        identifier = str(values["PoolIdentifier"]).strip()
        parse_pool_identifier(identifier)
    except ValueError as error:
        raise InvalidRequest(f"PoolIdentifier {error}.") from None
    try:
        hours = parse_retention_hours(values["DataRetentionInHours"])
    except ValueError as error:
        raise InvalidRequest(f"DataRetentionInHours {error}.") from None
    return RetentionRequest(
        pool_identifier=identifier, data_retention_in_hours=hours, restore_on_delete=restore == "true"
    )


def response_data(pool: dict[str, Any]) -> dict[str, str | int]:
    """The attributes the construct exposes, as plain JSON (crhelper cannot serialize datetimes)."""
    stream = pool.get("StreamConfiguration", {})
    return {
        "PoolArn": pool["PoolArn"],
        "PoolStatus": pool["PoolStatus"],
        "PoolId": pool.get("PoolId", ""),
        "PoolName": pool.get("PoolName", ""),
        "PoolSize": int(pool.get("PoolSize", 0)),
        "Region": stream.get("Region", ""),
        "DataRetentionInHours": int(stream["DataRetentionInHours"]),
        "CreatedTimestamp": _iso(pool.get("CreatedTimestamp")),
        "UpdatedTimestamp": _iso(pool.get("UpdatedTimestamp")),
    }


def _iso(value: object) -> str:
    return value.isoformat() if isinstance(value, datetime) else str(value or "")


def answering(
    handle: Callable[[dict[str, Any], Any, Deadline], str],
) -> Callable[[dict[str, Any], Any], str]:
    """What every event goes through before and after `handle`.

    An event CloudFormation no longer waits for (a late or repeated delivery) changes nothing. Otherwise
    `handle` gets the time left before either Lambda or CloudFormation stops waiting, less the margin for
    answering. RetentionErrors pass as they are; anything else becomes a Reason without a traceback.
    """

    @functools.wraps(handle)
    def handled(event: dict[str, Any], context: Any) -> str:
        seconds = context.get_remaining_time_in_millis() / 1000
        waited_for = seconds_left(event, time.time())
        if waited_for is not None and waited_for <= 0:
            logger.warning(
                "%s arrived %.0f s after CloudFormation stopped waiting: no call made, nothing changed",
                event["RequestType"],
                -waited_for,
            )
            raise RetentionError(
                f"This {event['RequestType']} event arrived {-waited_for:.0f} s after CloudFormation stopped "
                "waiting for it (it waited in Lambda's queue or was delivered again); nothing was changed."
            )
        if waited_for is not None:
            seconds = min(seconds, waited_for)
        try:
            return handle(event, context, Deadline(seconds - RESPONSE_MARGIN_SECONDS))
        except RetentionError:
            raise
        except Exception as error:
            logger.exception("unexpected failure")
            raise RetentionError(
                f"Unexpected {type(error).__name__} in the handler: {error}. "
                "The function's log group has the details."
            ) from error

    return handled


@helper.create
@helper.update
@answering
def apply_retention(event: dict[str, Any], context: Any, deadline: Deadline) -> str:
    """Create and Update alike: bring the declared pool to the declared retention; its ARN is the id.

    Once the pool has been read, a FAILED answer carries its ARN too: CloudFormation then sends the Delete
    that follows a failed Create, or the rollback of a failed Update that moved the resource, for this pool,
    so that what was done to it can be undone.
    """
    request = parse_request(event.get("ResourceProperties") or {})
    region = parse_pool_identifier(request.pool_identifier).region
    logger.info(
        "%s: pool %s to %s h", event["RequestType"], request.pool_identifier, request.data_retention_in_hours
    )
    core = PoolRetention(client_for(region), deadline)
    old = event.get("OldResourceProperties") or {}
    new_to_pool = _new_to_pool(event, request, core)
    was_restoring = not new_to_pool and restoring(old)
    try:
        pool = core.apply(
            request, resource=resource_of(event), new_to_pool=new_to_pool, was_restoring=was_restoring
        )
    except AccessDenied as denied:
        home = os.environ.get("AWS_REGION")
        if region is None or region == home:
            raise
        # An ARN known only at deploy time, declared as pool_identifier, is granted the stack's region only.
        raise AccessDenied(
            f"Access denied to a pool in {region}, outside the stack's region ({home}): declare it with "
            f"pool_arn or as a literal ARN, so that its ARN is granted ({denied.action} on "
            f"{request.pool_identifier}).",
            denied.action,
        ) from None
    finally:
        if core.pool_arn:
            helper.PhysicalResourceId = core.pool_arn
    helper.Data.update(response_data(pool))
    return str(pool["PoolArn"])


def _new_to_pool(event: dict[str, Any], request: RetentionRequest, core: PoolRetention) -> bool:
    """A Create, or an Update whose previous properties named another pool: the resource takes this pool
    over (and CloudFormation may still delete the resource that held it, or roll this one back)."""
    if event["RequestType"] == "Create":
        return True
    old = str((event.get("OldResourceProperties") or {}).get("PoolIdentifier", "")).strip()
    try:
        parse_pool_identifier(old)
    except ValueError:
        return False  # previous properties that named no pool (a rollback from invalid ones) changed nothing
    return not same_pool(old, request.pool_identifier, region=core.region, account=None)


@helper.delete
@answering
def release(event: dict[str, Any], context: Any, deadline: Deadline) -> str:
    """By default the pool keeps its retention: the resource never owned the pool. With RestoreOnDelete,
    the pool's record decides (pool_record): hand it over, give a take-over back, or restore the original.

    Lenient on purpose: a Delete that fails blocks the stack's deletion or rollback, so trouble with the
    pool is logged and answered SUCCESS.
    """
    physical_id = str(event.get("PhysicalResourceId", ""))
    try:
        pool = parse_pool_identifier(physical_id)
    except ValueError:
        pool = None
    if pool is None or pool.region is None:  # crhelper's made-up id: the Create failed before reading
        logger.info("Delete: %s is not a pool ARN, nothing to do", physical_id)
        return physical_id
    properties = event.get("ResourceProperties") or {}
    account = account_of(context)
    stack_id = str(event["StackId"])
    core = PoolRetention(client_for(pool.region), deadline)

    def names_the_pool(identifier: str) -> bool:
        return same_pool(identifier, physical_id, region=pool.region or "", account=account)

    if not restoring(properties):
        logger.info("Delete: %s", _leave(core, event, physical_id, names_the_pool))
        return physical_id
    # Only properties naming this pool say what was declared for it: CloudFormation may send the Delete of
    # a resource's earlier pool (after it moved) with the properties of the later one.
    try:
        hours = (
            parse_retention_hours(properties.get("DataRetentionInHours", ""))
            if names_the_pool(str(properties.get("PoolIdentifier", "")))
            else None
        )
    except ValueError:
        hours = None

    def owner_gone(owner: Holder) -> bool:
        """Gone when it was in this stack and the template the stack is moving to, in an update's cleanup
        or the stack's deletion, no longer declares it. In a rollback the owner is where the stack rolls
        back to; one in another stack may be there still; anything unknown: not gone, and the successor
        gives the pool back, which never lowers it below what a live resource declares."""
        if owner.stack_id != stack_id:
            return False
        client = stack_client(stack_id)
        status = stack_status(client, stack_id)
        if status is None or "ROLLBACK" in status:
            return False
        resources = destination_resources(client, stack_id)
        return resources is not None and owner.logical_id not in resources

    outcome = core.release(physical_id, resource_of(event), declared=hours, owner_gone=owner_gone)
    logger.info("Delete: %s", outcome)
    return physical_id


def _leave(
    core: PoolRetention, event: dict[str, Any], physical_id: str, names_the_pool: Callable[[str], bool]
) -> str:
    """A Delete without restore_on_delete leaves the pool, unless the stack is rolling back an update that
    created this resource (a renamed construct): then the pool goes back to what another resource of the
    template the stack rolls back to declares for it, which nothing else would put back."""
    stack_id = str(event["StackId"])
    client = stack_client(stack_id)
    status = stack_status(client, stack_id)
    if status is None:
        return core.left(
            physical_id, "the stack's status could not be read, so a rollback could not be undone"
        )
    if status not in ROLLING_BACK_AN_UPDATE:
        return f"leaving pool {physical_id} as it is"
    resources = destination_resources(client, stack_id)
    if resources is None:
        return core.left(physical_id, "the template the stack rolls back to could not be read")
    others = {key: value for key, value in resources.items() if key != event["LogicalResourceId"]}
    declared = declared_retention(others, str(event.get("ResourceType", "")), names_the_pool)
    if declared.hours is None:
        if declared.unknown:
            return core.left(
                physical_id,
                "the template the stack rolls back to names pools or retentions by deploy-time values, "
                "which this handler cannot resolve; set the pool to what it declares",
            )
        return f"leaving pool {physical_id} as it is: the stack rolls back to no retention for it"
    try:
        core.apply(RetentionRequest(physical_id, declared.hours))
    except RetentionError as error:
        return core.left(physical_id, f"{error} The stack rolls back to {declared.hours} h for it")
    return f"pool {physical_id} back to {declared.hours} h, as the template the stack rolls back to declares"
