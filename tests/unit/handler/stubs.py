"""Stubber set-ups shared by the handler tests: the API's method names, pool answers, tag listings and
the record's tags as the handler writes them."""

from __future__ import annotations

from botocore.stub import Stubber
from declarations import Declaration, Resource, declaration_tags
from retention_rules import ORIGINAL_TAG

from tests.fakes import LOGICAL_ID, POOL_NAME, STACK_ID, STACK_KEY, pool_configuration

GET = "get_media_pipeline_kinesis_video_stream_pool"
UPDATE = "update_media_pipeline_kinesis_video_stream_pool"
RESOURCE = Resource(STACK_ID, LOGICAL_ID)  # the fake events' resource


def declared(
    hours: int,
    *,
    restores: bool = False,
    prior: int | None = None,
    resource: Resource = RESOURCE,
    key: str = STACK_KEY,
    original: int | None = None,
) -> dict[str, str]:
    """The tags that record `resource`'s declaration (its anchor, itself) and, when given, the original,
    in the order the handler writes them."""
    tags = declaration_tags(Declaration(resource, hours, restores, hours if prior is None else prior, key))
    if original is not None:
        tags[ORIGINAL_TAG] = str(original)
    return tags


def expect_get(
    stubber: Stubber,
    hours: int,
    status: str = "ACTIVE",
    *,
    identifier: str = POOL_NAME,
    name: str = POOL_NAME,
) -> None:
    stubber.add_response(
        GET,
        {"KinesisVideoStreamPoolConfiguration": pool_configuration(hours, status, name=name)},
        {"Identifier": identifier},
    )


def expect_update(stubber: Stubber, hours: int, *, identifier: str = POOL_NAME) -> None:
    stubber.add_response(
        UPDATE,
        {"KinesisVideoStreamPoolConfiguration": pool_configuration(hours, "UPDATING")},
        {"Identifier": identifier, "StreamConfiguration": {"DataRetentionInHours": hours}},
    )


def expect_error(stubber: Stubber, method: str, code: str, status: int, message: str = "") -> None:
    stubber.add_client_error(
        method, service_error_code=code, service_message=message or f"{code} message", http_status_code=status
    )


def expect_tags(stubber: Stubber, arn: str, tags: dict[str, str]) -> None:
    # The service model wants at least one tag in a Tags list: a pool without tags answers without one.
    answer = {"Tags": [{"Key": key, "Value": value} for key, value in tags.items()]} if tags else {}
    stubber.add_response("list_tags_for_resource", answer, {"ResourceARN": arn})


def expect_tagging(stubber: Stubber, arn: str, tags: dict[str, str]) -> None:
    stubber.add_response(
        "tag_resource",
        {},
        {"ResourceARN": arn, "Tags": [{"Key": key, "Value": value} for key, value in tags.items()]},
    )


def expect_untagging(stubber: Stubber, arn: str, keys: list[str]) -> None:
    stubber.add_response("untag_resource", {}, {"ResourceARN": arn, "TagKeys": keys})
