"""The pool API stand-in's authorization through IAM, its extra credentials and its new faults, seen by a
real boto3 client over HTTP."""

from __future__ import annotations

import time
from collections.abc import Iterator

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.standins.iam import IamStore, Session
from tests.standins.pool_api import ACCOUNT, PoolApi, serve_pool_api

GET = "chime:GetMediaPipelineKinesisVideoStreamPool"
UPDATE = "chime:UpdateMediaPipelineKinesisVideoStreamPool"
POOLS = f"arn:aws:chime:us-east-1:{ACCOUNT}:media-pipeline-kinesis-video-stream-pool"
TAG = "kvs-pool-retention:original-retention-hours"


@pytest.fixture
def pool_api() -> Iterator[PoolApi]:
    with serve_pool_api() as api:
        yield api


@pytest.fixture
def iam(pool_api: PoolApi) -> IamStore:
    store = IamStore(ACCOUNT)
    pool_api.authorizer = store.authorize
    return store


def session_with(iam: IamStore, pool_api: PoolApi, *statements: dict) -> Session:
    role = iam.put_role("retention-handler")
    iam.put_role_policy(
        "retention-handler", "pools", {"Version": "2012-10-17", "Statement": list(statements)}
    )
    session = iam.issue_credentials(role, "retention-function")
    pool_api.credentials[session.access_key] = session.secret_key
    return session


def client(pool_api: PoolApi, access_key: str, secret_key: str, region: str = "us-east-1"):
    return boto3.client(
        "chime-sdk-media-pipelines",
        endpoint_url=pool_api.url,
        region_name=region,
        aws_access_key_id=access_key,
        aws_secret_access_key=secret_key,
        config=Config(retries={"total_max_attempts": 1}),
    )


def error_of(call) -> ClientError:
    with pytest.raises(ClientError) as raised:
        call()
    return raised.value


def test_a_granted_pool_is_served_and_another_refused_in_aws_words(pool_api, iam):
    pool_api.add_pool("meeting-audio")
    pool_api.add_pool("support-audio")
    session = session_with(
        iam, pool_api, {"Effect": "Allow", "Action": GET, "Resource": f"{POOLS}/meeting-audio"}
    )
    chime = client(pool_api, session.access_key, session.secret_key)

    chime.get_media_pipeline_kinesis_video_stream_pool(Identifier="meeting-audio")
    error = error_of(lambda: chime.get_media_pipeline_kinesis_video_stream_pool(Identifier="support-audio"))

    assert error.response["Error"]["Code"] == "AccessDeniedException"
    assert error.response["ResponseMetadata"]["HTTPStatusCode"] == 403
    assert error.response["Error"]["Message"] == (
        f"User: arn:aws:sts::{ACCOUNT}:assumed-role/retention-handler/retention-function is not authorized "
        f"to perform: {GET} on resource: {POOLS}/support-audio because no identity-based policy allows the "
        f"{GET} action"
    )
    assert [(call.identifier, call.answered) for call in pool_api.calls] == [
        ("meeting-audio", 200),
        ("support-audio", 403),
    ]


def test_a_missing_pool_is_authorized_by_the_arn_its_name_makes_in_the_requests_region(pool_api, iam):
    eu_pools = POOLS.replace("us-east-1", "eu-west-2")
    session = session_with(iam, pool_api, {"Effect": "Allow", "Action": GET, "Resource": f"{eu_pools}/gone"})

    in_eu = error_of(
        lambda: client(
            pool_api, session.access_key, session.secret_key, "eu-west-2"
        ).get_media_pipeline_kinesis_video_stream_pool(Identifier="gone")
    )
    in_us = error_of(
        lambda: client(
            pool_api, session.access_key, session.secret_key
        ).get_media_pipeline_kinesis_video_stream_pool(Identifier="gone")
    )

    assert in_eu.response["Error"]["Code"] == "NotFoundException"  # authorized first, then not found
    assert in_us.response["Error"]["Code"] == "AccessDeniedException"


def test_resource_tags_are_read_at_the_time_of_the_request(pool_api, iam):
    pool = pool_api.add_pool("meeting-audio")
    session = session_with(
        iam,
        pool_api,
        {
            "Effect": "Allow",
            "Action": UPDATE,
            "Resource": "*",
            "Condition": {"StringEquals": {"aws:ResourceTag/managed-by": "kvs-pool-retention"}},
        },
    )
    chime = client(pool_api, session.access_key, session.secret_key)

    def update() -> None:
        chime.update_media_pipeline_kinesis_video_stream_pool(
            Identifier="meeting-audio", StreamConfiguration={"DataRetentionInHours": 48}
        )

    before = error_of(update)
    pool.tags["managed-by"] = "kvs-pool-retention"
    update()

    assert before.response["Error"]["Code"] == "AccessDeniedException"
    assert pool.retention == 48


def test_tagging_is_authorized_by_the_requests_tag_keys_and_values(pool_api, iam):
    pool_api.add_pool("meeting-audio")
    session = session_with(
        iam,
        pool_api,
        {
            "Effect": "Allow",
            "Action": ["chime:TagResource", "chime:UntagResource"],
            "Resource": "*",
            "Condition": {"ForAllValues:StringEquals": {"aws:TagKeys": [TAG]}},
        },
        {
            "Effect": "Deny",
            "Action": "chime:TagResource",
            "Resource": "*",
            "Condition": {"StringEquals": {f"aws:RequestTag/{TAG}": "0"}},
        },
    )
    chime = client(pool_api, session.access_key, session.secret_key)
    arn = f"{POOLS}/meeting-audio"

    chime.tag_resource(ResourceARN=arn, Tags=[{"Key": TAG, "Value": "24"}])
    other_key = error_of(lambda: chime.tag_resource(ResourceARN=arn, Tags=[{"Key": "team", "Value": "a"}]))
    denied_value = error_of(lambda: chime.tag_resource(ResourceARN=arn, Tags=[{"Key": TAG, "Value": "0"}]))
    chime.untag_resource(ResourceARN=arn, TagKeys=[TAG])
    untag_other = error_of(lambda: chime.untag_resource(ResourceARN=arn, TagKeys=["team"]))

    assert [error.response["Error"]["Code"] for error in (other_key, denied_value, untag_other)] == [
        "AccessDeniedException"
    ] * 3
    assert "explicit deny" in denied_value.response["Error"]["Message"]
    assert pool_api.pools["meeting-audio"].tags == {}


