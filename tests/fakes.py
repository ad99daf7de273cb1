"""Fakes of what AWS hands the handler: Lambda's context, CloudFormation's events, the API's pool shape."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from botocore.exceptions import ClientError
from retention_rules import RECORD_VERSION, stack_key

POOL_NAME = "meeting-audio"
POOL_ARN = f"arn:aws:chime:us-east-1:111122223333:media-pipeline-kinesis-video-stream-pool/{POOL_NAME}"
STACK_ID = "arn:aws:cloudformation:us-east-1:111122223333:stack/Retention/1b2c3d4e"
LOGICAL_ID = "Pool0B9733A61"  # the events' resource
# The construct's StackKey for that stack (its name, account and region: an environment-aware stack).
STACK_KEY = stack_key("Retention", "111122223333", "us-east-1")


@dataclass
class LambdaContext:
    """What the handler uses of Lambda's context; the remaining time counts down for real."""

    budget_seconds: float = 600.0
    function_name: str = "kvs-pool-retention-handler"
    invoked_function_arn: str = "arn:aws:lambda:us-east-1:111122223333:function:kvs-pool-retention-handler"
    aws_request_id: str = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    _end: float = field(init=False)

    def __post_init__(self) -> None:
        self._end = time.monotonic() + self.budget_seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._end - time.monotonic()) * 1000))


class FakeClock:
    """Time that passes only when the code under test sleeps."""

    def __init__(self) -> None:
        self.now = 0.0
        self.sleeps: list[float] = []

    def __call__(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(seconds)
        self.now += seconds


def cloudformation_event(
    request_type: str,
    properties: dict[str, str] | None = None,
    *,
    construct_properties: bool = True,
    **extra: object,
) -> dict:
    """A custom resource event as CloudFormation sends it: every property value a string. The properties
    the construct adds to every resource (RecordVersion, StackKey) come first, so `properties` may override
    them; `construct_properties=False` leaves them out, as in a resource deployed by 0.2.0 or earlier."""
    event: dict = {
        "RequestType": request_type,
        "ServiceToken": "arn:aws:lambda:us-east-1:111122223333:function:handler",
        "ResponseURL": "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/"
        "arn%3Aaws%3Acloudformation?X-Amz-Signature=SECRET-SIGNATURE",
        "StackId": STACK_ID,
        "RequestId": "unique-request-id",
        "LogicalResourceId": LOGICAL_ID,
        "ResourceType": "Custom::KinesisVideoStreamPoolRetention",
        "ResourceProperties": {
            "ServiceToken": "arn:aws:lambda:us-east-1:111122223333:function:handler",
            "ServiceTimeout": "900",
            **({"RecordVersion": RECORD_VERSION, "StackKey": STACK_KEY} if construct_properties else {}),
            **(
                properties
                if properties is not None
                else {"PoolIdentifier": POOL_NAME, "DataRetentionInHours": "48"}
            ),
        },
    }
    event.update(extra)
    return event


def pool_configuration(hours: int = 24, status: str = "ACTIVE", name: str = POOL_NAME) -> dict:
    return {
        "PoolArn": POOL_ARN.replace(POOL_NAME, name),
        "PoolName": name,
        "PoolId": "7f3c2a1b-0000-4000-8000-000000000001",
        "PoolStatus": status,
        "PoolSize": 20,
        "StreamConfiguration": {"Region": "us-east-1", "DataRetentionInHours": hours},
        "CreatedTimestamp": datetime(2026, 1, 2, 3, 4, 5, tzinfo=UTC),
        "UpdatedTimestamp": datetime(2026, 11, 27, 8, 0, 0, tzinfo=UTC),
    }


class FakeCloudFormation:
    """CloudFormation's API as the handler asks it, in memory; called with a region, it is that region's
    client (StackApi's `client_for`).

    DescribeStackResource answers from `resources` ((stack id, logical id) -> (status, physical id)), or
    the ValidationError CloudFormation gives for a resource it does not know; DescribeStacks answers
    `statuses` (UPDATE_IN_PROGRESS for a stack not there). An error in `failures`, by operation name, is
    raised on every call of that operation. Every call is recorded with its region.
    """

    def __init__(self) -> None:
        self.resources: dict[tuple[str, str], tuple[str, str]] = {}
        self.statuses: dict[str, str] = {}
        self.failures: dict[str, ClientError] = {}
        self.calls: list[tuple[str, str, str]] = []  # (operation, region, stack id)
        self._region = ""

    def __call__(self, region: str) -> FakeCloudFormation:
        self._region = region
        return self

    def declare(
        self, stack_id: str, logical_id: str, physical_id: str, status: str = "CREATE_COMPLETE"
    ) -> None:
        self.resources[(stack_id, logical_id)] = (status, physical_id)

    def describe_stack_resource(self, StackName: str, LogicalResourceId: str) -> dict[str, Any]:
        self._called("DescribeStackResource", StackName)
        found = self.resources.get((StackName, LogicalResourceId))
        if found is None:
            raise client_error(
                "ValidationError", 400, f"Resource {LogicalResourceId} does not exist for stack {StackName}"
            )
        status, physical_id = found
        return {
            "StackResourceDetail": {
                "StackId": StackName,
                "LogicalResourceId": LogicalResourceId,
                "PhysicalResourceId": physical_id,
                "ResourceStatus": status,
            }
        }

    def describe_stacks(self, StackName: str) -> dict[str, Any]:
        self._called("DescribeStacks", StackName)
        return {
            "Stacks": [
                {"StackId": StackName, "StackStatus": self.statuses.get(StackName, "UPDATE_IN_PROGRESS")}
            ]
        }

    def _called(self, operation: str, stack_id: str) -> None:
        self.calls.append((operation, self._region, stack_id))
        if operation in self.failures:
            raise self.failures[operation]


def client_error(code: str, status: int, message: str = "") -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message or code}, "ResponseMetadata": {"HTTPStatusCode": status}},
        "fake",
    )
