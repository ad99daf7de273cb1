"""DescribeStackResource on the CloudFormation stand-in: one resource's status as each stack operation moves
it, asked by botocore from outside and from inside a custom resource's handler while its own event (or
another resource's) is in flight.

The handler here is the scripted one (`scripted_resource/index.py`, unchanged) behind a thin wrapper that
first asks DescribeStackResource about each target its `Describe` property lists and prints what it was
told; the tests read those lines from the handler's logs.
"""

from __future__ import annotations

import json
import shutil
import textwrap
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import boto3
import pytest
from botocore.config import Config
from botocore.exceptions import ClientError

from tests.stack.templates import FUNCTION, POLICY, RESOURCE_TYPE, SCRIPTED_RESOURCE, scripted_template
from tests.standins.cloudformation import CloudFormation, CustomResourceRequest, StackOperation

pytestmark = pytest.mark.integration

STACK = "Scripted"
DESCRIBING_ASSET_KEY = "describing-resource.zip"
# Properties the wrapper reads: `Describe`, targets `[<stack name or id>|]<logical id>` separated by commas
# (the event's own stack when none is named); `DescribeUntil`, a status to wait for (up to 8 s) before
# telling it.
WRAPPER = textwrap.dedent(
    '''
    """The scripted handler, asking DescribeStackResource first about the targets `Describe` lists."""

    import json
    import time

    import boto3
    from botocore.exceptions import ClientError

    import scripted


    def _describe(client, stack, logical_id):
        try:
            detail = client.describe_stack_resource(StackName=stack, LogicalResourceId=logical_id)
        except ClientError as error:
            return {"error": error.response["Error"]["Code"], "message": error.response["Error"]["Message"]}
        detail = detail["StackResourceDetail"]
        return {
            "status": detail["ResourceStatus"],
            "physical": detail.get("PhysicalResourceId"),
            "type": detail["ResourceType"],
            "reason": detail.get("ResourceStatusReason"),
        }


    def handler(event, context):
        properties = event["ResourceProperties"]
        client = boto3.client("cloudformation")
        for target in filter(None, (item.strip() for item in properties.get("Describe", "").split(","))):
            stack, _, logical_id = target.rpartition("|")
            deadline = time.monotonic() + 8
            while True:
                answer = _describe(client, stack or event["StackId"], logical_id)
                wanted = properties.get("DescribeUntil")
                if not wanted or answer.get("status") == wanted or time.monotonic() > deadline:
                    break
                time.sleep(0.1)
            print("DESCRIBED " + json.dumps({"target": target, **answer}), flush=True)
        return scripted.handler(event, context)
    '''
)


@pytest.fixture(scope="session")
def describing_asset(tmp_path_factory: pytest.TempPathFactory) -> Path:
    folder = tmp_path_factory.mktemp("describing") / "asset"
    folder.mkdir()
    shutil.copyfile(SCRIPTED_RESOURCE / "index.py", folder / "scripted.py")
    (folder / "index.py").write_text(WRAPPER)
    return folder


@pytest.fixture
def cfn(cloudformation: CloudFormation, describing_asset: Path) -> CloudFormation:
    cloudformation.add_asset(DESCRIBING_ASSET_KEY, describing_asset)
    return cloudformation


def describing_template(resources: dict[str, dict], *, readable: tuple[str, ...] = ()) -> dict:
    """The scripted template, its function running the describing wrapper, its role allowed to describe
    its own stack's resources and those of the stacks `readable` names by id."""
    template = scripted_template(resources)
    template["Resources"][FUNCTION]["Properties"]["Code"]["S3Key"] = DESCRIBING_ASSET_KEY
    statement = template["Resources"][POLICY]["Properties"]["PolicyDocument"]["Statement"][0]
    statement["Action"] = ["cloudformation:DescribeStacks", "cloudformation:DescribeStackResource"]
    statement["Resource"] = [statement["Resource"], *readable]
    return template


def deploy(
    cfn: CloudFormation, resources: dict[str, dict], stack: str = STACK, *, readable: tuple[str, ...] = ()
) -> StackOperation:
    return cfn.deploy(stack, describing_template(resources, readable=readable))


def told(request: CustomResourceRequest) -> dict[str, dict]:
    """What the handler was told for each target, by target."""
    answers = {}
    for line in request.logs.splitlines():
        if line.startswith("DESCRIBED "):
            answer = json.loads(line.removeprefix("DESCRIBED "))
            answers[answer.pop("target")] = answer
    return answers


