"""Pacing one invocation's requests to the pool API, which every invocation in the account shares.

CloudFormation invokes the function once per resource, all at once: a stack of N pools is N invocations
against one rate-limited API, and again on a rollback. The invocations share nothing, so each learns its
share of the API's rate from its own answers (as botocore's adaptive mode and TCP do): a throttled or
failed request widens the gap this invocation leaves before its next request, served ones narrow it. The
herd's requests so converge on the rate the API admits. Until the first refusal there is no gap: a lone
deployment goes at full speed.

Three choices, each made with the herd simulation (tests/simulation, `make bench`):
- The gap after a refusal grows with the square root of the time since this contention began (the first
  refusal after a gap of none), which every invocation of a herd shares, not with the refusals this one met:
  when each refusal widens the gap of the one refused, the unlucky few fall far behind and the stack waits
  for them with the API idle. The square root grows fast at first (a herd of a hundred learns gaps of
  twenty seconds in a few refusals, not ten) and slowly later.
- It is scaled by how much of this invocation's traffic is refused (refusals per request served, up to
  1.5 of them): a small herd, mostly served, keeps the least gap; a large one, mostly refused, the full one.
- Served requests in a row narrow the gap ever faster (`narrow`, then its square, ...): the API has room.

Every request of the invocation (read, update, tags, CloudFormation reads) goes through one `Pacing`, so a
busy pool is also polled no faster than the invocation's share. Standard library only.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass
class Pacing:
    """The gap this invocation keeps between the starts of its requests, learned from the API's answers."""

    clock: Callable[[], float]
    rng: random.Random = field(default_factory=random.Random)
    first_gap: float = 3.0  # the least gap after a refusal; a gap narrowed below half of it is none
    steep: float = 2.2  # after a refusal: this many square roots of the seconds since the contention began,
    full_at: float = 1.5  # scaled by the refusals per served request, the full gap from this many
    narrow: float = 0.7  # served requests in a row multiply the gap by this, its square, its cube, ...
    max_gap: float = 60.0
    gap: float = 0.0
    requests: int = 0
    faults: int = 0
    served_requests: int = 0
    _served_in_a_row: int = field(default=0, repr=False)
    _last_start: float = field(default=0.0, repr=False)
    _not_before: float = field(default=float("-inf"), repr=False)
    _contended_since: float | None = field(default=None, repr=False)

    def wait(self) -> float:
        """Seconds to wait before the next request may start (0 when it may start now)."""
        return max(0.0, self._not_before - self.clock())

    def started(self) -> None:
        self.requests += 1
        self._last_start = self.clock()

    def served(self) -> None:
        """The API answered (an error about the request itself, such as NotFound, counts): narrow the gap."""
        self.served_requests += 1
        self._served_in_a_row += 1
        narrower = self.gap * self.narrow**self._served_in_a_row
        self.gap = narrower if narrower >= self.first_gap / 2 else 0.0
        if not self.gap:
            self._contended_since = None  # the contention is over; the next refusal begins another
        self._not_before = self._last_start + self._jittered(self.gap)

    def refused(self) -> None:
        """Throttled, a 5xx or a connection fault: widen the gap."""
        self.faults += 1
        self._served_in_a_row = 0
        now = self.clock()
        if self._contended_since is None:
            self._contended_since = self._last_start
        pressure = min(1.0, self.faults / (self.served_requests + 1) / self.full_at)
        gap = self.steep * (now - self._contended_since) ** 0.5 * pressure
        self.gap = min(self.max_gap, max(self.first_gap, gap))
        self._not_before = now + self._jittered(self.gap)

    def _jittered(self, gap: float) -> float:
        # Spread over [gap/2, 3 gap/2]: invocations refused together do not come back together, and the
        # mean stays `gap`, so the invocation's rate is the one it learned.
        return gap * (0.5 + self.rng.random()) if gap else 0.0
