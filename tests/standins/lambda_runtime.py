"""Invokes a synthesized Lambda asset's handler the way the Lambda Python runtime would.

Run with PYTHONPATH holding only boto3 and its dependencies and `-S`, which keeps the test environment's
site-packages (and its crhelper) out, so the handler imports what the asset ships. Two modes:

- `python -S lambda_runtime.py ASSET_DIR BUDGET_SECONDS`: one invocation. Like a Lambda execution
  environment, it starts (imports `index`), says `ready`, and only then takes its event, the whole of
  standard input. Prints the seconds the handler took.
- `python -S lambda_runtime.py --serve ASSET_DIR HANDLER`: a warm execution environment serving invocations
  in turn. Imports HANDLER (`module.function`) once and says `ready` (or `init-error <message>`), then takes
  one invocation a line on stdin, `{"event", "request_id", "budget_seconds", "function_name",
  "invoked_function_arn"}`. Its logs on stderr sit between Lambda's `START RequestId: <id>` and
  `END RequestId: <id>` lines; each invocation is answered on stdout with one JSON line
  `{"request_id", "error", "seconds"}` (`error` null, or the unhandled exception as Lambda reports it).
  What the handler itself prints goes to stderr with its logs, as Lambda sends a function's output to
  its log stream: only this runtime writes to stdout.
"""

import importlib
import json
import logging
import os
import sys
import time
import traceback

logging.basicConfig(level=logging.INFO, stream=sys.stderr)  # Lambda's runtime installs a root handler too


class Context:
    function_name = "kvs-pool-retention-handler"
    aws_request_id = "c6af9ac6-7b61-11e6-9a41-93e812345678"
    invoked_function_arn = "arn:aws:lambda:us-east-1:111122223333:function:kvs-pool-retention-handler"
    memory_limit_in_mb = "256"
    function_version = "$LATEST"

    def __init__(self, seconds: float, **names: str) -> None:
        self._end = time.monotonic() + seconds
        for name, value in names.items():
            setattr(self, name, value)
        self.log_group_name = f"/aws/lambda/{self.function_name}"
        self.log_stream_name = f"{time.strftime('%Y/%m/%d')}/[$LATEST]{self.aws_request_id.replace('-', '')}"

    def get_remaining_time_in_millis(self) -> int:
        return max(0, int((self._end - time.monotonic()) * 1000))


def invoke_once(asset: str, budget: float) -> None:
    sys.path.insert(0, asset)
    import index  # the asset's own entry module, importable only after the path is set

    print("ready", flush=True)
    event = json.loads(sys.stdin.read())
    context = Context(budget)
    started = time.monotonic()
    index.handler(event, context)
    print(f"{time.monotonic() - started:.3f}")


def serve(asset: str, handler_name: str) -> None:
    protocol = os.fdopen(os.dup(sys.stdout.fileno()), "w")
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())  # the handler's prints join its logs
    sys.path.insert(0, asset)
    module_name, _, function_name = handler_name.rpartition(".")
    try:
        handler = getattr(importlib.import_module(module_name), function_name)
    except Exception as error:  # Lambda's Runtime.ImportModuleError / HandlerNotFound
        traceback.print_exc()
        print(f"init-error {type(error).__name__}: {error}", file=protocol, flush=True)
        return
    print("ready", file=protocol, flush=True)
    for line in sys.stdin:
        invocation = json.loads(line)
        request_id = invocation["request_id"]
        context = Context(
            invocation["budget_seconds"],
            aws_request_id=request_id,
            function_name=invocation["function_name"],
            invoked_function_arn=invocation["invoked_function_arn"],
        )
        print(f"START RequestId: {request_id} Version: $LATEST", file=sys.stderr, flush=True)
        started = time.monotonic()
        error = None
        try:
            handler(invocation["event"], context)
        except Exception as failure:  # an unhandled error is the invocation's, not the environment's
            error = f"{type(failure).__name__}: {failure}"
            print(f"[ERROR] {error}", file=sys.stderr)
            traceback.print_exc()
        seconds = time.monotonic() - started
        sys.stdout.flush()
        print(f"END RequestId: {request_id}", file=sys.stderr, flush=True)
        print(
            json.dumps({"request_id": request_id, "error": error, "seconds": seconds}),
            file=protocol,
            flush=True,
        )


if __name__ == "__main__":
    if sys.argv[1] == "--serve":
        serve(sys.argv[2], sys.argv[3])
    else:
        invoke_once(sys.argv[1], float(sys.argv[2]))