def seen(operation: StackOperation, request_type: str, logical_id: str) -> dict[str, dict]:
    (request,) = [r for r in operation.requests_for(logical_id) if r.request_type == request_type]
    return told(request)


def brief(answer: dict) -> tuple[str | None, str | None]:
    return answer.get("status"), answer.get("physical")


def client_for(cfn: CloudFormation, *actions: str, attempts: int = 1) -> Any:
    """botocore's client for a role allowed `actions` (by default DescribeStackResource) on every stack."""
    name = f"observer-{uuid.uuid4().hex[:8]}"
    role_arn = cfn.iam.put_role(name)
    cfn.iam.put_role_policy(
        name,
        "observe",
        {
            "Version": "2012-10-17",
            "Statement": [
                {
                    "Effect": "Allow",
                    "Action": list(actions or ["cloudformation:DescribeStackResource"]),
                    "Resource": f"arn:aws:cloudformation:{cfn.region}:{cfn.account}:stack/*",
                }
            ],
        },
    )
    session = cfn.session_for(role_arn, name)
    return boto3.client(
        "cloudformation",
        endpoint_url=cfn.url,
        region_name=cfn.region,
        aws_access_key_id=session.access_key,
        aws_secret_access_key=session.secret_key,
        config=Config(retries={"mode": "standard", "total_max_attempts": attempts}),
    )


def detail(client: Any, stack: str, logical_id: str) -> dict:
    answer = client.describe_stack_resource(StackName=stack, LogicalResourceId=logical_id)
    return answer["StackResourceDetail"]


def status(client: Any, stack: str, logical_id: str) -> tuple[str, str | None]:
    answer = detail(client, stack, logical_id)
    return answer["ResourceStatus"], answer.get("PhysicalResourceId")


def refusal(client: Any, stack: str, logical_id: str) -> tuple[int, str, str]:
    with pytest.raises(ClientError) as raised:
        client.describe_stack_resource(StackName=stack, LogicalResourceId=logical_id)
    error = raised.value.response
    return error["ResponseMetadata"]["HTTPStatusCode"], error["Error"]["Code"], error["Error"]["Message"]


# The answer's shape and the refusals -------------------------------------------------------------------


def test_botocore_reads_a_resource_in_cloudformations_shape_by_stack_name_and_id(cfn):
    before = datetime.now(UTC)
    created = deploy(cfn, {"Resource": {"PhysicalId": "resource-1"}})
    client = client_for(cfn)

    by_name = detail(client, STACK, "Resource")
    by_id = detail(client, created.stack_id, "Resource")

    for answer in (by_name, by_id):
        assert answer["StackName"] == STACK
        assert answer["StackId"] == created.stack_id
        assert answer["LogicalResourceId"] == "Resource"
        assert answer["PhysicalResourceId"] == "resource-1"
        assert answer["ResourceType"] == RESOURCE_TYPE
        assert answer["ResourceStatus"] == "CREATE_COMPLETE"
        assert before - timedelta(seconds=1) <= answer["LastUpdatedTimestamp"] <= datetime.now(UTC)
        assert answer["DriftInformation"] == {"StackResourceDriftStatus": "NOT_CHECKED"}
    function = detail(client, STACK, FUNCTION)
    assert function["ResourceType"] == "AWS::Lambda::Function"
    assert function["PhysicalResourceId"].startswith(f"{STACK}-{FUNCTION}-")
    assert [(c.stack_name, c.logical_id, c.answered, c.resource_status) for c in cfn.resource_calls] == [
        (STACK, "Resource", 200, "CREATE_COMPLETE"),
        (created.stack_id, "Resource", 200, "CREATE_COMPLETE"),
        (STACK, FUNCTION, 200, "CREATE_COMPLETE"),
    ]
    assert cfn.resource_calls[0].physical_id == "resource-1"


