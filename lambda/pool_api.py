"""The pool API, as this handler uses it: requests through the invocation's Caller, and their errors
translated into RetentionErrors whose messages name the pool and the IAM action."""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from botocore.exceptions import ClientError
from calls import CONFLICT, DENIED_CODES, Caller, error_code, http_status
from errors import AccessDenied, InvalidRequest, PoolNotFound, RetentionError, ServiceError
from retention_rules import GET_POOL, LIST_TAGS, TAG_POOL, UNTAG_POOL, UPDATE_POOL

if TYPE_CHECKING:
    from mypy_boto3_chime_sdk_media_pipelines import ChimeSDKMediaPipelinesClient


def retention_of(pool: dict[str, Any]) -> int:
    return int(pool["StreamConfiguration"]["DataRetentionInHours"])


@dataclass
class PoolApi:
    client: ChimeSDKMediaPipelinesClient
    caller: Caller
    pool_arn: str = ""  # once a read has named the pool: a FAILED answer names it too
    reads: int = 0

    @property
    def region(self) -> str:
        return str(self.client.meta.region_name)

    def describe(self, identifier: str) -> dict[str, Any]:
        """The pool's configuration. A retention the answer leaves out (it is optional in the service
        model) reads as 0 h, the service's own default for a pool created without one."""
        answer = self._request(
            "read",
            GET_POOL,
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

    def update(self, identifier: str, hours: int, *, conflict_is_refusal: bool = False) -> bool:
        """Ask for the new retention; False when the pool is busy with another change (ConflictException),
        unless a conflict is known to be a refusal: then it is retried at the invocation's pace."""
        try:
            self.caller.call(
                "update",
                f"pool {identifier}",
                lambda: self.client.update_media_pipeline_kinesis_video_stream_pool(
                    Identifier=identifier, StreamConfiguration={"DataRetentionInHours": hours}
                ),
                refusals=frozenset({CONFLICT}) if conflict_is_refusal else frozenset(),
            )
        except ClientError as error:
            if error_code(error) != CONFLICT:
                raise translate(error, identifier, UPDATE_POOL, self.region) from None
            return False
        return True

    def tags(self, pool_arn: str, *, named: str = "") -> dict[str, str]:
        """The pool's tags; errors name the pool as `named` (the identifier as declared) when given."""
        answer = self._request(
            "list the tags of",
            LIST_TAGS,
            named or pool_arn,
            lambda: self.client.list_tags_for_resource(ResourceARN=pool_arn),
        )
        return {tag["Key"]: tag["Value"] for tag in answer.get("Tags", [])}

    def tag(self, pool_arn: str, tags: dict[str, str]) -> None:
        self._request(
            "tag",
            TAG_POOL,
            pool_arn,
            lambda: self.client.tag_resource(
                ResourceARN=pool_arn, Tags=[{"Key": key, "Value": value} for key, value in tags.items()]
            ),
        )

    def untag(self, pool_arn: str, keys: list[str]) -> None:
        if keys:
            self._request(
                "untag",
                UNTAG_POOL,
                pool_arn,
                lambda: self.client.untag_resource(ResourceARN=pool_arn, TagKeys=keys),
            )

    def _request(self, verb: str, action: str, identifier: str, request: Any) -> Any:
        try:
            return self.caller.call(verb, f"pool {identifier}", request)
        except ClientError as error:
            raise translate(error, identifier, action, self.region) from None


def translate(error: ClientError, identifier: str, action: str, region: str) -> RetentionError:
    code = error_code(error)
    message = error.response.get("Error", {}).get("Message", "") or code or f"HTTP {http_status(error)}"
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
