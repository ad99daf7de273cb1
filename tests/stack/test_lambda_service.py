"""The Lambda stand-in runs asynchronous invocations as Lambda does: warm environments reused, one per
concurrent invocation, a timeout that ends the environment, retries after a function error, logs per event."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.standins.lambda_service import ConfigurationRefused, FunctionConfiguration, LambdaService

pytestmark = pytest.mark.integration

FUNCTION = "arn:aws:lambda:us-east-1:111122223333:function:probe"
HANDLER = """
import os, sys, time

def handler(event, context):
    print(f"event {event['n']} in process {os.getpid()} as {context.function_name}")
    print(f"endpoint {os.environ.get('AWS_ENDPOINT_URL_CLOUDFORMATION')}")
    print(f"region {os.environ['AWS_REGION']} variable {os.environ.get('POOL_TABLE')}")
    time.sleep(event.get("sleep", 0))
    if event.get("crash"):
        raise RuntimeError("crashed as told")
"""


@pytest.fixture
def probe(tmp_path: Path) -> Path:
    folder = tmp_path / "probe"
    folder.mkdir()
    (folder / "index.py").write_text(HANDLER)
    return folder


@pytest.fixture
def lambda_service(runtime_path: Path) -> Iterator[LambdaService]:
    service = LambdaService(
        runtime_path,
        region="eu-west-2",
        endpoints={"AWS_ENDPOINT_URL_CLOUDFORMATION": "http://127.0.0.1:9"},
        retry_delays=(0.1, 0.1),
    )
    yield service
    service.close()
    assert list(service.running_processes()) == []


def register(service: LambdaService, asset: Path, **settings: object) -> None:
    configuration = FunctionConfiguration(
        FUNCTION, asset, variables={"POOL_TABLE": "pools"}, timeout_seconds=5
    )
    for name, value in settings.items():
        setattr(configuration, name, value)
    service.register(configuration)


def test_an_invocation_runs_with_the_functions_environment_and_keeps_its_logs(lambda_service, probe):
    register(lambda_service, probe)

    invocation = lambda_service.invoke_async(FUNCTION, {"n": 1, "RequestId": "cfn-request-1"})
    assert invocation.wait(20)

    (attempt,) = invocation.attempts
    assert attempt.error is None
    assert attempt.cold_start
    assert "event 1 in process" in attempt.logs
    assert "as probe" in attempt.logs
    assert "endpoint http://127.0.0.1:9" in attempt.logs
    assert "region eu-west-2 variable pools" in attempt.logs
    assert lambda_service.invocation_for("cfn-request-1") is invocation


def test_a_free_warm_environment_serves_the_next_invocation(lambda_service, probe):
    register(lambda_service, probe)

    first = lambda_service.invoke_async(FUNCTION, {"n": 1})
    assert first.wait(20)
    second = lambda_service.invoke_async(FUNCTION, {"n": 2})
    assert second.wait(20)

    assert [first.attempts[0].cold_start, second.attempts[0].cold_start] == [True, False]
    pid = first.logs.split("in process ")[1].split()[0]
    assert f"event 2 in process {pid} " in second.logs
    assert "event 1" not in second.logs  # each invocation's logs are its own


def test_concurrent_invocations_get_an_environment_each(lambda_service, probe):
    register(lambda_service, probe)

    invocations = [lambda_service.invoke_async(FUNCTION, {"n": n, "sleep": 0.5}) for n in range(3)]
    assert all(invocation.wait(20) for invocation in invocations)

    pids = {invocation.logs.split("in process ")[1].split()[0] for invocation in invocations}
    assert len(pids) == 3


def test_an_invocation_past_the_timeout_ends_its_environment(lambda_service, probe):
    register(lambda_service, probe, timeout_seconds=1, max_retries=0)

    slow = lambda_service.invoke_async(FUNCTION, {"n": 1, "sleep": 5})
    assert slow.wait(20)
    after = lambda_service.invoke_async(FUNCTION, {"n": 2})
    assert after.wait(20)

    assert slow.attempts[0].error == "Task timed out"
    assert "Task timed out after 1.00 seconds" in slow.logs
    assert after.attempts[0].cold_start  # the timed-out environment was not reused


def test_a_function_error_is_retried_as_configured(lambda_service, probe):
    register(lambda_service, probe)
    lambda_service.configure_async(FUNCTION, max_retries=1, max_event_age_seconds=60)

    invocation = lambda_service.invoke_async(FUNCTION, {"n": 1, "crash": True})
    assert invocation.wait(20)

    assert [attempt.error for attempt in invocation.attempts] == ["RuntimeError: crashed as told"] * 2
    assert "Traceback" in invocation.attempts[0].logs
    assert invocation.attempts[1].cold_start is False  # an unhandled error does not end the environment


def test_a_changed_configuration_gets_new_environments(lambda_service, probe):
    register(lambda_service, probe)
    first = lambda_service.invoke_async(FUNCTION, {"n": 1})
    assert first.wait(20)

    register(lambda_service, probe, session=None, variables={"POOL_TABLE": "renamed"})
    second = lambda_service.invoke_async(FUNCTION, {"n": 2})
    assert second.wait(20)

    assert second.attempts[0].cold_start
    assert "variable renamed" in second.logs


def test_reserved_variables_are_refused(lambda_service, probe):
    with pytest.raises(ConfigurationRefused, match="Reserved keys used in this request: AWS_REGION"):
        lambda_service.register(FunctionConfiguration(FUNCTION, probe, variables={"AWS_REGION": "us-west-2"}))


def test_a_handler_that_cannot_be_imported_fails_the_invocation(lambda_service, tmp_path):
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "index.py").write_text("import not_a_module\n")
    lambda_service.register(FunctionConfiguration(FUNCTION, broken, max_retries=0))

    invocation = lambda_service.invoke_async(FUNCTION, {"n": 1})
    assert invocation.wait(20)

    assert invocation.attempts[0].error.startswith("Runtime.ImportModuleError: ModuleNotFoundError")