def test_unknown_stacks_and_logical_ids_are_validation_errors(cfn):
    created = deploy(cfn, {"Resource": {}})
    client = client_for(cfn)
    unknown_id = f"arn:aws:cloudformation:us-east-1:111122223333:stack/{STACK}/{uuid.uuid4()}"

    assert refusal(client, STACK, "Missing") == (
        400,
        "ValidationError",
        f"Resource Missing does not exist for stack {STACK}",
    )
    assert refusal(client, created.stack_id, "Missing") == (
        400,
        "ValidationError",
        f"Resource Missing does not exist for stack {created.stack_id}",
    )
    assert refusal(client, unknown_id, "Resource") == (
        400,
        "ValidationError",
        f"Stack with id {unknown_id} does not exist",
    )
    assert refusal(client, "Never", "Resource") == (400, "ValidationError", "Stack 'Never' does not exist")
    assert [call.answered for call in cfn.resource_calls] == [400] * 4


def test_a_missing_parameter_is_refused_as_the_query_api_does(cfn):
    deploy(cfn, {"Resource": {}})
    (key,) = [f.session.access_key for f in cfn.lambda_service.functions.values() if f.session]

    status_code, body = cfn.describe_stack_resource(key, STACK, None)

    assert status_code == 400
    assert "<Code>ValidationError</Code>" in body
    assert "Value null at 'logicalResourceId' failed to satisfy constraint: Member must not be null" in body


def test_a_caller_is_authorized_by_describe_stack_resource_on_the_stack_id(cfn):
    created = deploy(cfn, {"Resource": {}})
    describes_stacks_only = client_for(cfn, "cloudformation:DescribeStacks")

    status_code, code, message = refusal(describes_stacks_only, STACK, "Resource")

    assert (status_code, code) == (403, "AccessDenied")
    assert message.startswith("User: arn:aws:sts::111122223333:assumed-role/observer-")
    assert message.endswith(
        f"is not authorized to perform: cloudformation:DescribeStackResource on resource: {created.stack_id} "
        "because no identity-based policy allows the cloudformation:DescribeStackResource action"
    )
    assert describes_stacks_only.describe_stacks(StackName=STACK)["Stacks"][0]["StackId"] == created.stack_id
    assert [(call.answered, call.resource_status) for call in cfn.resource_calls] == [(403, None)]


def test_describe_stack_resource_can_be_throttled_and_every_attempt_is_recorded(cfn):
    deploy(cfn, {"Resource": {"PhysicalId": "resource-1"}})
    cfn.throttled = {"DescribeStackResource"}

    assert refusal(client_for(cfn, attempts=2), STACK, "Resource") == (400, "Throttling", "Rate exceeded")
    assert cfn.describe_stacks(next(iter(cfn.credentials)), STACK)[0] == 200  # other actions are not

    assert [(call.answered, call.resource_status) for call in cfn.resource_calls] == [(400, None)] * 2
    cfn.throttled = set()
    assert status(client_for(cfn), STACK, "Resource") == ("CREATE_COMPLETE", "resource-1")


# Creates and updates ----------------------------------------------------------------------------------------


def test_a_create_is_in_progress_while_its_handler_runs_then_complete(cfn):
    created = deploy(
        cfn,
        {
            "First": {"PhysicalId": "first-1", "Describe": "First"},
            "Second": {"DependsOn": ["First"], "Describe": "First,Second"},
        },
    )

    assert seen(created, "Create", "First") == {
        "First": {"status": "CREATE_IN_PROGRESS", "physical": None, "type": RESOURCE_TYPE, "reason": None}
    }
    second = seen(created, "Create", "Second")
    assert brief(second["First"]) == ("CREATE_COMPLETE", "first-1")
    assert brief(second["Second"]) == ("CREATE_IN_PROGRESS", None)
    second_id = created.requests_for("Second")[0].answered_physical_id
    assert status(client_for(cfn), STACK, "Second") == ("CREATE_COMPLETE", second_id)


def test_a_failed_create_is_create_failed_then_deleted_by_its_rollback(cfn):
    failed = deploy(
        cfn,
        {
            "Failing": {"FailOn": "Create", "FailedPhysicalId": "partial-1"},
            "Watcher": {"Describe": "Failing", "DescribeUntil": "CREATE_FAILED"},
            "Later": {"DependsOn": ["Failing"]},
        },
    )

    assert failed.status == "ROLLBACK_COMPLETE"
    watched = seen(failed, "Create", "Watcher")["Failing"]
    assert brief(watched) == ("CREATE_FAILED", "partial-1")
    assert watched["reason"].startswith("Received response status [FAILED] from custom resource.")
    client = client_for(cfn)
    assert status(client, STACK, "Failing") == ("DELETE_COMPLETE", "partial-1")
    assert status(client, failed.stack_id, "Watcher")[0] == "DELETE_COMPLETE"
    never_begun = f"Resource Later does not exist for stack {STACK}"
    assert refusal(client, STACK, "Later") == (400, "ValidationError", never_begun)


