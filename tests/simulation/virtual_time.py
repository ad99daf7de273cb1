"""Many threads in virtual time: one runs at a time, until it sleeps; the clock then jumps to the next wake.

Each simulated invocation runs the handler's unmodified, blocking core in a thread of its own, with this
clock and sleep injected. Only the thread holding the turn touches the schedule, so no lock is needed, and
a run is deterministic for given seeds.
"""

from __future__ import annotations

import heapq
import itertools
import threading
from collections.abc import Callable


class VirtualTime:
    def __init__(self) -> None:
        self.now = 0.0
        self._wakeups: list[tuple[float, int, threading.Event]] = []
        self._order = itertools.count()
        self._finished = threading.Event()
        self.errors: list[BaseException] = []

    def clock(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        wake = threading.Event()
        self._schedule(self.now + max(0.0, seconds), wake)
        self._hand_on()
        wake.wait()

    def run(self, tasks: list[tuple[float, Callable[[], None]]]) -> None:
        """Run each task from its start time; return once all have ended."""
        for start, task in tasks:
            turn = threading.Event()
            self._schedule(start, turn)
            threading.Thread(target=self._task, args=(turn, task), daemon=True).start()
        self._hand_on()
        self._finished.wait()
        if self.errors:
            raise self.errors[0]

    def _task(self, turn: threading.Event, task: Callable[[], None]) -> None:
        turn.wait()
        try:
            task()
        except BaseException as error:  # a bug in the simulated code: report it, keep the others going
            self.errors.append(error)
        finally:
            self._hand_on()

    def _schedule(self, at: float, wake: threading.Event) -> None:
        heapq.heappush(self._wakeups, (at, next(self._order), wake))

    def _hand_on(self) -> None:
        if not self._wakeups:
            self._finished.set()
            return
        at, _, wake = heapq.heappop(self._wakeups)
        self.now = max(self.now, at)
        wake.set()
