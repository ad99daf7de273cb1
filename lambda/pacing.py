"""Pacing one invocation's requests to the pool API, which every invocation in the account shares.

CloudFormation invokes the function once per resource, all at once: a stack of N pools is N invocations
against one rate-limited API, and again on a rollback. The invocations share nothing, so each learns its
share of the API's rate from its own answers (as botocore's adaptive mode and TCP do): a throttled or
failed request widens the gap this invocation leaves before its next request, a served one narrows it.
The herd's requests so converge on the rate the API admits. Until the first refusal there is no gap: a
lone deployment goes at full speed.

The gap after a refusal grows with the *time* this invocation has spent being refused since it was last
served, not with the number of refusals. Invocations that started together so keep similar gaps whatever
their luck, and no unlucky few fall far behind the rest, as they do when each refusal doubles the gap and
luck compounds. The constants were chosen with the herd simulation (tests/simulation, `make bench`).

Every request of the invocation (read, update, tags) goes through one `Pacing`, so a busy pool is also
polled no faster than the invocation's share. Standard library only.
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
    first_gap: float = 3.0  # after the first refusal
    backoff: float = 0.4  # after later ones: this share of the time spent being refused
    narrow: float = 0.5  # a served request multiplies the gap by this
    max_gap: float = 60.0
    gap: float = 0.0
    requests: int = 0
    faults: int = 0
    _last_start: float = field(default=0.0, repr=False)
    _not_before: float = field(default=float("-inf"), repr=False)
    _refused_since: float | None = field(default=None, repr=False)

    def wait(self) -> float:
        """Seconds to wait before the next request may start (0 when it may start now)."""
        return max(0.0, self._not_before - self.clock())

    def started(self) -> None:
        self.requests += 1
        self._last_start = self.clock()

    def served(self) -> None:
        """The API answered (an error about the request itself, such as NotFound, counts): narrow the gap."""
        self._refused_since = None
        narrower = self.gap * self.narrow
        self.gap = narrower if narrower >= self.first_gap / 2 else 0.0
        self._not_before = self._last_start + self._jittered(self.gap)

    def refused(self) -> None:
        """Throttled, a 5xx or a connection fault: widen the gap."""
        self.faults += 1
        now = self.clock()
        if self._refused_since is None:
            self._refused_since = self._last_start
        refused_for = now - self._refused_since
        self.gap = min(self.max_gap, max(self.first_gap, self.gap, self.backoff * refused_for))
        self._not_before = now + self._jittered(self.gap)

    def _jittered(self, gap: float) -> float:
        # Spread over [gap/2, 3 gap/2]: invocations refused together do not come back together, and the
        # mean stays `gap`, so the invocation's rate is the one it learned.
        return gap * (0.5 + self.rng.random()) if gap else 0.0
