"""What the handler asks CloudFormation, against botocore's Stubber: whether a declaration's resource is
live (DescribeStackResource, in its stack's region), and whether its own stack is rolling back."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime

import boto3
import pytest
from botocore.stub import Stubber
from calls import Caller, Deadline
from decision import Liveness
from declarations import Declaration, Resource
from stack_api import StackApi

from tests.fakes import POOL_ARN, STACK_ID, FakeClock

ACCOUNT = "111122223333"
OTHER_STACK = f"arn:aws:cloudformation:eu-west-1:{ACCOUNT}:stack/Audio/5f6a7b8c"
OTHER = Declaration(Resource(OTHER_STACK, "Meeting"), 72, False, 24, "0123456789abcdef")


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


class Stacks:
    """A stubbed CloudFormation client per region, created as the handler asks for one."""

    def __init__(self) -> None:
        self.regions: list[str] = []
        self.client = boto3.client("cloudformation", region_name="eu-west-1")
        self.stub = Stubber(self.client)

    def __call__(self, region: str):  # StackApi's client_for
        self.regions.append(region)
        return self.client


@pytest.fixture
def stacks() -> Iterator[Stacks]:
    fake = Stacks()
    with fake.stub:
        yield fake
        fake.stub.assert_no_pending_responses()


def stack_api(
    stacks: Stacks, clock: FakeClock, seconds: float = 300, account: str | None = ACCOUNT
) -> StackApi:
    return StackApi(stacks, Caller(Deadline(seconds, clock=clock, sleep=clock.sleep)), account)


def expect_resource(stacks: Stacks, status: str, physical_id: str = POOL_ARN) -> None:
    stacks.stub.add_response(
        "describe_stack_resource",
        {
            "StackResourceDetail": {
                "StackId": OTHER_STACK,
                "LogicalResourceId": "Meeting",
                "PhysicalResourceId": physical_id,
                "ResourceType": "Custom::KinesisVideoStreamPoolRetention",
                "LastUpdatedTimestamp": datetime(2026, 11, 30, tzinfo=UTC),
                "ResourceStatus": status,
            }
        },
        {"StackName": OTHER_STACK, "LogicalResourceId": "Meeting"},
    )


def expect_failure(stacks: Stacks, method: str, code: str, status: int = 400, message: str = "") -> None:
    stacks.stub.add_client_error(
        method, service_error_code=code, service_message=message or code, http_status_code=status
    )


@pytest.mark.parametrize(
    ("status", "liveness"),
    [
        ("CREATE_COMPLETE", Liveness.LIVE),
        ("CREATE_IN_PROGRESS", Liveness.LIVE),
        ("UPDATE_COMPLETE", Liveness.LIVE),
        ("DELETE_FAILED", Liveness.LIVE),
        ("DELETE_IN_PROGRESS", Liveness.LEAVING),
        ("DELETE_COMPLETE", Liveness.GONE),
        ("DELETE_SKIPPED", Liveness.GONE),
    ],
)
def test_the_resources_status_tells_its_liveness(stacks, clock, status, liveness):
    expect_resource(stacks, status)

    assert stack_api(stacks, clock).liveness(OTHER, POOL_ARN).liveness is liveness


@pytest.mark.parametrize(
    "message",
    [
        f"Stack with id {OTHER_STACK} does not exist",
        f"Resource Meeting does not exist for stack {OTHER_STACK}",
    ],
    ids=["stack-gone", "resource-not-in-stack"],
)
def test_a_validation_error_is_gone(stacks, clock, message):
    expect_failure(stacks, "describe_stack_resource", "ValidationError", message=message)

    assert stack_api(stacks, clock).liveness(OTHER, POOL_ARN).liveness is Liveness.GONE


@pytest.mark.parametrize(
    ("stack_status", "liveness"),
    [
        ("UPDATE_COMPLETE", Liveness.GONE),
        ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", Liveness.LIVE),
        ("UPDATE_IN_PROGRESS", Liveness.LIVE),
    ],
)
def test_a_resource_now_naming_another_pool_declares_this_one_until_its_stack_is_done(
    stacks, clock, stack_status, liveness
):
    """A move keeps the logical id: the resource exists, for another pool; until its stack's operation ends
    the move may still roll back, and its stack's cleanup withdraws it from this pool."""
    expect_resource(stacks, "UPDATE_COMPLETE", physical_id=POOL_ARN.replace("meeting-audio", "other-pool"))
    stacks.stub.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {"StackName": "Audio", "CreationTime": "2026-11-30T00:00:00Z", "StackStatus": stack_status}
            ]
        },
        {"StackName": OTHER.resource.stack_id},
    )

    assert stack_api(stacks, clock).liveness(OTHER, POOL_ARN).liveness is liveness


