"""Invokes a synthesized Lambda asset's handler the way the Lambda Python runtime would.

Run as `python -S lambda_runtime.py ASSET_DIR BUDGET_SECONDS` with PYTHONPATH holding only boto3 and its
dependencies: `-S` keeps the test environment's site-packages (and its crhelper) out, so the handler
imports what the asset ships. Like a Lambda execution environment, it starts (imports the handler), says
`ready`, and only then takes its event, from standard input. Prints the seconds the handler took last.
"""

import json
import logging
import sys
import time

asset, budget = sys.argv[1], float(sys.argv[2])
sys.path.insert(0, asset)
logging.basicConfig(level=logging.INFO, stream=sys.stderr)  # Lambda's runtime installs a root handler too


class Context:
    function_name = "kvs-pool-retention-handler"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"

    def __init__(self, seconds: float) -> None:
        self._end = time.monotonic() + seconds

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._end - time.monotonic()) * 1000))


import index  # noqa: E402 - the asset's own entry module, importable only after the path is set

print("ready", flush=True)
event = json.loads(sys.stdin.read())
context = Context(budget)
started = time.monotonic()
index.handler(event, context)
print(f"{time.monotonic() - started:.3f}")
