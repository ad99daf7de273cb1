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
from cfn_response import CloudFormationResource
from crhelper import log_helper
from pool_retention import Deadline, InvalidRequest, PoolRetention, RetentionError, RetentionRequest
from response_window import seconds_left
from retention_rules import IDENTIFIER_FORM, RETENTION_RANGE, parse_pool_identifier, parse_retention_hours

if TYPE_CHECKING:
    from mypy_boto3_chime_sdk_media_pipelines import ChimeSDKMediaPipelinesClient

logger = logging.getLogger(__name__)

# Time kept back from waiting so that this handler, not crhelper's "Execution timed out" timer, answers:
# one more read (connect and read timeouts below) plus a response delivery with its retries.
RESPONSE_MARGIN_SECONDS = 25.0
CLIENT_CONFIG = Config(
    connect_timeout=3,
    read_timeout=8,
    # One retry mechanism: PoolRetention's, since botocore's modern modes skip ThrottledClientException.
    retries={"mode": "standard", "total_max_attempts": 1},
)
PROPERTIES = {"PoolIdentifier": IDENTIFIER_FORM, "DataRetentionInHours": RETENTION_RANGE}
OPTIONAL_PROPERTIES = ("RestoreOnDelete",)
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


def answering(handle: Callable[[dict[str, Any], Deadline], str]) -> Callable[[dict[str, Any], Any], str]:
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
            return handle(event, Deadline(seconds - RESPONSE_MARGIN_SECONDS))
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
def apply_retention(event: dict[str, Any], deadline: Deadline) -> str:
    """Create and Update alike: bring the declared pool to the declared retention; its ARN is the id."""
    request = parse_request(event.get("ResourceProperties") or {})
    region = parse_pool_identifier(request.pool_identifier).region
    logger.info(
        "%s: pool %s to %s h", event["RequestType"], request.pool_identifier, request.data_retention_in_hours
    )
    pool = PoolRetention(client_for(region), deadline).apply(request)
    helper.Data.update(response_data(pool))
    return str(pool["PoolArn"])


@helper.delete
@answering
def release(event: dict[str, Any], deadline: Deadline) -> str:
    """By default the pool keeps its retention: the resource never owned the pool. With RestoreOnDelete,
    the retention the pool had before this resource first changed it is put back."""
    physical_id = str(event.get("PhysicalResourceId", ""))
    properties = event.get("ResourceProperties") or {}
    # Lenient on purpose: a Delete that fails over a property blocks the stack's deletion or rollback.
    if str(properties.get("RestoreOnDelete", "")).strip().lower() != "true":
        logger.info("Delete: leaving pool %s as it is", physical_id)
        return physical_id
    try:
        region = parse_pool_identifier(physical_id).region
    except ValueError:
        region = None
    if region is None:  # crhelper's generated id: the Create failed before the pool was touched
        logger.info("Delete: %s is not a pool ARN, nothing to restore", physical_id)
        return physical_id
    restored = PoolRetention(client_for(region), deadline).restore_original(physical_id)
    if restored is not None:
        logger.info("Delete: pool %s restored to its original %s h", physical_id, restored)
    return physical_id