def test_an_update_is_in_progress_while_its_handler_runs_with_the_physical_id_it_updates(cfn):
    deploy(cfn, {"Resource": {"PhysicalId": "resource-1", "Value": 1}})

    updated = deploy(cfn, {"Resource": {"PhysicalId": "resource-1", "Value": 2, "Describe": "Resource"}})

    assert brief(seen(updated, "Update", "Resource")["Resource"]) == ("UPDATE_IN_PROGRESS", "resource-1")
    assert status(client_for(cfn), STACK, "Resource") == ("UPDATE_COMPLETE", "resource-1")


def test_a_failed_update_is_update_failed_until_its_rollback_updates_it(cfn):
    """The rollback goes in dependency order: Earlier's rollback Update sees Failing as its Update left it.
    (A rollback Update carries the old properties: Describe is in both templates.)"""
    deploy(
        cfn,
        {
            "Earlier": {"Value": 1, "Describe": "Earlier,Failing"},
            "Failing": {"Value": 1, "PhysicalId": "failing-1", "DependsOn": ["Earlier"]},
        },
    )

    failed = deploy(
        cfn,
        {
            "Earlier": {"Value": 2, "Describe": "Earlier,Failing"},
            "Failing": {
                "Value": 2,
                "PhysicalId": "failing-1",
                "FailOn": "Update",
                "FailedPhysicalId": "broken-1",
                "DependsOn": ["Earlier"],
            },
        },
    )

    assert failed.status == "UPDATE_ROLLBACK_COMPLETE"
    update, rollback = failed.requests_for("Earlier")
    assert rollback.stack_status == "UPDATE_ROLLBACK_IN_PROGRESS"
    assert brief(told(update)["Earlier"])[0] == "UPDATE_IN_PROGRESS"
    assert brief(told(update)["Failing"]) == ("CREATE_COMPLETE", "failing-1")  # its Update not yet begun
    assert brief(told(rollback)["Earlier"])[0] == "UPDATE_IN_PROGRESS"
    during_rollback = told(rollback)["Failing"]
    assert brief(during_rollback) == ("UPDATE_FAILED", "broken-1")  # the id the failure carried
    assert "told to fail on Update" in during_rollback["reason"]
    # The rollback answered failing-1 again; deleting broken-1 in the cleanup leaves the resource as it is.
    assert failed.sent()[-1] == ("Delete", "Failing", "broken-1")
    assert status(client_for(cfn), STACK, "Failing") == ("UPDATE_COMPLETE", "failing-1")


def test_a_replacement_is_described_with_its_new_physical_id_from_the_update_phase(cfn):
    deploy(cfn, {"Replaced": {"PhysicalId": "replaced-1", "Describe": "Replaced"}})

    updated = deploy(cfn, {"Replaced": {"PhysicalId": "replaced-2", "Describe": "Replaced"}})

    assert updated.sent() == [("Update", "Replaced", "replaced-1"), ("Delete", "Replaced", "replaced-1")]
    assert brief(seen(updated, "Update", "Replaced")["Replaced"]) == ("UPDATE_IN_PROGRESS", "replaced-1")
    # The old physical resource's Delete, in the cleanup phase, finds the resource as its replacement.
    assert brief(seen(updated, "Delete", "Replaced")["Replaced"]) == ("UPDATE_COMPLETE", "replaced-2")
    assert status(client_for(cfn), STACK, "Replaced") == ("UPDATE_COMPLETE", "replaced-2")


