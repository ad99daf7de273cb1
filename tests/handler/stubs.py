"""Stubber set-ups shared by the handler tests: the API's method names, tag listings and record writes."""

from __future__ import annotations

from botocore.stub import Stubber
from pool_record import ORIGINAL, OWNER, OWNER_HOURS, OWNER_STACK, RECORD_KEYS

from tests.fakes import STACK_ID, pool_configuration

GET = "get_media_pipeline_kinesis_video_stream_pool"
UPDATE = "update_media_pipeline_kinesis_video_stream_pool"
LOGICAL_ID = "Pool0B9733A61"  # the fake events' resource


def record(original: int = 24, owner_hours: int = 48, logical_id: str = LOGICAL_ID) -> dict[str, str]:
    """The tags of a record the fake events' resource owns."""
    return {ORIGINAL: str(original), OWNER_STACK: STACK_ID, OWNER: logical_id, OWNER_HOURS: str(owner_hours)}


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


def expect_untagging(stubber: Stubber, arn: str, keys: list[str] | None = None) -> None:
    stubber.add_response("untag_resource", {}, {"ResourceARN": arn, "TagKeys": keys or list(RECORD_KEYS[:4])})


def expect_restore(stubber: Stubber, arn: str, current: int, original: int) -> None:
    """The calls of the owner's restore: tags, read, update back to `original`, read until ACTIVE, untag."""
    expect_tags(stubber, arn, record(original=original, owner_hours=current))
    stubber.add_response(
        GET, {"KinesisVideoStreamPoolConfiguration": pool_configuration(current)}, {"Identifier": arn}
    )
    stubber.add_response(
        UPDATE,
        {"KinesisVideoStreamPoolConfiguration": pool_configuration(original, "UPDATING")},
        {"Identifier": arn, "StreamConfiguration": {"DataRetentionInHours": original}},
    )
    stubber.add_response(
        GET, {"KinesisVideoStreamPoolConfiguration": pool_configuration(original)}, {"Identifier": arn}
    )
    expect_untagging(stubber, arn)
