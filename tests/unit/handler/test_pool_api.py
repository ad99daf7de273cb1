"""PoolApi against botocore's Stubber, which checks every request against the real service model: what
each request asks, and its errors as the Reasons a person reads."""

from __future__ import annotations

from collections.abc import Iterator

import boto3
import pytest
from botocore.stub import Stubber
from calls import Caller, Deadline
from errors import AccessDenied, InvalidRequest, PoolNotFound, ServiceError
from pool_api import PoolApi

from tests.fakes import POOL_ARN, POOL_NAME, FakeClock, pool_configuration
from tests.unit.handler.stubs import GET, UPDATE, expect_error, expect_get, expect_tags, expect_update


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def stubbed(clock) -> Iterator[tuple[PoolApi, Stubber]]:
    client = boto3.client("chime-sdk-media-pipelines", region_name="eu-west-2")
    with Stubber(client) as stubber:
        yield PoolApi(client, Caller(Deadline(300, clock=clock, sleep=clock.sleep))), stubber
        stubber.assert_no_pending_responses()


def test_a_read_returns_the_configuration_and_remembers_the_pools_arn(stubbed):
    api, stubber = stubbed
    expect_get(stubber, 48)

    pool = api.describe(POOL_NAME)

    assert pool["StreamConfiguration"]["DataRetentionInHours"] == 48
    assert api.pool_arn == POOL_ARN  # a FAILED answer after this names the pool by it
    assert api.reads == 1


def test_a_retention_the_answer_leaves_out_reads_as_zero_hours(stubbed):
    api, stubber = stubbed
    configuration = pool_configuration(24)
    del configuration["StreamConfiguration"]["DataRetentionInHours"]  # optional in the service model
    stubber.add_response(
        GET, {"KinesisVideoStreamPoolConfiguration": configuration}, {"Identifier": POOL_NAME}
    )

    assert api.describe(POOL_NAME)["StreamConfiguration"]["DataRetentionInHours"] == 0


def test_an_update_asks_for_the_retention_and_says_it_was_accepted(stubbed):
    api, stubber = stubbed
    expect_update(stubber, 48)

    assert api.update(POOL_NAME, 48) is True


def test_an_update_of_a_busy_pool_says_so_instead_of_failing(stubbed):
    api, stubber = stubbed
    expect_error(stubber, UPDATE, "ConflictException", 409)

    assert api.update(POOL_NAME, 48) is False


def test_a_missing_pool_is_named_with_its_region(stubbed):
    api, stubber = stubbed
    expect_error(stubber, GET, "NotFoundException", 404)

    with pytest.raises(PoolNotFound, match=f"^Pool {POOL_NAME} was not found in region eu-west-2"):
        api.describe(POOL_NAME)


@pytest.mark.parametrize(
    ("method", "action", "request_of"),
    [
        (GET, "chime:GetMediaPipelineKinesisVideoStreamPool", lambda api: api.describe(POOL_NAME)),
        (UPDATE, "chime:UpdateMediaPipelineKinesisVideoStreamPool", lambda api: api.update(POOL_NAME, 48)),
        ("list_tags_for_resource", "chime:ListTagsForResource", lambda api: api.tags(POOL_ARN)),
        ("tag_resource", "chime:TagResource", lambda api: api.tag(POOL_ARN, {"k": "v"})),
        ("untag_resource", "chime:UntagResource", lambda api: api.untag(POOL_ARN, ["k"])),
    ],
    ids=["read", "update", "list-tags", "tag", "untag"],
)
def test_a_lasting_denial_names_the_action_to_grant(stubbed, clock, method, action, request_of):
    api, stubber = stubbed
    for _ in range(5):  # the first try and four more within IAM's propagation window
        expect_error(stubber, method, "ForbiddenException", 403)

    with pytest.raises(AccessDenied, match=r"^Access denied to " + action + " on pool ") as denied:
        request_of(api)

    assert denied.value.action == action
    assert "grant the handler's role that action on the pool's ARN" in str(denied.value)
    assert sum(clock.sleeps) == 10.0


def test_a_request_the_service_rejects_says_what_it_answered(stubbed):
    api, stubber = stubbed
    expect_error(stubber, "tag_resource", "BadRequestException", 400, "A resource can have at most 50 tags")

    with pytest.raises(
        InvalidRequest, match=f"rejected the request for pool {POOL_ARN}: A resource can have"
    ):
        api.tag(POOL_ARN, {"k": "v"})


def test_an_error_with_no_remedy_is_a_service_error_naming_its_code(stubbed):
    api, stubber = stubbed
    expect_error(stubber, GET, "ResourceLimitExceededException", 400, "too many")

    with pytest.raises(ServiceError, match=f"failed a request for pool {POOL_NAME}: ResourceLimitExceeded"):
        api.describe(POOL_NAME)


def test_tags_are_read_as_a_mapping_and_a_pool_without_tags_has_none(stubbed):
    api, stubber = stubbed
    expect_tags(stubber, POOL_ARN, {"team": "media"})
    expect_tags(stubber, POOL_ARN, {})

    assert api.tags(POOL_ARN) == {"team": "media"}
    assert api.tags(POOL_ARN) == {}


def test_untagging_nothing_makes_no_request(stubbed):
    api, _ = stubbed

    api.untag(POOL_ARN, [])  # the Stubber has nothing queued: a request would fail the test