def test_a_native_replacement_is_described_with_its_new_id_while_the_old_one_waits_for_cleanup(cfn):
    def template(log_group_name: str, resources: dict[str, dict]) -> dict:
        body = describing_template(resources)
        body["Resources"]["Logs"] = {
            "Type": "AWS::Logs::LogGroup",
            "Properties": {"LogGroupName": log_group_name},
        }
        return body

    cfn.deploy(STACK, template("logs-1", {"Removed": {"DependsOn": ["Logs"], "Describe": "Logs"}}))

    updated = cfn.deploy(STACK, template("logs-2", {}))

    assert [(e.physical_id, e.status) for e in updated.events if e.logical_id == "Logs"] == [
        ("logs-1", "UPDATE_IN_PROGRESS"),
        ("logs-2", "UPDATE_COMPLETE"),
        ("logs-1", "DELETE_IN_PROGRESS"),
        ("logs-1", "DELETE_COMPLETE"),
    ]
    # Removed goes first in the cleanup (it depended on Logs): the replacement is what it finds.
    assert brief(seen(updated, "Delete", "Removed")["Logs"]) == ("UPDATE_COMPLETE", "logs-2")
    logs = detail(client_for(cfn), STACK, "Logs")
    assert (logs["ResourceType"], logs["ResourceStatus"], logs["PhysicalResourceId"]) == (
        "AWS::Logs::LogGroup",
        "UPDATE_COMPLETE",
        "logs-2",
    )


# The cleanup phase ------------------------------------------------------------------------------------------


def test_a_removed_resource_is_described_until_its_delete_completes_then_does_not_exist(cfn):
    created = deploy(
        cfn,
        {
            "First": {"PhysicalId": "first-1", "Describe": "First,Second"},
            "Second": {"PhysicalId": "second-1", "DependsOn": ["First"], "Describe": "First,Second"},
            "Kept": {},
        },
    )

    updated = deploy(cfn, {"Kept": {}})

    assert updated.sent() == [("Delete", "Second", "second-1"), ("Delete", "First", "first-1")]
    second = seen(updated, "Delete", "Second")
    assert brief(second["First"]) == ("CREATE_COMPLETE", "first-1")  # removed, not yet deleted
    assert brief(second["Second"]) == ("DELETE_IN_PROGRESS", "second-1")
    first = seen(updated, "Delete", "First")
    assert brief(first["First"]) == ("DELETE_IN_PROGRESS", "first-1")
    assert first["Second"] == {
        "error": "ValidationError",
        "message": f"Resource Second does not exist for stack {created.stack_id}",
    }
    client = client_for(cfn)
    assert refusal(client, STACK, "First") == (
        400,
        "ValidationError",
        f"Resource First does not exist for stack {STACK}",
    )
    assert status(client, STACK, "Kept")[0] == "CREATE_COMPLETE"


def test_a_removed_resource_whose_delete_failed_is_delete_failed_until_the_cleanup_ends(cfn):
    deploy(
        cfn,
        {
            "Removed": {"PhysicalId": "removed-1", "FailOn": "Delete", "DependsOn": ["Watcher"]},
            "Watcher": {"Describe": "Removed"},
            "Kept": {},
        },
    )

    updated = deploy(cfn, {"Kept": {}})

    assert updated.status == "UPDATE_COMPLETE"
    watched = seen(updated, "Delete", "Watcher")["Removed"]
    assert brief(watched) == ("DELETE_FAILED", "removed-1")
    assert "told to fail on Delete" in watched["reason"]
    assert refusal(client_for(cfn), STACK, "Removed")[1:] == (
        "ValidationError",
        f"Resource Removed does not exist for stack {STACK}",
    )


def test_a_resource_added_by_a_failed_update_is_gone_after_the_rollback_cleanup(cfn):
    deploy(cfn, {"Kept": {}})

    failed = deploy(
        cfn,
        {"Kept": {}, "Added": {"Describe": "Added"}, "Failing": {"FailOn": "Create", "DependsOn": ["Added"]}},
    )

    assert failed.status == "UPDATE_ROLLBACK_COMPLETE"
    assert brief(seen(failed, "Create", "Added")["Added"]) == ("CREATE_IN_PROGRESS", None)
    assert brief(seen(failed, "Delete", "Added")["Added"])[0] == "DELETE_IN_PROGRESS"
    client = client_for(cfn)
    for logical_id in ("Added", "Failing"):
        message = f"Resource {logical_id} does not exist for stack {STACK}"
        assert refusal(client, STACK, logical_id) == (400, "ValidationError", message)


# A deleted stack --------------------------------------------------------------------------------------------


