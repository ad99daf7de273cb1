"""Lambda as CloudFormation uses it: asynchronous invocations of registered functions, each served by a
warm execution environment when one is free, else by a new one.

An execution environment is one `python -S lambda_runtime.py --serve` process per function configuration,
with only boto3 and its dependencies on PYTHONPATH (as the Lambda Python runtime has), Lambda's reserved
variables, the function's own variables, the credentials of its role's session, and the local stand-ins'
endpoints (`AWS_ENDPOINT_URL_CHIME_SDK_MEDIA_PIPELINES`, `AWS_ENDPOINT_URL_CLOUDFORMATION`, the response
URL's CA through `SSL_CERT_FILE`). It serves one invocation at a time and stays warm for the next. An
invocation that outlives the function's timeout is stopped with its environment ("Task timed out"), as
Lambda does. A function error (an unhandled exception, a timeout, a crashed environment) is retried as
asynchronous invocations are: `MaximumRetryAttempts` times (2 by default), after `retry_delays` (Lambda's
are about 1 and 2 minutes; tests shorten them), unless the event is older than `MaximumEventAgeInSeconds`.

Not modelled: concurrency limits and throttling of invocations (every invocation gets an environment at
once), Lambda's internal queue delays, at-least-once duplicate deliveries (tests send those themselves),
versions and aliases, layers, memory and CPU limits, the 15-minute cap on `Timeout`, environments reaped
for idleness, VPC attachment.
"""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import suppress
from dataclasses import dataclass, field
from pathlib import Path

from tests.standins.iam import Session

RUNNER = Path(__file__).with_name("lambda_runtime.py")
START_SECONDS = 30.0  # how long an environment may take to import its handler (Lambda's init phase: 10 s)
# Variables Lambda sets itself and refuses in a function's configuration.
RESERVED_VARIABLES = frozenset(
    {
        "_HANDLER",
        "_X_AMZN_TRACE_ID",
        "AWS_DEFAULT_REGION",
        "AWS_REGION",
        "AWS_EXECUTION_ENV",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_LAMBDA_INITIALIZATION_TYPE",
        "AWS_LAMBDA_LOG_GROUP_NAME",
        "AWS_LAMBDA_LOG_STREAM_NAME",
        "AWS_ACCESS_KEY",
        "AWS_ACCESS_KEY_ID",
        "AWS_SECRET_ACCESS_KEY",
        "AWS_SESSION_TOKEN",
        "AWS_LAMBDA_RUNTIME_API",
        "LAMBDA_TASK_ROOT",
        "LAMBDA_RUNTIME_DIR",
    }
)


class ConfigurationRefused(ValueError):
    """What Lambda's API would refuse in a function's configuration."""


@dataclass
class FunctionConfiguration:
    arn: str
    asset: Path
    handler: str = "index.handler"
    timeout_seconds: float = 3.0  # Lambda's default
    memory_mb: int = 128
    runtime: str = "python3.14"
    variables: dict[str, str] = field(default_factory=dict)
    session: Session | None = None  # the role's credentials; None: the function has none
    max_retries: int = 2
    max_event_age_seconds: float = 21_600.0

    @property
    def name(self) -> str:
        return self.arn.rsplit(":", 1)[-1]


@dataclass
class Attempt:
    request_id: str  # Lambda's, as the handler's context.aws_request_id
    cold_start: bool
    started_at: float
    finished_at: float = 0.0
    logs: str = ""
    error: str | None = None  # None: the handler returned


@dataclass
class Invocation:
    """One asynchronous invocation: the event and every attempt Lambda made at it."""

    function_arn: str
    event: dict
    queued_at: float
    attempts: list[Attempt] = field(default_factory=list)
    dropped: str | None = None  # why Lambda gave up on the event without running it again
    done: threading.Event = field(default_factory=threading.Event)

    @property
    def logs(self) -> str:
        return "".join(attempt.logs for attempt in self.attempts)

    def wait(self, timeout: float | None = None) -> bool:
        return self.done.wait(timeout)


