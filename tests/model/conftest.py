"""Hypothesis profiles of the randomized test of the invariant.

"ci" (the default, in `make test`): about a minute on a 2-core machine. "long" (`make test-long`, or
`pytest tests/model --hypothesis-profile=long`): the bulk, at least 300 sequences. Both derandomized, so
that a run is reproducible: the same sequences on every machine.
"""

from __future__ import annotations

from hypothesis import HealthCheck, settings

_COMMON = {
    "derandomize": True,
    "database": None,
    "deadline": None,
    "print_blob": True,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.filter_too_much],
}
settings.register_profile("ci", max_examples=6000, stateful_step_count=30, **_COMMON)
settings.register_profile("long", max_examples=20000, stateful_step_count=50, **_COMMON)
# `--hypothesis-profile=` on the command line is applied after this (pytest's configure step) and wins.
settings.load_profile("ci")