def test_a_deleted_stack_is_described_by_its_id_and_no_longer_by_its_name(cfn):
    created = deploy(
        cfn,
        {
            "First": {"PhysicalId": "first-1", "Describe": "First,Second"},
            "Second": {"PhysicalId": "second-1", "DependsOn": ["First"], "Describe": "First,Second"},
            "Retained": {"PhysicalId": "retained-1", "DeletionPolicy": "Retain"},
        },
    )
    client = client_for(cfn)

    deleted = cfn.delete(STACK)

    second = seen(deleted, "Delete", "Second")
    assert brief(second["Second"]) == ("DELETE_IN_PROGRESS", "second-1")
    assert brief(second["First"]) == ("CREATE_COMPLETE", "first-1")
    first = seen(deleted, "Delete", "First")
    assert brief(first["First"]) == ("DELETE_IN_PROGRESS", "first-1")
    assert brief(first["Second"]) == ("DELETE_COMPLETE", "second-1")  # the stack goes as a whole
    stack_id = created.stack_id
    assert status(client, stack_id, "First") == ("DELETE_COMPLETE", "first-1")
    assert status(client, stack_id, "Second") == ("DELETE_COMPLETE", "second-1")
    assert status(client, stack_id, "Retained") == ("DELETE_SKIPPED", "retained-1")
    assert status(client, stack_id, FUNCTION)[0] == "DELETE_COMPLETE"
    assert detail(client, stack_id, "First")["StackName"] == STACK
    assert refusal(client, STACK, "First") == (400, "ValidationError", f"Stack '{STACK}' does not exist")
    assert refusal(client, stack_id, "Missing")[2] == f"Resource Missing does not exist for stack {stack_id}"

    recreated = deploy(cfn, {"First": {"PhysicalId": "first-2"}})

    assert status(client, STACK, "First") == ("CREATE_COMPLETE", "first-2")
    assert status(client, recreated.stack_id, "First") == ("CREATE_COMPLETE", "first-2")
    assert status(client, stack_id, "First") == ("DELETE_COMPLETE", "first-1")


def test_a_stack_whose_deletion_failed_describes_the_failed_resource_as_delete_failed(cfn):
    deploy(
        cfn, {"Stubborn": {"PhysicalId": "stubborn-1", "FailOn": "Delete"}, "Easy": {"PhysicalId": "easy-1"}}
    )

    deleted = cfn.delete(STACK)

    assert deleted.status == "DELETE_FAILED"
    client = client_for(cfn)
    stubborn = detail(client, STACK, "Stubborn")
    assert (stubborn["ResourceStatus"], stubborn["PhysicalResourceId"]) == ("DELETE_FAILED", "stubborn-1")
    assert "told to fail on Delete" in stubborn["ResourceStatusReason"]
    assert status(client, STACK, "Easy") == ("DELETE_COMPLETE", "easy-1")
    assert status(client, STACK, FUNCTION)[0] == "CREATE_COMPLETE"  # its dependent's failure kept it


# Several stacks ---------------------------------------------------------------------------------------------


def test_a_handler_in_one_stack_describes_a_resource_of_another_when_its_role_allows(cfn):
    source = deploy(cfn, {"Pool": {"PhysicalId": "pool-1"}}, stack="Source")

    allowed = deploy(
        cfn, {"Reader": {"Describe": f"{source.stack_id}|Pool"}}, stack="Reader", readable=(source.stack_id,)
    )
    denied = deploy(cfn, {"Reader": {"Describe": f"{source.stack_id}|Pool"}}, stack="Stranger")

    pool = f"{source.stack_id}|Pool"
    assert brief(seen(allowed, "Create", "Reader")[pool]) == ("CREATE_COMPLETE", "pool-1")
    refused = seen(denied, "Create", "Reader")[pool]
    assert refused["error"] == "AccessDenied"
    assert refused["message"].endswith(
        f"is not authorized to perform: cloudformation:DescribeStackResource on resource: {source.stack_id} "
        "because no identity-based policy allows the cloudformation:DescribeStackResource action"
    )
    assert ":assumed-role/Stranger-" in refused["message"]
    assert [call.answered for call in cfn.resource_calls] == [200, 403]

    cfn.delete("Source")
    after = deploy(
        cfn,
        {"Reader": {"Describe": f"{source.stack_id}|Pool,Source|Pool", "Value": 2}},
        stack="Reader",
        readable=(source.stack_id,),
    )

    later = seen(after, "Update", "Reader")
    assert brief(later[f"{source.stack_id}|Pool"]) == ("DELETE_COMPLETE", "pool-1")
    assert later["Source|Pool"] == {"error": "ValidationError", "message": "Stack 'Source' does not exist"}
