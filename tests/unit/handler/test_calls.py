"""The Caller: every request of an invocation retried, paced and bounded by its deadline (fake clock)."""

from __future__ import annotations

import random

import pytest
from botocore.exceptions import ClientError, EndpointConnectionError
from calls import ACCESS_DENIED_RETRY_DELAYS, Caller, Deadline
from errors import ServiceError
from pacing import Pacing

from tests.fakes import POOL_ARN, POOL_NAME, FakeClock


def error(code: str, status: int) -> ClientError:
    return ClientError(
        {
            "Error": {"Code": code, "Message": f"{code} message"},
            "ResponseMetadata": {"HTTPStatusCode": status},
        },
        "GetMediaPipelineKinesisVideoStreamPool",
    )


class Answers:
    """A request that raises the queued errors in turn, then answers 'done'; counts its calls."""

    def __init__(self, *errors: BaseException) -> None:
        self.errors, self.calls = list(errors), 0

    def __call__(self) -> str:
        self.calls += 1
        if self.errors:
            raise self.errors.pop(0)
        return "done"


class Always:
    """A request that always raises the same error: the API never recovers within the test."""

    def __init__(self, failure: BaseException) -> None:
        self.failure, self.calls = failure, 0

    def __call__(self) -> str:
        self.calls += 1
        raise self.failure


def caller(clock: FakeClock, seconds: float = 300, **options: object) -> Caller:
    deadline = Deadline(seconds, clock=clock, sleep=clock.sleep)
    return Caller(deadline, Pacing(clock=clock, rng=random.Random(7)), **options)  # type: ignore[arg-type]


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


def test_a_request_served_at_once_is_made_once_without_waiting(clock):
    request = Answers()

    assert caller(clock).call("read", f"pool {POOL_NAME}", request) == "done"

    assert request.calls == 1
    assert clock.sleeps == []


@pytest.mark.parametrize(
    ("code", "status"),
    [
        ("ThrottledClientException", 429),
        ("ServiceUnavailableException", 503),
        ("ServiceFailureException", 500),
        ("Throttling", 400),  # CloudFormation's throttling
    ],
)
def test_transient_faults_are_retried_at_a_widening_pace(clock, code, status):
    request = Answers(*(error(code, status) for _ in range(3)))

    assert caller(clock).call("read", f"pool {POOL_NAME}", request) == "done"

    assert request.calls == 4
    assert len(clock.sleeps) == 3
    assert clock.sleeps[0] >= 1.5  # half the first gap: no retry straight back into the same crowd
    assert all(delay <= 3 * 4.5 for delay in clock.sleeps)


def test_an_http_429_without_an_error_code_is_throttling(clock):
    request = Answers(error("", 429))

    caller(clock).call("read", f"pool {POOL_NAME}", request)

    assert len(clock.sleeps) == 1
    assert clock.sleeps[0] >= 1.5


def test_a_connection_fault_is_retried(clock):
    request = Answers(EndpointConnectionError(endpoint_url="https://media-pipelines-chime.us-east-1"))

    assert caller(clock).call("read", f"pool {POOL_NAME}", request) == "done"

    assert request.calls == 2


def test_an_error_about_the_request_itself_is_raised_at_once(clock):
    request = Answers(error("NotFoundException", 404))

    with pytest.raises(ClientError, match="NotFoundException"):
        caller(clock).call("read", f"pool {POOL_NAME}", request)

    assert request.calls == 1
    assert clock.sleeps == []


def test_a_conflict_is_raised_at_once_unless_it_is_known_to_be_a_refusal(clock):
    once = Answers(error("ConflictException", 409))
    with pytest.raises(ClientError, match="ConflictException"):
        caller(clock).call("update", f"pool {POOL_NAME}", once)

    refused = Answers(error("ConflictException", 409), error("ConflictException", 409))
    caller(clock).call("update", f"pool {POOL_NAME}", refused, refusals=frozenset({"ConflictException"}))

    assert (once.calls, refused.calls) == (1, 3)


def test_an_access_denial_is_retried_for_iam_propagation_then_succeeds(clock):
    request = Answers(error("AccessDeniedException", 403), error("AccessDeniedException", 403))

    caller(clock).call("read", f"pool {POOL_NAME}", request)

    assert clock.sleeps == [1.0, 2.0]