def test_a_resource_whose_create_failed_before_reading_the_pool_is_live(stacks, clock):
    """crhelper's made-up physical id names no pool: it may still declare this one."""
    expect_resource(stacks, "CREATE_IN_PROGRESS", physical_id="Audio_Meeting_ABCDEFGH")

    assert stack_api(stacks, clock).liveness(OTHER, POOL_ARN).liveness is Liveness.LIVE


def test_a_denial_is_unknown_never_gone_and_says_which_action(stacks, clock):
    for _ in range(5):  # retried for 10 s, as a grant of the same deployment may take seconds to apply
        expect_failure(stacks, "describe_stack_resource", "AccessDenied", 403)

    known = stack_api(stacks, clock).liveness(OTHER, POOL_ARN)

    assert known.liveness is Liveness.UNKNOWN
    assert known.why == "cloudformation:DescribeStackResource denied"


def test_throttling_past_the_deadline_is_unknown_never_gone(stacks, clock):
    for _ in range(20):
        expect_failure(stacks, "describe_stack_resource", "Throttling")

    known = stack_api(stacks, clock, seconds=30).liveness(OTHER, POOL_ARN)

    assert known.liveness is Liveness.UNKNOWN
    assert "kept throttling until time ran out" in known.why
    assert clock.now <= 30
    stacks.stub._queue.clear()  # type: ignore[attr-defined]


def test_throttling_is_retried_at_the_invocations_shared_pace(stacks, clock):
    expect_failure(stacks, "describe_stack_resource", "Throttling")
    expect_resource(stacks, "CREATE_COMPLETE")
    api = stack_api(stacks, clock)

    assert api.liveness(OTHER, POOL_ARN).liveness is Liveness.LIVE

    assert clock.sleeps[0] >= 1.5  # the Caller's gap after a refusal, as for a pool request
    assert (api.caller.pacing.requests, api.caller.pacing.faults) == (2, 1)


def test_another_accounts_stack_is_unknown_without_asking(stacks, clock):
    elsewhere = Declaration(Resource(OTHER_STACK.replace(ACCOUNT, "444455556666"), "Meeting"), 72, False, 24)

    known = stack_api(stacks, clock).liveness(elsewhere, POOL_ARN)

    assert known.liveness is Liveness.UNKNOWN
    assert known.why == "its stack is in account 444455556666"
    assert stacks.regions == []


def test_a_declaration_whose_stack_cannot_be_named_is_unknown_without_asking(stacks, clock):
    unnamed = Declaration(Resource("", "Meeting"), 72, False, 24, "0123456789abcdef")

    assert stack_api(stacks, clock).liveness(unnamed, POOL_ARN).liveness is Liveness.UNKNOWN
    assert stacks.regions == []


def test_the_question_goes_to_the_declaring_stacks_own_region(stacks, clock):
    expect_resource(stacks, "CREATE_COMPLETE")

    stack_api(stacks, clock).liveness(OTHER, POOL_ARN)

    assert stacks.regions == ["eu-west-1"]


def expect_stack_status(stacks: Stacks, status: str) -> None:
    stacks.stub.add_response(
        "describe_stacks",
        {
            "Stacks": [
                {"StackName": "Retention", "CreationTime": "2026-11-30T00:00:00Z", "StackStatus": status}
            ]
        },
        {"StackName": STACK_ID},
    )


@pytest.mark.parametrize(
    ("status", "rolling_back"),
    [
        ("ROLLBACK_IN_PROGRESS", True),
        ("UPDATE_ROLLBACK_IN_PROGRESS", True),
        ("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS", True),
        ("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS", False),
        ("DELETE_IN_PROGRESS", False),
        ("UPDATE_IN_PROGRESS", False),
    ],
)
def test_whether_the_own_stack_rolls_back_is_read_from_its_status(stacks, clock, status, rolling_back):
    expect_stack_status(stacks, status)

    assert stack_api(stacks, clock).rolling_back(STACK_ID) is rolling_back
    assert stacks.regions == ["us-east-1"]


def test_a_stack_status_that_cannot_be_read_is_unknown(stacks, clock, caplog):
    expect_failure(stacks, "describe_stacks", "AccessDenied", 403)

    assert stack_api(stacks, clock, seconds=5).rolling_back(STACK_ID) is None
    assert f"could not read the status of stack {STACK_ID}" in caplog.text
