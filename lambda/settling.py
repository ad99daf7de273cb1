"""Bringing a pool to a retention and waiting until it settles, without wasting the invocation's minutes.

Pool changes are asynchronous: an update answers UPDATING and the pool turns ACTIVE (or FAILED) later.
Reads follow PollingSchedule; every request goes through the invocation's pacing (calls.py), so a busy
pool is also polled no faster than the invocation's share of the API.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

from errors import PoolFailed, PoolNotSettled, RetentionOverwritten
from pool_api import PoolApi, retention_of

logger = logging.getLogger(__name__)

BUSY_STATUSES = frozenset({"CREATING", "UPDATING"})
# Another writer may change the pool while this resource's update settles: applied again this many times,
# then the answer names both values.
MAX_REAPPLIES = 2


@dataclass(frozen=True)
class PollingSchedule:
    """Delays between reads while a pool is busy.

    The first read comes early because small pools settle within a second; the second delay pays that
    back, so that by n seconds at most n reads were made. Reads stay one a second while a change is young
    (ending a short transition within a second of it), then ease to every `cap` seconds, so a long
    transition's end is noticed within 1.5 s at two reads in three seconds. Under throttling the
    invocation's pacing spaces reads further, so this schedule need not spare the API on its own.
    """

    first: float = 0.5
    steady: float = 1.0
    steady_for: float = 10.0
    factor: float = 1.5
    cap: float = 1.5

    def delays(self) -> Iterator[float]:
        yield self.first
        yield 2 * self.steady - self.first
        elapsed, delay = 2 * self.steady, self.steady
        while True:
            if elapsed >= self.steady_for:
                delay = min(delay * self.factor, self.cap)
            yield delay
            elapsed += delay


def wait_until_settled(
    api: PoolApi, identifier: str, *, just_updated: bool = False, polling: PollingSchedule = PollingSchedule()
) -> dict[str, Any]:
    """Read the pool until it is neither CREATING nor UPDATING; fail on FAILED or DELETING."""
    deadline = api.caller.deadline
    started = deadline.clock()
    delays = polling.delays()
    if just_updated:  # the update's own answer said UPDATING: a read at once would only repeat it
        _pause(api, next(delays), identifier, "still UPDATING")
    while True:
        pool = api.describe(identifier)
        status = pool["PoolStatus"]
        if status == "ACTIVE":
            waited = deadline.clock() - started
            if waited > 0:
                logger.info("pool %s: ACTIVE after %.1f s (%d reads)", identifier, waited, api.reads)
            return pool
        if status not in BUSY_STATUSES:
            raise PoolFailed(
                f"Pool {identifier} is {status}: its retention cannot be managed. "
                "Check the pool in the Amazon Chime SDK console or recreate it, then redeploy."
            )
        _pause(api, next(delays), identifier, f"still {status}")


def set_retention(
    api: PoolApi,
    identifier: str,
    wanted: int,
    pool: dict[str, Any],
    *,
    polling: PollingSchedule = PollingSchedule(),
) -> dict[str, Any]:
    """Bring the settled `pool` to `wanted` hours; return it settled at that value."""
    reapplied = 0
    conflict_is_refusal = False
    while True:
        current = retention_of(pool)
        if current == wanted:
            logger.info("pool %s: retention already %s h, no update", identifier, wanted)
            return pool
        logger.info("pool %s: retention %s h -> %s h", identifier, current, wanted)
        if api.update(identifier, wanted, conflict_is_refusal=conflict_is_refusal):
            pool = wait_until_settled(api, identifier, just_updated=True, polling=polling)
            holds = retention_of(pool)
            if holds == wanted:
                return pool
            reapplied += 1
            if reapplied > MAX_REAPPLIES:
                raise RetentionOverwritten(
                    f"Pool {identifier} settled at {holds} h, not the declared {wanted} h, "
                    f"{reapplied} times: another writer keeps changing its retention. Find it (another "
                    "stack, app or person) and stop it, then redeploy."
                )
            logger.warning(
                "pool %s settled at %s h, not %s h: another writer changed it; applying again",
                identifier,
                holds,
                wanted,
            )
            continue
        # ConflictException: busy with another change (a duplicate of this event, or one made elsewhere).
        # Once it settles, compare again, so a duplicate finds the retention already set and makes no
        # second update.
        pool = api.describe(identifier)
        if pool["PoolStatus"] in BUSY_STATUSES:
            logger.info("pool %s: busy (ConflictException), waiting before comparing again", identifier)
            pool = wait_until_settled(api, identifier, just_updated=True, polling=polling)
            continue
        # ACTIVE, yet refused: a refusal like throttling, retried at the invocation's widening pace.
        logger.info("pool %s: ACTIVE yet the update was refused (ConflictException)", identifier)
        conflict_is_refusal = True


def _pause(api: PoolApi, seconds: float, identifier: str, why: str) -> None:
    deadline = api.caller.deadline
    if deadline.remaining() < seconds:
        raise PoolNotSettled(
            f"Pool {identifier} was {why} when this deployment ran out of time. "
            "Wait until the pool is ACTIVE, then retry the deployment."
        )
    deadline.sleep(seconds)
