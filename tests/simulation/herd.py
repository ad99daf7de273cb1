"""A whole stack's retention resources at once, in virtual time: one invocation of the handler's core
(`declaring.declare`, a Create) per pool, all started together against one `PoolApi` model with the
account's request rate.

Nothing is shared between invocations but the API, as in Lambda: each has its own client, deadline and
pacing. Used by the handler tests (small herds) and by `make bench` (490 and 1000 pools).
"""

from __future__ import annotations

import random
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from botocore.exceptions import ClientError
from calls import Caller, Deadline
from declarations import Resource
from declaring import Declared, declare
from errors import RetentionError
from pacing import Pacing
from pool_api import PoolApi as PoolClient
from stack_api import StackApi

from tests.fakes import STACK_ID, STACK_KEY, FakeCloudFormation
from tests.simulation.virtual_time import VirtualTime
from tests.standins.pool_api import PoolApi, pool_arn

LATENCY_SECONDS = 0.02  # each way, between the function and the API
START_SPREAD_SECONDS = 1.0  # CloudFormation starts a stack's resources within about a second


class ModelClient:
    """What the core uses of a boto3 client, answered by the API model after the network's latency (none
    when `latency` is 0)."""

    def __init__(
        self,
        api: PoolApi,
        sleep: Callable[[float], None],
        region: str = "us-east-1",
        latency: float = LATENCY_SECONDS,
    ) -> None:
        self.meta = SimpleNamespace(region_name=region)
        self._api, self._sleep, self._latency = api, sleep, latency

    def get_media_pipeline_kinesis_video_stream_pool(self, Identifier: str) -> dict[str, Any]:
        return self._send(lambda: self._api.handle("GET", Identifier, self.meta.region_name, {}))

    def update_media_pipeline_kinesis_video_stream_pool(
        self,
        Identifier: str,
        StreamConfiguration: dict[str, int],
    ) -> dict[str, Any]:
        body = {"StreamConfiguration": StreamConfiguration}
        return self._send(lambda: self._api.handle("PUT", Identifier, self.meta.region_name, body))

    def list_tags_for_resource(self, ResourceARN: str) -> dict[str, Any]:
        return self._send(
            lambda: self._api.handle_tags("GET", {"arn": ResourceARN}, self.meta.region_name, {})
        )

    def tag_resource(self, ResourceARN: str, Tags: list[dict[str, str]]) -> dict[str, Any]:
        body = {"ResourceARN": ResourceARN, "Tags": Tags}
        return self._tagging("tag-resource", body)

    def untag_resource(self, ResourceARN: str, TagKeys: list[str]) -> dict[str, Any]:
        return self._tagging("untag-resource", {"ResourceARN": ResourceARN, "TagKeys": TagKeys})

    def _tagging(self, operation: str, body: dict[str, Any]) -> dict[str, Any]:
        query = {"operation": operation}
        return self._send(lambda: self._api.handle_tags("POST", query, self.meta.region_name, body))

    def _send(self, request: Callable[[], tuple[int, Any, str | None]]) -> dict[str, Any]:
        if self._latency:
            self._sleep(self._latency)
        status, answer, error = request()
        if self._latency:
            self._sleep(self._latency)
        if error:
            raise ClientError({"Error": answer, "ResponseMetadata": {"HTTPStatusCode": status}}, "pool API")
        return answer


@dataclass(frozen=True)
class Outcome:
    pool: str
    succeeded: bool
    reason: str
    finished_at: float
    requests: int


@dataclass(frozen=True)
class HerdResult:
    pools: int
    rate: float
    transition_seconds: float
    budget_seconds: float
    outcomes: list[Outcome]

    @property
    def failed(self) -> int:
        return sum(not outcome.succeeded for outcome in self.outcomes)

    @property
    def wall_seconds(self) -> float:
        return max(outcome.finished_at for outcome in self.outcomes)

    @property
    def floor_seconds(self) -> float:
        """The least time possible: the requests a lone Create makes on a fresh pool at the API's rate."""
        return floor_seconds(self.pools, self.rate, self.transition_seconds)

    @property
    def requests_per_pool(self) -> float:
        return statistics.mean(outcome.requests for outcome in self.outcomes)

    @property
    def requests_per_pool_max(self) -> int:
        return max(outcome.requests for outcome in self.outcomes)

    def finished_quantile(self, fraction: float) -> float:
        times = sorted(outcome.finished_at for outcome in self.outcomes)
        return times[min(len(times) - 1, int(fraction * len(times)))]


# The pool API requests a lone Create makes on a pool nothing declares yet (declaring.py): list tags, read,
# tag, list tags, update, read (and one DescribeStackResource of its own resource, another API).
REQUESTS_PER_CREATE = 6


def floor_seconds(pools: int, rate: float, transition_seconds: float) -> float:
    """A whole stack's Create at best: its pools' transition, and k requests a pool at the API's rate."""
    return transition_seconds + REQUESTS_PER_CREATE * pools / rate


def simulate_herd(
    pools: int, rate: float, *, transition_seconds: float = 3.0, budget_seconds: float, seed: int = 1
) -> HerdResult:
    """Change `pools` pools from 24 h to 48 h at once against an API admitting `rate` requests a second."""
    virtual = VirtualTime()
    api = PoolApi(clock=virtual.clock)
    api.limit_rate(rate)
    api.transition_seconds = transition_seconds
    chance = random.Random(seed)
    outcomes: list[Outcome] = []

    def invocation(name: str, rng: random.Random) -> None:
        deadline = Deadline(budget_seconds, clock=virtual.clock, sleep=virtual.sleep)
        caller = Caller(deadline, Pacing(clock=virtual.clock, rng=rng))
        pools = PoolClient(ModelClient(api, virtual.sleep), caller)  # type: ignore[arg-type]
        resource = Resource(STACK_ID, "Retention" + name.replace("-", ""))
        cloudformation = FakeCloudFormation()  # not rate-limited here: its requests are not counted
        arn = pool_arn(name, "us-east-1")
        cloudformation.declare(resource.stack_id, resource.logical_id, arn, "CREATE_IN_PROGRESS")
        stacks = StackApi(cloudformation, caller, account=None)  # type: ignore[arg-type]
        try:
            declare(pools, stacks, Declared(resource, name, 48, False, STACK_KEY, pool_arn=arn))
            succeeded, reason = True, ""
        except RetentionError as error:
            succeeded, reason = False, str(error)
        requests = caller.pacing.requests - len(cloudformation.calls)
        outcomes.append(Outcome(name, succeeded, reason, virtual.now, requests))

    tasks = []
    for index in range(pools):
        name = f"pool-{index:04d}"
        api.add_pool(name, retention=24)
        rng = random.Random(chance.random())
        tasks.append((chance.uniform(0, START_SPREAD_SECONDS), lambda n=name, r=rng: invocation(n, r)))
    virtual.run(tasks)
    return HerdResult(pools, rate, transition_seconds, budget_seconds, outcomes)