class ExecutionEnvironment:
    """One process serving one function configuration's invocations in turn."""

    def __init__(self, configuration: FunctionConfiguration, generation: int, env: dict[str, str]) -> None:
        self.configuration, self.generation = configuration, generation
        self.process = subprocess.Popen(
            [sys.executable, "-S", str(RUNNER), "--serve", str(configuration.asset), configuration.handler],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
            text=True,
        )
        self._answers: queue.Queue[str | None] = queue.Queue()
        self._lines: list[str] = []
        self._logged = threading.Condition()
        threading.Thread(target=self._read_answers, daemon=True).start()
        threading.Thread(target=self._read_logs, daemon=True).start()
        self.init_logs = ""
        self.healthy = False

    def _read_answers(self) -> None:
        assert self.process.stdout is not None
        for line in self.process.stdout:
            self._answers.put(line.rstrip("\n"))
        self._answers.put(None)

    def _read_logs(self) -> None:
        assert self.process.stderr is not None
        for line in self.process.stderr:
            with self._logged:
                self._lines.append(line)
                self._logged.notify_all()
        with self._logged:
            self._lines.append("")  # the end of the stream
            self._logged.notify_all()

    def start(self) -> str | None:
        """Wait until the handler is imported; the init error when it is not."""
        try:
            said = self._answers.get(timeout=START_SECONDS)
        except queue.Empty:
            said = "init-error the runtime did not start in time"
        with self._logged:
            self.init_logs = "".join(self._lines)
            self._lines.clear()
        if said == "ready":
            self.healthy = True
            return None
        self.stop()
        return (said or "init-error the runtime exited").removeprefix("init-error ")

    def run(self, event: dict, request_id: str, timeout: float) -> tuple[str | None, str]:
        """Serve one invocation: its error (None when the handler returned) and its logs."""
        assert self.process.stdin is not None
        invocation = {
            "event": event,
            "request_id": request_id,
            "budget_seconds": timeout,
            "function_name": self.configuration.name,
            "invoked_function_arn": self.configuration.arn,
        }
        try:
            self.process.stdin.write(json.dumps(invocation) + "\n")
            self.process.stdin.flush()
        except OSError:
            self.healthy = False
            return "Runtime.ExitError: the runtime had exited", self._take_logs("")
        try:
            said = self._answers.get(timeout=timeout)
        except queue.Empty:
            self.stop(kill=True)
            return "Task timed out", self._take_logs(f"Task timed out after {timeout:.2f} seconds\n")
        if said is None:
            self.healthy = False
            return "Runtime.ExitError: the runtime exited", self._take_logs("")
        error = json.loads(said)["error"]
        return error, self._take_logs("", until=f"END RequestId: {request_id}")

    def _take_logs(self, epilogue: str, until: str | None = None) -> str:
        with self._logged:
            if until is not None:  # stderr is read on its own thread: let it catch up with the answer
                self._logged.wait_for(lambda: any(line.startswith(until) for line in self._lines), 5.0)
            logs = "".join(self._lines)
            self._lines.clear()
        return logs + epilogue

    def stop(self, *, kill: bool = False) -> None:
        self.healthy = False
        if kill and self.process.poll() is None:
            self.process.kill()
        if self.process.poll() is None:
            with suppress(OSError):
                assert self.process.stdin is not None
                self.process.stdin.close()
            try:
                self.process.wait(timeout=2)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)


