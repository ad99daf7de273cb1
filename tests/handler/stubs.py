"""Stubber set-ups shared by the handler tests: the API's method names and the restore sequence."""

from __future__ import annotations

from botocore.stub import Stubber
from pool_retention import ORIGINAL_RETENTION_TAG

from tests.fakes import pool_configuration

GET = "get_media_pipeline_kinesis_video_stream_pool"
UPDATE = "update_media_pipeline_kinesis_video_stream_pool"


def expect_tags(stubber: Stubber, arn: str, tags: dict[str, str]) -> None:
    # The service model wants at least one tag in a Tags list: a pool without tags answers without one.
    answer = {"Tags": [{"Key": key, "Value": value} for key, value in tags.items()]} if tags else {}
    stubber.add_response("list_tags_for_resource", answer, {"ResourceARN": arn})


def expect_restore(stubber: Stubber, arn: str, current: int, original: int) -> None:
    """The calls of a restore: tags, read, update back to `original`, read until ACTIVE, untag."""
    expect_tags(stubber, arn, {ORIGINAL_RETENTION_TAG: str(original)})
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
    stubber.add_response("untag_resource", {}, {"ResourceARN": arn, "TagKeys": [ORIGINAL_RETENTION_TAG]})
