"""Lambda entry point (`index.handler`): wires an event to the handler's modules and answers CloudFormation.

Turns CloudFormation's string properties into a declaration, gathers what its Create, Update or Delete
needs (the pool API and CloudFormation clients of the right regions, one paced Caller with the
invocation's deadline), hands it to `declaring`, and turns the settled pool into response Data and every
error into a FAILED response whose Reason says what is wrong and what to do.
"""

from __future__ import annotations

import dataclasses
import functools
import logging
import os
import time
from collections.abc import Callable
from datetime import datetime
from typing import TYPE_CHECKING, Any

import boto3
from calls import CLIENT_CONFIG, CONNECT_TIMEOUT_SECONDS, READ_TIMEOUT_SECONDS, Caller, Deadline
from cfn_response import DELIVERY_WORST_CASE_SECONDS, CloudFormationResource
from crhelper import log_helper
from declarations import Resource
from declaring import Declared, declare, withdraw
from errors import AccessDenied, InvalidRequest, RetentionError, StaleEvent
from pool_api import PoolApi
from response_window import seconds_left
from retention_rules import (
    DATA_RETENTION_IN_HOURS,
    IDENTIFIER_FORM,
    POOL_IDENTIFIER,
    RECORD_VERSION_PROPERTY,
    RESTORE_ON_DELETE,
    RETENTION_RANGE,
    STACK_KEY,
    parse_pool_identifier,
    parse_retention_hours,
    parse_stack_key,
    pool_arn,
    stack_key,
)
from stack_api import StackApi

if TYPE_CHECKING:
    from mypy_boto3_chime_sdk_media_pipelines import ChimeSDKMediaPipelinesClient
    from mypy_boto3_cloudformation import CloudFormationClient

logger = logging.getLogger(__name__)

# Time kept back from the work so that the answer is delivered before Lambda's timeout: a request already
# under way when the deadline passes, then the response delivery's worst case with all its retries. An
# invocation that timed out after answering would be retried by Lambda and act again.
RESPONSE_MARGIN_SECONDS = CONNECT_TIMEOUT_SECONDS + READ_TIMEOUT_SECONDS + DELIVERY_WORST_CASE_SECONDS
PROPERTIES = {POOL_IDENTIFIER: IDENTIFIER_FORM, DATA_RETENTION_IN_HOURS: RETENTION_RANGE}
OPTIONAL_PROPERTIES = (RESTORE_ON_DELETE, RECORD_VERSION_PROPERTY, STACK_KEY)
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
        "chime-sdk-media-pipelines", region_name=region or os.environ.get("AWS_REGION"), config=CLIENT_CONFIG
    )


@functools.cache
def stack_client_for(region: str) -> CloudFormationClient:
    return boto3.client(
        "cloudformation", region_name=region or os.environ.get("AWS_REGION"), config=CLIENT_CONFIG
    )


def account_of(context: Any) -> str | None:
    """The function's account, from its ARN (arn:aws:lambda:<region>:<account>:function:<name>)."""
    parts = str(getattr(context, "invoked_function_arn", "")).split(":")
    return parts[4] if len(parts) > 4 and parts[4].isdigit() else None


def parse_request(properties: dict[str, Any], resource: Resource) -> Declared:
    unknown = sorted(set(properties) - {*PROPERTIES, *OPTIONAL_PROPERTIES, *FRAMEWORK_PROPERTIES})
    if unknown:
        raise InvalidRequest(
            f"Unknown propert{'y' if len(unknown) == 1 else 'ies'} {', '.join(unknown)}: "
            f"this resource takes only {', '.join([*PROPERTIES, *OPTIONAL_PROPERTIES])}."
        )
    restore = str(properties.get(RESTORE_ON_DELETE, "false")).strip().lower()
    if restore not in {"true", "false"}:
        raise InvalidRequest(f"{RESTORE_ON_DELETE} must be true or false; got {restore[:20]!r}.")
    values = {}
    for name, form in PROPERTIES.items():
        value = properties.get(name)
        if value is None or str(value).strip() == "":
            raise InvalidRequest(f"{name} is missing: set it to {form}.")
        values[name] = value
    try:
        identifier = str(values[POOL_IDENTIFIER]).strip()
        parse_pool_identifier(identifier)
    except ValueError as error:
        raise InvalidRequest(f"{POOL_IDENTIFIER} {error}.") from None
    try:
        hours = parse_retention_hours(values[DATA_RETENTION_IN_HOURS])
    except ValueError as error:
        raise InvalidRequest(f"{DATA_RETENTION_IN_HOURS} {error}.") from None
    key = properties.get(STACK_KEY)
    try:
        # Absent from resources an earlier version deployed: derived the way the construct derives it for
        # a stack whose account and region are concrete.
        key = (
            parse_stack_key(key)
            if key is not None
            else stack_key(resource.stack_name, resource.account, resource.region)
        )
    except ValueError as error:
        raise InvalidRequest(f"{STACK_KEY} {error}.") from None
    return Declared(resource, identifier, hours, restore == "true", key)


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


