"""In-memory fakes of what the handler calls, for the randomized test of the invariant: one pool's API and
CloudFormation's DescribeStackResource and DescribeStacks, answering as FACTS.md says the services do.

The model (test_invariant.py) owns the state of the stacks and drives CloudFormation's phases; these fakes
only answer the handler's requests from that state, refuse what the model tells them to refuse, and keep a
log of every retention the handler set, with the event that set it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from botocore.exceptions import ClientError

ACCOUNT = "111122223333"
REGION = "us-east-1"
POOL_NAME = "meeting-audio"
POOL_ARN = f"arn:aws:chime:{REGION}:{ACCOUNT}:media-pipeline-kinesis-video-stream-pool/{POOL_NAME}"

# What a refusal looks like, by API: (error code, HTTP status).
POOL_REFUSALS = {"AccessDenied": ("ForbiddenException", 403), "Throttling": ("ThrottledClientException", 429)}
STACK_REFUSALS = {"AccessDenied": ("AccessDenied", 403), "Throttling": ("Throttling", 400)}
POOL_OPERATIONS = ("get", "update", "list_tags", "tag", "untag")
STACK_OPERATIONS = ("describe_stack_resource", "describe_stacks")


def client_error(code: str, status: int, message: str, operation: str) -> ClientError:
    return ClientError(
        {"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}},
        operation,
    )


@dataclass(frozen=True)
class Refusal:
    """One operation refused for a whole step, with AccessDenied or throttling."""

    operation: str
    kind: str  # "AccessDenied" or "Throttling"

    def error(self) -> ClientError:
        table = POOL_REFUSALS if self.operation in POOL_OPERATIONS else STACK_REFUSALS
        code, status = table[self.kind]
        return client_error(code, status, f"{self.operation} refused by the model", self.operation)


@dataclass(frozen=True)
class Write:
    """A retention set on the pool: by the handler (`event` names the event) or by another writer."""

    hours: int
    event: str


@dataclass
class FakePool:
    """One pool: retention, status, tags. An update settles at once, or after one read that says UPDATING."""

    hours: int
    settles_after_read: bool = False
    status: str = "ACTIVE"
    tags: dict[str, str] = field(default_factory=dict)
    writes: list[Write] = field(default_factory=list)


class FakeMeta:
    region_name = REGION


class FakePoolClient:
    """The four pool API operations the handler uses, botocore's method names and error shapes."""

    meta = FakeMeta()

    def __init__(self, pool: FakePool) -> None:
        self.pool = pool
        self.refusal: Refusal | None = None
        self.event = ""  # the event the handler is serving, for the write log

    def _refuse(self, operation: str) -> None:
        if self.refusal is not None and self.refusal.operation == operation:
            raise self.refusal.error()

    def _check(self, identifier: str, operation: str) -> None:
        if identifier not in (POOL_NAME, POOL_ARN):
            raise client_error("NotFoundException", 404, f"{identifier} not found", operation)

    def get_media_pipeline_kinesis_video_stream_pool(self, *, Identifier: str) -> dict[str, Any]:
        self._refuse("get")
        self._check(Identifier, "GetMediaPipelineKinesisVideoStreamPool")
        pool = self.pool
        status = pool.status
        if status == "UPDATING":
            pool.status = "ACTIVE"  # the next read finds it settled
        return {
            "KinesisVideoStreamPoolConfiguration": {
                "PoolArn": POOL_ARN,
                "PoolName": POOL_NAME,
                "PoolId": "7f3c2a1b-0000-4000-8000-000000000001",
                "PoolStatus": status,
                "PoolSize": 20,
                "StreamConfiguration": {"Region": REGION, "DataRetentionInHours": pool.hours},
            }
        }

    def update_media_pipeline_kinesis_video_stream_pool(
        self,
        *,
        Identifier: str,
        StreamConfiguration: dict[str, int],
    ) -> dict[str, Any]:
        self._refuse("update")
        self._check(Identifier, "UpdateMediaPipelineKinesisVideoStreamPool")
        if self.pool.status != "ACTIVE":
            raise client_error(
                "ConflictException", 409, "pool is busy", "UpdateMediaPipelineKinesisVideoStreamPool"
            )
        hours = StreamConfiguration["DataRetentionInHours"]
        assert hours >= 1, "botocore refuses a retention update below 1 h client-side"
        self.pool.hours = hours
        self.pool.writes.append(Write(hours, self.event))
        if self.pool.settles_after_read:
            self.pool.status = "UPDATING"
        return {"KinesisVideoStreamPoolConfiguration": {"PoolArn": POOL_ARN, "PoolStatus": self.pool.status}}

    def list_tags_for_resource(self, *, ResourceARN: str) -> dict[str, Any]:
        self._refuse("list_tags")
        self._check(ResourceARN, "ListTagsForResource")
        return {"Tags": [{"Key": key, "Value": value} for key, value in sorted(self.pool.tags.items())]}

    def tag_resource(self, *, ResourceARN: str, Tags: list[dict[str, str]]) -> dict[str, Any]:
        self._refuse("tag")
        self._check(ResourceARN, "TagResource")
        assert len(Tags) <= 200
        for tag in Tags:
            assert 1 <= len(tag["Key"]) <= 128, f"tag key out of limits: {tag}"
            assert 1 <= len(tag["Value"]) <= 256, f"tag value out of limits (never empty): {tag}"
            self.pool.tags[tag["Key"]] = tag["Value"]
        return {}

    def untag_resource(self, *, ResourceARN: str, TagKeys: list[str]) -> dict[str, Any]:
        self._refuse("untag")
        self._check(ResourceARN, "UntagResource")
        for key in TagKeys:
            self.pool.tags.pop(key, None)
        return {}


