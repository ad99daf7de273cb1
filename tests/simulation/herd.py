"""A whole stack's retention resources at once, in virtual time: one invocation of the handler's core per
pool, all started together against one `PoolApi` model with the account's request rate.

Nothing is shared between invocations but the API, as in Lambda: each has its own client, deadline and
pacing. Used by the handler tests (small herds) and by `make bench` (490 and 1000 pools).
"""

from __future__ import annotations

import random
import statistics
from dataclasses import dataclass
from types import SimpleNamespace
from typing import Any

from botocore.exceptions import ClientError
from pacing import Pacing
from pool_retention import Deadline, PoolRetention, RetentionError, RetentionRequest

from tests.simulation.virtual_time import VirtualTime
from tests.standins.pool_api import PoolApi

LATENCY_SECONDS = 0.02  # each way, between the function and the API
START_SPREAD_SECONDS = 1.0  # CloudFormation starts a stack's resources within about a second


class ModelClient:
    """What the core uses of a boto3 client, answered by the API model after the network's latency."""

    def __init__(self, api: PoolApi, time: VirtualTime, region: str = "us-east-1") -> None:
        self.meta = SimpleNamespace(region_name=region)
        self._api, self._time = api, time

    def get_media_pipeline_kinesis_video_stream_pool(self, Identifier: str) -> dict[str, Any]:
        return self._send("GET", Identifier, {})

    def update_media_pipeline_kinesis_video_stream_pool(
        self,
        Identifier: str,
        StreamConfiguration: dict[str, int],
    ) -> dict[str, Any]:
        return self._send("PUT", Identifier, {"StreamConfiguration": StreamConfiguration})

    def _send(self, method: str, identifier: str, body: dict[str, Any]) -> dict[str, Any]:
        self._time.sleep(LATENCY_SECONDS)
        status, answer, error = self._api.handle(method, identifier, self.meta.region_name, body)
        self._time.sleep(LATENCY_SECONDS)
        if error:
            raise ClientError(
                {"Error": answer, "ResponseMetadata": {"HTTPStatusCode": status}}, f"{method} pool"
            )
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
        """The least time possible: three requests a pool (read, update, read) at the API's rate."""
        return self.transition_seconds + 3 * self.pools / self.rate

    @property
    def requests_per_pool(self) -> float:
        return statistics.mean(outcome.requests for outcome in self.outcomes)

    @property
    def requests_per_pool_max(self) -> int:
        return max(outcome.requests for outcome in self.outcomes)

    def finished_quantile(self, fraction: float) -> float:
        times = sorted(outcome.finished_at for outcome in self.outcomes)
        return times[min(len(times) - 1, int(fraction * len(times)))]


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
        core = PoolRetention(
            ModelClient(api, virtual),  # type: ignore[arg-type]
            deadline,
            pacing=Pacing(clock=virtual.clock, rng=rng),
        )
        try:
            core.apply(RetentionRequest(pool_identifier=name, data_retention_in_hours=48))
            succeeded, reason = True, ""
        except RetentionError as error:
            succeeded, reason = False, str(error)
        outcomes.append(Outcome(name, succeeded, reason, virtual.now, core.pace.requests))

    tasks = []
    for index in range(pools):
        name = f"pool-{index:04d}"
        api.add_pool(name, retention=24)
        rng = random.Random(chance.random())
        tasks.append((chance.uniform(0, START_SPREAD_SECONDS), lambda n=name, r=rng: invocation(n, r)))
    virtual.run(tasks)
    return HerdResult(pools, rate, transition_seconds, budget_seconds, outcomes)