def test_a_grant_made_just_now_is_refused_until_it_propagates(pool_api, iam):
    pool_api.add_pool("meeting-audio")
    iam.propagation_seconds = 0.6
    session = session_with(iam, pool_api, {"Effect": "Allow", "Action": GET, "Resource": "*"})
    chime = client(pool_api, session.access_key, session.secret_key)

    refused = error_of(lambda: chime.get_media_pipeline_kinesis_video_stream_pool(Identifier="meeting-audio"))
    time.sleep(0.7)
    chime.get_media_pipeline_kinesis_video_stream_pool(Identifier="meeting-audio")

    assert refused.response["Error"]["Code"] == "AccessDeniedException"


def test_without_an_authorizer_every_signed_request_is_served(pool_api):
    pool_api.add_pool("meeting-audio")
    pool_api.credentials["AKIDSECONDPAIR"] = "second-secret"

    answer = client(pool_api, "AKIDSECONDPAIR", "second-secret").get_media_pipeline_kinesis_video_stream_pool(
        Identifier="meeting-audio"
    )

    assert answer["KinesisVideoStreamPoolConfiguration"]["PoolName"] == "meeting-audio"
    assert pool_api.calls[0].caller == "AKIDSECONDPAIR"


def test_a_wrong_secret_is_refused_whatever_the_policies(pool_api):
    pool_api.add_pool("meeting-audio")
    pool_api.credentials["AKIDSECONDPAIR"] = "second-secret"

    error = error_of(
        lambda: client(pool_api, "AKIDSECONDPAIR", "guessed").get_media_pipeline_kinesis_video_stream_pool(
            Identifier="meeting-audio"
        )
    )

    assert error.response["Error"]["Code"] == "UnauthorizedClientException"
    assert pool_api.calls == []


# Faults -----------------------------------------------------------------------------------------------------


@pytest.fixture
def chime(pool_api):
    return client(pool_api, "AKIDLOCALSTANDIN", "local-stand-in-secret")


@pytest.mark.parametrize(("status", "body"), [(429, "Too Many Requests"), (502, "Bad Gateway")])
def test_a_bare_error_has_no_error_type_and_a_plain_body(pool_api, chime, status, body):
    pool_api.add_pool("meeting-audio")
    pool_api.fail("GET", status=status)

    error = error_of(lambda: chime.get_media_pipeline_kinesis_video_stream_pool(Identifier="meeting-audio"))

    assert error.response["Error"]["Code"] == str(status)  # botocore's code when the service names none
    assert error.response["ResponseMetadata"]["HTTPHeaders"]["content-type"] == "text/plain"
    assert "x-amzn-errortype" not in error.response["ResponseMetadata"]["HTTPHeaders"]
    assert error.response["Error"]["Message"] == body


def test_tag_calls_take_injected_faults_too(pool_api, chime):
    pool_api.add_pool("meeting-audio")
    pool_api.fail("list-tags", "ServiceUnavailableException", 503)

    error = error_of(lambda: chime.list_tags_for_resource(ResourceARN=f"{POOLS}/meeting-audio"))

    assert error.response["Error"]["Code"] == "ServiceUnavailableException"
    assert chime.list_tags_for_resource(ResourceARN=f"{POOLS}/meeting-audio")["Tags"] == []


def test_a_pool_without_a_retention_answers_without_the_field(pool_api, chime):
    pool_api.add_pool("meeting-audio", retention=None)

    answer = chime.get_media_pipeline_kinesis_video_stream_pool(Identifier="meeting-audio")

    assert answer["KinesisVideoStreamPoolConfiguration"]["StreamConfiguration"] == {"Region": "us-east-1"}


def test_another_writer_sets_its_retention_when_the_transition_settles_once(pool_api, chime):
    pool = pool_api.add_pool("meeting-audio", retention=24, settles_with_retention=72)
    pool_api.transition_seconds = 0.2

    chime.update_media_pipeline_kinesis_video_stream_pool(
        Identifier="meeting-audio", StreamConfiguration={"DataRetentionInHours": 48}
    )
    while_updating = chime.get_media_pipeline_kinesis_video_stream_pool(Identifier="meeting-audio")
    time.sleep(0.3)
    settled = chime.get_media_pipeline_kinesis_video_stream_pool(Identifier="meeting-audio")
    chime.update_media_pipeline_kinesis_video_stream_pool(
        Identifier="meeting-audio", StreamConfiguration={"DataRetentionInHours": 48}
    )
    time.sleep(0.3)
    again = chime.get_media_pipeline_kinesis_video_stream_pool(Identifier="meeting-audio")

    def hours(answer: dict) -> int:
        return answer["KinesisVideoStreamPoolConfiguration"]["StreamConfiguration"]["DataRetentionInHours"]

    assert [hours(while_updating), hours(settled), hours(again)] == [48, 72, 48]
    assert pool.settles_with_retention is None