def _declared_arn(identifier: str, context: Any) -> str | None:
    """The ARN of the pool an identifier names, a name completed with the function's own partition,
    region and account (None when the function's ARN does not say them)."""
    pool = parse_pool_identifier(identifier)
    if pool.region is not None:
        return identifier
    parts = str(getattr(context, "invoked_function_arn", "")).split(":")
    account = account_of(context)
    if account is None:
        return None
    return pool_arn(parts[1], os.environ.get("AWS_REGION") or parts[3], account, pool.name)


def _resource(event: dict[str, Any]) -> Resource:
    return Resource(str(event["StackId"]), str(event["LogicalResourceId"]))


@helper.create
@helper.update
@answering
def apply_retention(event: dict[str, Any], context: Any, deadline: Deadline) -> str:
    """Create and Update alike: record the declaration and bring the pool to it; its ARN is the id.

    Once the pool has been read, a FAILED answer carries its ARN too: CloudFormation then sends the Delete
    that follows a failed Create, or the rollback of a failed Update that moved the resource, for this pool,
    so that what was done to it can be undone.
    """
    request = parse_request(event.get("ResourceProperties") or {}, _resource(event))
    declared = dataclasses.replace(
        request,
        creating=event["RequestType"] == "Create",
        pool_arn=_declared_arn(request.pool_identifier, context) or "",
    )
    region = parse_pool_identifier(declared.pool_identifier).region
    logger.info("%s: pool %s to %s h", event["RequestType"], declared.pool_identifier, declared.hours)
    caller = Caller(deadline)
    pools = PoolApi(client_for(region), caller)
    stacks = StackApi(stack_client_for, caller, account_of(context))
    try:
        pool = declare(pools, stacks, declared)
    except RetentionError as error:
        failure = error
        if isinstance(error, AccessDenied) and region not in (None, os.environ.get("AWS_REGION")):
            # An ARN known only at deploy time, declared as pool_identifier, is granted the stack's region.
            failure = AccessDenied(
                f"Access denied to a pool in {region}, outside the stack's region "
                f"({os.environ.get('AWS_REGION')}): declare it with pool_arn or as a literal ARN, so that "
                f"its ARN is granted ({error.action} on {declared.pool_identifier}).",
                error.action,
            )
        if event["RequestType"] != "Update" or isinstance(error, StaleEvent):
            raise failure from None
        # Asked in one attempt of its own, since the invocation's time may be what ran out: the answering
        # margin keeps one request's timeouts for a request under way, and none is now.
        one_attempt = Caller(Deadline(0.01))
        if not StackApi(stack_client_for, one_attempt, account_of(context)).rolling_back(
            declared.resource.stack_id
        ):
            raise failure from None
        # A rollback's Update that cannot finish answers SUCCESS: UPDATE_ROLLBACK_FAILED would block every
        # pipeline behind the stack and put nothing back either.
        logger.warning(
            "Update, rollback: pool %s NOT put back to %s h: %s Set it by hand.",
            declared.pool_identifier,
            declared.hours,
            failure,
        )
        # The id of the pool the old properties name, not the event's: when the failed update moved the
        # resource to another pool, the id changing back is what makes CloudFormation send the Delete that
        # undoes that pool's change.
        return pools.pool_arn or declared.pool_arn or str(event["PhysicalResourceId"])
    finally:
        if pools.pool_arn:
            helper.PhysicalResourceId = pools.pool_arn
    helper.Data.update(response_data(pool))
    return str(pool["PoolArn"])


@helper.delete
@answering
def release(event: dict[str, Any], context: Any, deadline: Deadline) -> str:
    """Withdraw the resource's declaration from its pool (declaring.withdraw). Lenient on purpose: a Delete
    that fails blocks the stack's deletion or rollback, so trouble with the pool is logged and answered
    SUCCESS."""
    physical_id = str(event.get("PhysicalResourceId", ""))
    try:
        pool = parse_pool_identifier(physical_id)
    except ValueError:
        pool = None
    if pool is None or pool.region is None:  # crhelper's made-up id: the Create failed before reading
        logger.info("Delete: %s is not a pool ARN, nothing to do", physical_id)
        return physical_id
    properties = event.get("ResourceProperties") or {}
    restores = str(properties.get(RESTORE_ON_DELETE, "")).strip().lower() == "true"
    try:
        hours: int | None = parse_retention_hours(properties.get(DATA_RETENTION_IN_HOURS, ""))
    except ValueError:
        hours = None
    caller = Caller(deadline, retry_denials=False)
    outcome = withdraw(
        PoolApi(client_for(pool.region), caller),
        StackApi(stack_client_for, caller, account_of(context)),
        _resource(event),
        physical_id,
        restores=restores,
        hours=hours,
    )
    logger.info("Delete: %s", outcome)
    return physical_id