@dataclass
class StackResource:
    """A resource as CloudFormation describes it."""

    logical_id: str
    hours: int
    restores: bool
    status: str  # CREATE_IN_PROGRESS, CREATE_COMPLETE, UPDATE_COMPLETE, DELETE_IN_PROGRESS, ...
    physical_id: str = ""
    prior: int | None = None  # the pool's retention just before its Create (the model's own bookkeeping)


@dataclass
class Stack:
    """One stack instance, addressed by its id; a stack deleted and created again is a new instance."""

    stack_id: str
    status: str
    resources: dict[str, StackResource] = field(default_factory=dict)

    @property
    def deleted(self) -> bool:
        return self.status in ("DELETE_COMPLETE", "ROLLBACK_COMPLETE")


class FakeCloudFormation:
    """DescribeStackResource and DescribeStacks over the model's stacks (every instance ever created)."""

    def __init__(self) -> None:
        self.stacks: dict[str, Stack] = {}
        self.refusal: Refusal | None = None

    def _refuse(self, operation: str) -> None:
        if self.refusal is not None and self.refusal.operation == operation:
            raise self.refusal.error()

    def _stack(self, stack_id: str, operation: str) -> Stack:
        stack = self.stacks.get(stack_id)
        if stack is None:
            raise client_error("ValidationError", 400, f"Stack with id {stack_id} does not exist", operation)
        return stack

    def describe_stack_resource(self, *, StackName: str, LogicalResourceId: str) -> dict[str, Any]:
        self._refuse("describe_stack_resource")
        stack = self._stack(StackName, "DescribeStackResource")
        resource = stack.resources.get(LogicalResourceId)
        if resource is None:
            raise client_error(
                "ValidationError",
                400,
                f"Resource {LogicalResourceId} does not exist for stack {StackName}",
                "DescribeStackResource",
            )
        detail: dict[str, Any] = {
            "StackId": stack.stack_id,
            "LogicalResourceId": resource.logical_id,
            "ResourceType": "Custom::KinesisVideoStreamPoolRetention",
            "ResourceStatus": resource.status,
        }
        if resource.physical_id:
            detail["PhysicalResourceId"] = resource.physical_id
        return {"StackResourceDetail": detail}

    def describe_stacks(self, *, StackName: str) -> dict[str, Any]:
        self._refuse("describe_stacks")
        stack = self._stack(StackName, "DescribeStacks")
        return {"Stacks": [{"StackId": stack.stack_id, "StackName": StackName, "StackStatus": stack.status}]}
