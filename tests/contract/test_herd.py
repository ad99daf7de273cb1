"""A whole stack at once: handler processes started together, as CloudFormation invokes the function once
per resource, against the pool API stand-in with the account's request rate; and events that arrive twice
or late."""

from __future__ import annotations

import statistics
import time
from collections import Counter

import pytest

from tests.fakes import cloudformation_event
from tests.simulation.herd import REQUESTS_PER_CREATE, floor_seconds
from tests.standins.lambda_process import Herd, invoke_together, lambda_environment

pytestmark = pytest.mark.integration

POOLS = 24
RATE = 8.0  # requests a second the API admits across every caller
TRANSITION_SECONDS = 1.0
# k requests a pool (read, list tags, tag, list tags, update, read) at the API's rate, after one transition.
FLOOR_SECONDS = floor_seconds(POOLS, RATE, TRANSITION_SECONDS)


def create(pool: str) -> dict:
    return cloudformation_event("Create", {"PoolIdentifier": pool, "DataRetentionInHours": "48"})


@pytest.fixture
def herd(lambda_asset, runtime_path, pool_api, response_endpoint, stack_api, tmp_path):
    """Start one handler process per event, then hand every event out at once."""

    def run(events: list[dict]) -> Herd:
        env = lambda_environment(pool_api.url, response_endpoint.ca_file, stack_api.url)
        events = [{**event, "ResponseURL": response_endpoint.url} for event in events]
        done = invoke_together(lambda_asset, runtime_path, events, env, 600.0, tmp_path)
        assert [finished.returncode for finished in done.finished] == [0] * len(events), [
            finished.logs for finished in done.finished if finished.returncode
        ]
        return done

    return run


def test_every_resource_of_a_stack_succeeds_against_a_throttled_api_at_a_bounded_cost(
    herd, pool_api, response_endpoint
):
    names = [f"stack-pool-{index:02d}" for index in range(POOLS)]
    for name in names:
        pool_api.add_pool(name, retention=24)
    pool_api.transition_seconds = TRANSITION_SECONDS
    pool_api.limit_rate(RATE)

    done = herd([create(name) for name in names])

    assert len(response_endpoint.bodies) == POOLS
    assert [body["Reason"] for body in response_endpoint.bodies if body["Status"] != "SUCCESS"] == []
    assert {name: pool_api.pools[name].retention for name in names} == dict.fromkeys(names, 48)
    # A pool's reads and update name it; its tag requests name its ARN, which ends with its name.
    requests = Counter(call.identifier.rsplit("/", 1)[-1] for call in pool_api.calls)
    throttled = sum(call.answered == 429 for call in pool_api.calls)
    assert throttled > 0  # the herd did meet the API's rate
    assert statistics.mean(requests.values()) <= REQUESTS_PER_CREATE + 9  # 429s included
    assert max(requests.values()) <= REQUESTS_PER_CREATE + 17
    assert all(pool_api.pools[name].tags for name in names)  # each declaration recorded
    # No resource far behind the others: the last answer comes soon after the median one. (The pacing
    # trades a longer tail at this size for fewer refusals in large stacks: in simulation the last answer
    # comes up to about one floor after the median, in real processes a little more; a rule whose unlucky
    # invocations fall behind leaves two to three floors.)
    answered = sorted(at - done.handed_out_at for at in response_endpoint.arrived_at)
    assert answered[-1] - statistics.median(answered) <= 1.5 * FLOOR_SECONDS


def test_the_same_event_delivered_twice_together_succeeds_twice_with_one_update(
    herd, pool_api, response_endpoint
):
    pool_api.add_pool("meeting-audio", retention=24)
    pool_api.transition_seconds = TRANSITION_SECONDS

    herd([create("meeting-audio"), create("meeting-audio")])

    assert [body["Status"] for body in response_endpoint.bodies] == ["SUCCESS", "SUCCESS"]
    assert pool_api.pools["meeting-audio"].retention == 48
    assert [call.answered for call in pool_api.calls_of("PUT")].count(200) == 1


def test_the_same_event_delivered_again_later_succeeds_without_a_second_update(invoke, pool_api):
    pool_api.add_pool("meeting-audio", retention=24)

    first, again = invoke(create("meeting-audio")), invoke(create("meeting-audio"))

    assert [first.body["Status"], again.body["Status"]] == ["SUCCESS", "SUCCESS"]
    assert again.body["Data"] == {
        **first.body["Data"],
        "UpdatedTimestamp": again.body["Data"]["UpdatedTimestamp"],
    }
    assert len(pool_api.calls_of("PUT")) == 1


def test_an_event_older_than_the_service_timeout_makes_no_call_to_the_pool_api(invoke, pool_api):
    pool_api.add_pool("meeting-audio", retention=24)
    signed = time.strftime("%Y%m%dT%H%M%SZ", time.gmtime(time.time() - 1000))  # ServiceTimeout is 900 s

    invocation = invoke(create("meeting-audio"), response_query=f"X-Amz-Date={signed}&X-Amz-Expires=7200")

    assert invocation.body["Status"] == "FAILED"
    assert "after CloudFormation stopped waiting for it" in invocation.body["Reason"]
    assert pool_api.calls == []
    assert pool_api.pools["meeting-audio"].retention == 24