class LambdaService:
    """The account's Lambda functions and their execution environments, for asynchronous invocations."""

    def __init__(
        self,
        runtime_path: Path,
        *,
        region: str,
        ca_file: Path | None = None,
        endpoints: dict[str, str] | None = None,
        timeout_cap_seconds: float | None = None,
        retry_delays: Sequence[float] = (60.0, 120.0),
    ) -> None:
        self.runtime_path, self.region, self.ca_file = runtime_path, region, ca_file
        self.endpoints = dict(endpoints or {})  # variable name -> URL, e.g. AWS_ENDPOINT_URL_CLOUDFORMATION
        self.timeout_cap_seconds = timeout_cap_seconds  # tests keep function timeouts short with this
        self.retry_delays = list(retry_delays)
        self.functions: dict[str, FunctionConfiguration] = {}
        self.invocations: list[Invocation] = []
        self._generations: dict[str, int] = {}
        self._idle: list[ExecutionEnvironment] = []
        self._busy: set[ExecutionEnvironment] = set()
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._threads: list[threading.Thread] = []

    # Functions ----------------------------------------------------------------------------------------

    def register(self, configuration: FunctionConfiguration) -> None:
        """Create or update a function. A changed configuration gets new environments, as in Lambda."""
        reserved = sorted(set(configuration.variables) & RESERVED_VARIABLES)
        if reserved:
            raise ConfigurationRefused(
                "Lambda was unable to configure your environment variables because the environment variables "
                "you have provided contains reserved keys that are currently not supported for modification. "
                f"Reserved keys used in this request: {','.join(reserved)}"
            )
        with self._lock:
            self.functions[configuration.arn] = configuration
            self._generations[configuration.arn] = self._generations.get(configuration.arn, 0) + 1
            stale = [env for env in self._idle if env.configuration.arn == configuration.arn]
            self._idle = [env for env in self._idle if env not in stale]
        for env in stale:
            env.stop()

    def configure_async(self, function_arn: str, *, max_retries: int, max_event_age_seconds: float) -> None:
        """What an AWS::Lambda::EventInvokeConfig sets."""
        with self._lock:
            configuration = self.functions[function_arn]
            configuration.max_retries = max_retries
            configuration.max_event_age_seconds = max_event_age_seconds

    def unregister(self, function_arn: str) -> None:
        """Delete a function: invocations under way finish; no new ones start."""
        with self._lock:
            self.functions.pop(function_arn, None)
            stale = [env for env in self._idle if env.configuration.arn == function_arn]
            self._idle = [env for env in self._idle if env not in stale]
        for env in stale:
            env.stop()

    def function_named(self, arn: str) -> FunctionConfiguration | None:
        with self._lock:
            return self.functions.get(arn)

    # Invocations --------------------------------------------------------------------------------------

    def invoke_async(self, function_arn: str, event: dict) -> Invocation:
        """Queue `event` for the function (InvocationType Event) and return at once."""
        invocation = Invocation(function_arn, event, time.monotonic())
        with self._lock:
            if function_arn not in self.functions:
                raise KeyError(f"Function not found: {function_arn}")
            self.invocations.append(invocation)
        thread = threading.Thread(target=self._deliver, args=(invocation,), daemon=True)
        self._threads.append(thread)
        thread.start()
        return invocation

    def invocation_for(self, cloudformation_request_id: str) -> Invocation | None:
        """The invocation of a CloudFormation event, by the event's RequestId."""
        with self._lock:
            return next(
                (i for i in self.invocations if i.event.get("RequestId") == cloudformation_request_id), None
            )

    def _deliver(self, invocation: Invocation) -> None:
        try:
            while not self._closing.is_set():
                configuration = self.function_named(invocation.function_arn)
                if configuration is None:
                    invocation.dropped = "the function was deleted"
                    return
                age = time.monotonic() - invocation.queued_at
                if age > configuration.max_event_age_seconds:
                    invocation.dropped = f"older than MaximumEventAgeInSeconds ({age:.0f} s)"
                    return
                attempt = self._attempt(configuration, invocation.event)
                invocation.attempts.append(attempt)
                retries = len(invocation.attempts) - 1
                if attempt.error is None or retries >= configuration.max_retries:
                    return
                delay = (
                    self.retry_delays[min(retries, len(self.retry_delays) - 1)] if self.retry_delays else 0
                )
                self._closing.wait(delay)
        finally:
            invocation.done.set()

    def _attempt(self, configuration: FunctionConfiguration, event: dict) -> Attempt:
        request_id = str(uuid.uuid4())
        env, cold = self._environment(configuration)
        attempt = Attempt(request_id, cold, time.monotonic())
        if isinstance(env, str):
            attempt.error, attempt.finished_at = f"Runtime.ImportModuleError: {env}", time.monotonic()
            return attempt
        timeout = configuration.timeout_seconds
        if self.timeout_cap_seconds is not None:
            timeout = min(timeout, self.timeout_cap_seconds)
        attempt.error, logs = env.run(event, request_id, timeout)
        attempt.logs = (env.init_logs if cold else "") + logs
        attempt.finished_at = time.monotonic()
        self._release(env)
        return attempt

    def _environment(self, configuration: FunctionConfiguration) -> tuple[ExecutionEnvironment | str, bool]:
        """A free warm environment of the current configuration, else a new one (or its init error)."""
        with self._lock:
            generation = self._generations[configuration.arn]
            for env in self._idle:
                if env.configuration.arn == configuration.arn and env.generation == generation:
                    self._idle.remove(env)
                    self._busy.add(env)
                    return env, False
        env = ExecutionEnvironment(configuration, generation, self._variables(configuration))
        with self._lock:
            self._busy.add(env)
        problem = env.start()
        if problem is not None:
            with self._lock:
                self._busy.discard(env)
            return f"{problem}\n{env.init_logs}", True
        return env, True

    def _release(self, env: ExecutionEnvironment) -> None:
        with self._lock:
            self._busy.discard(env)
            current = self._generations.get(env.configuration.arn) == env.generation
            keep = env.healthy and current and env.configuration.arn in self.functions
            if keep and not self._closing.is_set():
                self._idle.append(env)
                return
        env.stop()

    def _variables(self, configuration: FunctionConfiguration) -> dict[str, str]:
        name = configuration.name
        variables = {
            "PATH": os.environ["PATH"],
            "PYTHONPATH": str(self.runtime_path),
            "TZ": ":UTC",
            "LANG": "en_US.UTF-8",
            "_HANDLER": configuration.handler,
            "LAMBDA_TASK_ROOT": str(configuration.asset),
            "AWS_REGION": self.region,
            "AWS_DEFAULT_REGION": self.region,
            "AWS_EXECUTION_ENV": f"AWS_Lambda_{configuration.runtime}",
            "AWS_LAMBDA_FUNCTION_NAME": name,
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(configuration.memory_mb),
            "AWS_LAMBDA_FUNCTION_VERSION": "$LATEST",
            "AWS_LAMBDA_INITIALIZATION_TYPE": "on-demand",
            "AWS_LAMBDA_LOG_GROUP_NAME": f"/aws/lambda/{name}",
            **configuration.variables,
            **self.endpoints,
        }
        if configuration.session is not None:
            variables["AWS_ACCESS_KEY_ID"] = configuration.session.access_key
            variables["AWS_SECRET_ACCESS_KEY"] = configuration.session.secret_key
        if self.ca_file is not None:
            variables["SSL_CERT_FILE"] = str(self.ca_file)
        return variables

    # Shutting down ------------------------------------------------------------------------------------

    def close(self) -> None:
        """Stop every environment; invocations under way end with them."""
        self._closing.set()
        with self._lock:
            idle, busy = list(self._idle), list(self._busy)
            self._idle.clear()
        for env in idle:
            env.stop()
        for env in busy:  # a handler still running would otherwise be waited for
            env.stop(kill=True)
        for thread in self._threads:
            thread.join(timeout=10)

    def running_processes(self) -> Iterator[subprocess.Popen[str]]:
        """Environments' processes still alive (for tests that check nothing leaks)."""
        with self._lock:
            environments = [*self._idle, *self._busy]
        return (env.process for env in environments if env.process.poll() is None)