@pytest.mark.parametrize("code", ["ForbiddenException", "AccessDeniedException", "AccessDenied"])
def test_a_lasting_denial_is_raised_after_ten_seconds(clock, code):
    request = Always(error(code, 403))

    with pytest.raises(ClientError, match=code):
        caller(clock).call("read", f"pool {POOL_NAME}", request)

    assert request.calls == 1 + len(ACCESS_DENIED_RETRY_DELAYS)
    assert sum(clock.sleeps) == 10.0


def test_a_delete_takes_a_denial_as_final_at_once(clock):
    request = Always(error("AccessDeniedException", 403))

    with pytest.raises(ClientError):
        caller(clock, retry_denials=False).call("list the tags of", f"pool {POOL_ARN}", request)

    assert request.calls == 1
    assert clock.sleeps == []


def test_a_denial_is_not_retried_past_the_deadline(clock):
    request = Always(error("AccessDeniedException", 403))

    with pytest.raises(ClientError):
        caller(clock, seconds=2.5).call("read", f"pool {POOL_NAME}", request)

    assert clock.sleeps == [1.0]  # the next wait, 2 s, would pass the 2.5 s the invocation had
    assert clock.now <= 2.5


def test_throttling_is_retried_until_the_invocation_runs_out_of_time_then_says_what_to_do(clock):
    request = Always(error("ThrottledClientException", 429))
    paced = caller(clock, seconds=120)

    with pytest.raises(ServiceError) as raised:
        paced.call("read", f"pool {POOL_NAME}", request)

    reason = str(raised.value)
    assert reason.startswith(f"Could not read pool {POOL_NAME}: the API kept throttling")
    assert f"on {request.calls} of {request.calls} requests" in reason
    assert "raise the account's API rate quota or deploy fewer pools per stack" in reason
    # The advice stays within the 256 characters a Reason keeps, even for a pool given by its ARN.
    assert reason.index("per stack") - len(POOL_NAME) + len(POOL_ARN) < 256
    assert clock.now <= 120  # failed before its time ran out, so this handler answers, not crhelper
    assert clock.now >= 120 - 1.5 * paced.pacing.max_gap  # and not long before: it kept trying
    assert request.calls <= 30  # at a widening pace, not hammering


def test_a_service_fault_that_never_clears_says_to_retry_later(clock):
    request = Always(error("ServiceUnavailableException", 503))

    with pytest.raises(
        ServiceError, match=r"kept failing until time ran out; retry the deployment later \(Serv"
    ):
        caller(clock, seconds=60).call("read", f"pool {POOL_NAME}", request)


def test_a_conflict_refused_until_the_deadline_says_the_pool_was_active(clock):
    request = Always(error("ConflictException", 409))

    with pytest.raises(ServiceError) as raised:
        caller(clock, seconds=120).call(
            "update", f"pool {POOL_NAME}", request, refusals=frozenset({"ConflictException"})
        )

    assert str(raised.value).startswith(
        f"Could not update pool {POOL_NAME}: the API kept refusing the update although the pool was ACTIVE"
    )
    assert request.calls <= 15  # paced: a gap of 3 s at first, widening with the time refused
    assert clock.now <= 120


def test_no_time_left_for_a_first_request_says_so_without_making_it(clock):
    pace = Pacing(clock=clock, rng=random.Random(7))
    pace.started()
    pace.refused()  # another request of the invocation was throttled: the next waits at least 1.5 s
    request = Answers()

    with pytest.raises(ServiceError, match="ran out of time before the request could be made"):
        Caller(Deadline(1.0, clock=clock, sleep=clock.sleep), pace).call("tag", f"pool {POOL_NAME}", request)

    assert request.calls == 0


def test_every_request_of_one_invocation_shares_its_pace(clock):
    """A refusal of one request (a pool read) spaces the next request of any kind (CloudFormation's)."""
    paced = caller(clock)
    paced.call("read", f"pool {POOL_NAME}", Answers(error("ThrottledClientException", 429)))
    sleeps = len(clock.sleeps)

    paced.call("check", "stack Other (resource Meeting)", Answers())

    assert len(clock.sleeps) == sleeps + 1
    assert clock.sleeps[-1] >= paced.pacing.first_gap / 4
    assert paced.pacing.requests == 3
