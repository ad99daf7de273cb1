"""The CloudFormation stand-in plays stack operations as CloudFormation does, shown with a custom resource
handler that answers as its properties tell it (`scripted_resource/index.py`)."""

from __future__ import annotations

import copy
import re
import time
import uuid
from urllib.parse import parse_qsl, urlsplit

import boto3
import pytest

from tests.stack.templates import FUNCTION, POLICY, RESOURCE_TYPE, ROLE, scripted_template
from tests.standins.cloudformation import CloudFormation, StackOperation, ValidationError

pytestmark = pytest.mark.integration

STACK = "Scripted"


def deploy(cfn: CloudFormation, resources: dict[str, dict], stack: str = STACK) -> StackOperation:
    return cfn.deploy(stack, scripted_template(resources))


def seen_statuses(operation: StackOperation) -> list[tuple[str, str, str]]:
    """(RequestType, LogicalResourceId, the status DescribeStacks gave the handler) of each event."""
    return [(r.request_type, r.logical_id, r.data.get("StackStatus", "")) for r in operation.requests]


# Order and concurrency --------------------------------------------------------------------------------------


def test_independent_resources_start_together_and_dependents_wait_for_their_answers(cloudformation):
    created = deploy(
        cloudformation,
        {
            "Slow1": {"SleepSeconds": "1"},
            "Slow2": {"SleepSeconds": "1"},
            "AfterSlow1": {"DependsOn": ["Slow1"]},
            "UsesSlow1": {"FromSlow1": {"Fn::GetAtt": ["Slow1", "Seen"]}},
        },
    )

    assert created.statuses == ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"]
    slow1, slow2 = created.requests_for("Slow1")[0], created.requests_for("Slow2")[0]
    assert max(slow1.sent_at, slow2.sent_at) < min(slow1.answered_at, slow2.answered_at)
    for dependent in ("AfterSlow1", "UsesSlow1"):
        assert created.requests_for(dependent)[0].sent_at >= slow1.answered_at
    assert created.requests_for("UsesSlow1")[0].properties["FromSlow1"] == "Create"


def test_the_function_is_created_after_its_role_and_policy(cloudformation):
    created = deploy(cloudformation, {"Resource": {}})

    completed = [event.logical_id for event in created.events if event.status == "CREATE_COMPLETE"]
    assert (
        completed.index(ROLE)
        < completed.index(POLICY)
        < completed.index(FUNCTION)
        < completed.index("Resource")
    )


# Events -----------------------------------------------------------------------------------------------------


def test_a_create_event_is_as_cloudformation_sends_it(cloudformation):
    before = time.time()
    created = deploy(
        cloudformation,
        {
            "Pool": {
                "Hours": 48,
                "Restore": True,
                "Ratio": 1.5,
                "Nested": {"List": [1, False]},
                "ServiceTimeout": 300,
            }
        },
    )

    (request,) = created.requests
    event = request.event
    assert set(event) == {
        "RequestType",
        "ServiceToken",
        "ResponseURL",
        "StackId",
        "RequestId",
        "LogicalResourceId",
        "ResourceType",
        "ResourceProperties",
    }
    assert re.fullmatch(
        rf"arn:aws:cloudformation:us-east-1:111122223333:stack/{STACK}/[0-9a-f-]{{36}}", event["StackId"]
    )
    assert str(uuid.UUID(event["RequestId"])) == event["RequestId"]
    assert event["ResourceType"] == RESOURCE_TYPE
    assert event["ServiceToken"].startswith(
        f"arn:aws:lambda:us-east-1:111122223333:function:{STACK}-{FUNCTION}-"
    )
    assert event["ResourceProperties"] == {
        "ServiceToken": event["ServiceToken"],
        "Hours": "48",
        "Restore": "true",
        "Ratio": "1.5",
        "Nested": {"List": ["1", "false"]},
        "ServiceTimeout": "300",
    }
    url = urlsplit(event["ResponseURL"])
    query = parse_qsl(url.query)
    assert [name for name, _ in query] == [
        "X-Amz-Algorithm",
        "X-Amz-Date",
        "X-Amz-Expires",
        "X-Amz-SignedHeaders",
        "X-Amz-Credential",
        "X-Amz-Signature",
    ]
    values = dict(query)
    assert values["X-Amz-Algorithm"] == "AWS4-HMAC-SHA256"
    signed_at = time.mktime(time.strptime(values["X-Amz-Date"], "%Y%m%dT%H%M%SZ")) - time.timezone
    assert before - 1 <= signed_at <= time.time()
    assert values["X-Amz-Expires"] == "7200"
    assert re.fullmatch(r"[0-9a-f]{64}", values["X-Amz-Signature"])
    assert event["RequestId"] in url.path


def test_an_update_sends_the_old_and_new_properties_and_keeps_the_physical_id(cloudformation):
    created = deploy(cloudformation, {"Changed": {"Value": 1}, "Unchanged": {"Value": 1}})

    updated = deploy(cloudformation, {"Changed": {"Value": 2}, "Unchanged": {"Value": 1}})

    assert updated.statuses == [
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_COMPLETE",
    ]
    physical_id = created.requests_for("Changed")[0].answered_physical_id
    assert updated.sent() == [("Update", "Changed", physical_id)]
    (update,) = updated.requests
    assert update.properties["Value"] == "2"
    assert update.old_properties is not None
    assert update.old_properties["Value"] == "1"


# The cleanup phase ------------------------------------------------------------------------------------------


def test_cleanup_deletes_removed_resources_in_reverse_dependency_order_of_the_old_template(cloudformation):
    created = deploy(
        cloudformation,
        {
            "First": {"Value": 1},
            "Second": {"DependsOn": ["First"]},
            "Third": {"DependsOn": ["Second"]},
            "Kept": {},
        },
    )

    updated = deploy(cloudformation, {"Kept": {}})

    ids = {request.logical_id: request.answered_physical_id for request in created.requests}
    assert updated.sent() == [
        ("Delete", "Third", ids["Third"]),
        ("Delete", "Second", ids["Second"]),
        ("Delete", "First", ids["First"]),
    ]
    assert {request.stack_status for request in updated.requests} == {"UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"}
    assert updated.requests_for("First")[0].properties["Value"] == "1"
    assert updated.status == "UPDATE_COMPLETE"


def test_a_replacement_deletes_the_old_physical_id_with_its_old_properties_in_cleanup(cloudformation):
    deploy(cloudformation, {"Resource": {"PhysicalId": "resource-1", "Value": 1}})

    updated = deploy(cloudformation, {"Resource": {"PhysicalId": "resource-2", "Value": 2}})

    assert updated.sent() == [("Update", "Resource", "resource-1"), ("Delete", "Resource", "resource-1")]
    update, delete = updated.requests
    assert update.answered_physical_id == "resource-2"
    assert update.stack_status == "UPDATE_IN_PROGRESS"
    assert delete.stack_status == "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
    assert delete.properties["PhysicalId"] == "resource-1"
    assert delete.properties["Value"] == "1"
    assert cloudformation.stack(STACK).physical_id("Resource") == "resource-2"


def test_a_delete_failing_in_cleanup_is_recorded_and_the_stack_still_completes(cloudformation):
    deploy(cloudformation, {"Removed": {"FailOn": "Delete", "PhysicalId": "removed-1"}, "Kept": {}})

    updated = deploy(cloudformation, {"Kept": {}})

    assert updated.status == "UPDATE_COMPLETE"
    (failure,) = updated.failures
    assert (failure.logical_id, failure.physical_id, failure.status) == (
        "Removed",
        "removed-1",
        "DELETE_FAILED",
    )
    assert "told to fail on Delete" in failure.reason
    assert cloudformation.stack(STACK).physical_id("Removed") is None


def test_a_retained_resource_is_not_deleted(cloudformation):
    deploy(cloudformation, {"Retained": {"DeletionPolicy": "Retain"}, "Kept": {}})

    updated = deploy(cloudformation, {"Kept": {}})

    assert updated.requests == []
    assert [event.status for event in updated.events if event.logical_id == "Retained"] == ["DELETE_SKIPPED"]


# Rollback of an update --------------------------------------------------------------------------------------


def test_a_failed_update_rolls_back_what_it_changed_and_deletes_what_it_created(cloudformation):
    created = deploy(
        cloudformation,
        {"Parent": {"Value": 1}, "Child": {"Value": 1, "DependsOn": ["Parent"]}, "Unchanged": {}},
    )
    ids = {request.logical_id: request.answered_physical_id for request in created.requests}

    failed = deploy(
        cloudformation,
        {
            "Parent": {"Value": 2},
            "Child": {"Value": 2, "FailOn": "Update", "DependsOn": ["Parent"]},
            "Added": {"DependsOn": ["Parent"]},
            "Unchanged": {},
        },
    )

    assert failed.statuses == [
        "UPDATE_IN_PROGRESS",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE",
    ]
    rollback = [r for r in failed.requests if r.stack_status == "UPDATE_ROLLBACK_IN_PROGRESS"]
    assert [(r.request_type, r.logical_id, r.physical_id) for r in rollback] == [
        ("Update", "Parent", ids["Parent"]),
        ("Update", "Child", ids["Child"]),
    ]
    for request in rollback:
        assert request.properties["Value"] == "1"
        assert request.old_properties is not None
        assert request.old_properties["Value"] == "2"
    assert rollback[1].sent_at >= rollback[0].answered_at
    cleanup = [r for r in failed.requests if r.stack_status == "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"]
    added_id = failed.requests_for("Added")[0].answered_physical_id
    assert [(r.request_type, r.logical_id, r.physical_id) for r in cleanup] == [("Delete", "Added", added_id)]
    assert failed.requests_for("Unchanged") == []
    (failure,) = failed.failures
    assert (failure.logical_id, failure.status) == ("Child", "UPDATE_FAILED")
    assert failure.reason.startswith(
        "Received response status [FAILED] from custom resource. Message returned: told to fail on Update"
    )
    with pytest.raises(ValidationError, match="No updates are to be performed"):
        deploy(
            cloudformation,
            {"Parent": {"Value": 1}, "Child": {"Value": 1, "DependsOn": ["Parent"]}, "Unchanged": {}},
        )


def test_the_id_a_failed_update_carried_is_recorded_then_deleted_after_the_rollback(cloudformation):
    deploy(cloudformation, {"Resource": {"PhysicalId": "resource-1", "Value": 1}})

    failed = deploy(
        cloudformation,
        {
            "Resource": {
                "PhysicalId": "resource-1",
                "Value": 2,
                "FailOn": "Update",
                "FailedPhysicalId": "resource-broken",
            }
        },
    )

    assert failed.sent() == [
        ("Update", "Resource", "resource-1"),
        ("Update", "Resource", "resource-broken"),  # the rollback goes to the id the failure carried
        ("Delete", "Resource", "resource-broken"),  # which the rollback's answer superseded
    ]
    rollback, delete = failed.requests[1:]
    assert rollback.properties["Value"] == "1"
    assert rollback.answered_physical_id == "resource-1"
    assert delete.stack_status == "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
    assert delete.properties["Value"] == "2"  # the properties that physical resource was last updated with
    assert failed.status == "UPDATE_ROLLBACK_COMPLETE"
    assert cloudformation.stack(STACK).physical_id("Resource") == "resource-1"


def test_a_replacement_rolled_back_deletes_the_new_physical_id_and_keeps_the_old(cloudformation):
    deploy(cloudformation, {"Replaced": {"PhysicalId": "replaced-1"}, "Failing": {"DependsOn": ["Replaced"]}})

    failed = deploy(
        cloudformation,
        {
            "Replaced": {"PhysicalId": "replaced-2"},
            "Failing": {"Value": 2, "FailOn": "Update", "DependsOn": ["Replaced"]},
        },
    )

    replaced = [
        (r.request_type, r.physical_id, r.answered_physical_id) for r in failed.requests_for("Replaced")
    ]
    assert replaced == [
        ("Update", "replaced-1", "replaced-2"),
        ("Update", "replaced-2", "replaced-1"),
        ("Delete", "replaced-2", "replaced-2"),
    ]
    assert failed.requests_for("Replaced")[2].properties["PhysicalId"] == "replaced-2"
    assert cloudformation.stack(STACK).physical_id("Replaced") == "replaced-1"


def test_a_failed_rollback_update_ends_in_update_rollback_failed(cloudformation):
    deploy(cloudformation, {"Stubborn": {"FailOn": "Update"}, "Failing": {}})

    failed = deploy(cloudformation, {"Stubborn": {"Value": 2}, "Failing": {"FailOn": "Update", "Value": 2}})

    assert failed.statuses[-1] == "UPDATE_ROLLBACK_FAILED"
    with pytest.raises(ValidationError, match="UPDATE_ROLLBACK_FAILED state and can not be updated"):
        deploy(cloudformation, {"Stubborn": {}, "Failing": {}})


def test_a_changed_service_token_is_refused_and_rolled_back(cloudformation):
    deploy(cloudformation, {"Resource": {}})
    template = scripted_template({"Resource": {}})
    template["Resources"]["OtherHandler"] = copy.deepcopy(template["Resources"][FUNCTION])
    template["Resources"]["Resource"]["Properties"]["ServiceToken"] = {"Fn::GetAtt": ["OtherHandler", "Arn"]}

    failed = cloudformation.deploy(STACK, template)

    assert failed.requests == []  # the resource's handler is never asked
    (failure,) = failed.failures
    assert (failure.logical_id, failure.reason) == ("Resource", "Modifying service token is not allowed.")
    assert failed.status == "UPDATE_ROLLBACK_COMPLETE"
    other = [
        e.physical_id
        for e in failed.events
        if e.logical_id == "OtherHandler" and e.status == "DELETE_COMPLETE"
    ]
    assert len(other) == 1
    assert len(cloudformation.lambda_service.functions) == 1


# A failed create and a deleted stack ------------------------------------------------------------------------


def test_a_failed_create_deletes_what_it_made_with_the_id_the_failure_carried(cloudformation):
    failed = deploy(
        cloudformation,
        {"Made": {}, "Failing": {"DependsOn": ["Made"], "FailOn": "Create", "FailedPhysicalId": "partial-1"}},
    )

    made_id = failed.requests_for("Made")[0].answered_physical_id
    assert failed.statuses == ["CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE"]
    assert failed.sent() == [
        ("Create", "Made", None),
        ("Create", "Failing", None),
        ("Delete", "Failing", "partial-1"),
        ("Delete", "Made", made_id),
    ]
    assert cloudformation.lambda_service.functions == {}
    with pytest.raises(ValidationError, match="ROLLBACK_COMPLETE state and can not be updated"):
        deploy(cloudformation, {"Made": {}})
    assert cloudformation.delete(STACK).status == "DELETE_COMPLETE"
    assert deploy(cloudformation, {"Made": {}}).status == "CREATE_COMPLETE"


def test_a_failure_without_a_physical_id_gets_one_made_up_for_its_delete(cloudformation):
    failed = deploy(cloudformation, {"Failing": {"FailOn": "Create"}})

    create, delete = failed.requests
    assert create.answered_physical_id is None
    assert delete.request_type == "Delete"
    assert re.fullmatch(rf"{STACK}-Failing-[A-Za-z0-9]{{12}}", delete.physical_id or "")


def test_a_resource_that_never_answers_fails_when_the_wait_ends(cloudformation):
    cloudformation.response_wait_cap = 1.0

    failed = deploy(cloudformation, {"Silent": {"SilentOn": "Create"}})

    (failure,) = failed.failures
    assert failure.reason == "Custom Resource failed to stabilize in expected time"
    assert failed.sent()[1][0] == "Delete"
    assert failed.status == "ROLLBACK_COMPLETE"


def test_an_answer_over_4096_bytes_fails_the_resource(cloudformation):
    failed = deploy(cloudformation, {"Verbose": {"DataPadding": "5000"}})

    assert [(failure.status, failure.reason) for failure in failed.failures] == [
        ("CREATE_FAILED", "Response object is too long."),
        ("DELETE_FAILED", "Response object is too long."),  # the Delete's answer is as long
    ]
    assert failed.status == "ROLLBACK_FAILED"


def test_deleting_a_stack_goes_in_reverse_dependency_order(cloudformation):
    created = deploy(
        cloudformation, {"First": {}, "Second": {"DependsOn": ["First"]}, "Third": {"DependsOn": ["Second"]}}
    )
    function = cloudformation.lambda_service.function_named(created.requests[0].event["ServiceToken"])
    assert function is not None
    assert function.session is not None

    deleted = cloudformation.delete(STACK)

    assert [(r.request_type, r.logical_id) for r in deleted.requests] == [
        ("Delete", "Third"),
        ("Delete", "Second"),
        ("Delete", "First"),
    ]
    assert deleted.statuses == ["DELETE_IN_PROGRESS", "DELETE_COMPLETE"]
    resources_deleted = [e.logical_id for e in deleted.events if e.status == "DELETE_COMPLETE"][:-1]
    assert resources_deleted[-3:] == [FUNCTION, POLICY, ROLE]
    assert not cloudformation.iam.role_exists(function.session.role_arn)
    assert cloudformation.stack(created.stack_id).status == "DELETE_COMPLETE"
    with pytest.raises(ValidationError, match="does not exist"):
        cloudformation.stack(STACK)


# What the handler sees --------------------------------------------------------------------------------------


def test_the_handler_sees_the_stacks_status_in_every_phase(cloudformation):
    described = {"DescribeStack": "true"}

    created = deploy(cloudformation, {"Kept": described, "Removed": described})
    updated = deploy(cloudformation, {"Kept": {**described, "Value": 2}})
    rolled_back = deploy(
        cloudformation,
        {
            "Kept": {**described, "Value": 3},
            "Added": described,
            "Failing": {"FailOn": "Create", "DependsOn": ["Kept"]},
        },
    )
    deleted = cloudformation.delete(STACK)
    failed_create = deploy(
        cloudformation, {"Made": described, "Failing": {"FailOn": "Create", "DependsOn": ["Made"]}}
    )

    assert sorted(seen_statuses(created)) == [  # the two start together: either may be sent first
        ("Create", "Kept", "CREATE_IN_PROGRESS"),
        ("Create", "Removed", "CREATE_IN_PROGRESS"),
    ]
    assert seen_statuses(updated) == [
        ("Update", "Kept", "UPDATE_IN_PROGRESS"),
        ("Delete", "Removed", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"),
    ]
    assert sorted(seen_statuses(rolled_back)) == [
        ("Create", "Added", "UPDATE_IN_PROGRESS"),
        ("Create", "Failing", ""),
        ("Delete", "Added", "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"),
        ("Delete", "Failing", ""),
        ("Update", "Kept", "UPDATE_IN_PROGRESS"),
        ("Update", "Kept", "UPDATE_ROLLBACK_IN_PROGRESS"),
    ]
    assert seen_statuses(deleted) == [("Delete", "Kept", "DELETE_IN_PROGRESS")]
    assert seen_statuses(failed_create)[-1] == ("Delete", "Made", "ROLLBACK_IN_PROGRESS")


def test_an_iam_change_is_in_force_from_the_update_phase_and_rolled_back_with_it(cloudformation):
    deploy(cloudformation, {"Reader": {"DescribeStack": "true"}})
    template = scripted_template(
        {
            "Reader": {"DescribeStack": "true", "Value": 2},
            "Failing": {"FailOn": "Create", "DependsOn": ["Reader"]},
        }
    )
    statement = template["Resources"][POLICY]["Properties"]["PolicyDocument"]["Statement"][0]
    statement["Resource"] = {
        "Fn::Sub": "arn:${AWS::Partition}:cloudformation:${AWS::Region}:${AWS::AccountId}:stack/Other/*"
    }

    failed = cloudformation.deploy(STACK, template)

    update, rollback = failed.requests_for("Reader")
    assert update.data["StackStatus"] == "error AccessDenied"  # the narrowed policy came first
    assert rollback.data["StackStatus"] == "UPDATE_ROLLBACK_IN_PROGRESS"  # and went back before it


def test_each_stack_runs_its_function_with_its_own_role(cloudformation):
    first = deploy(cloudformation, {"Reader": {"DescribeStack": "true"}}, stack="First")
    second = deploy(cloudformation, {"Reader": {"DescribeStack": "true"}}, stack="Second")

    sessions = [function.session for function in cloudformation.lambda_service.functions.values()]
    assert [request.data["StackStatus"] for request in (*first.requests, *second.requests)] == [
        "CREATE_IN_PROGRESS"
    ] * 2
    assert len({session.role_arn for session in sessions if session}) == 2
    first_key = next(s.access_key for s in sessions if s and f":role/First-{ROLE}-" in s.role_arn)
    status, body = cloudformation.describe_stacks(first_key, "Second")
    assert status == 403
    assert "is not authorized to perform: cloudformation:DescribeStacks" in body


def test_describe_stacks_answers_botocore_with_the_stacks_outputs(cloudformation):
    template = scripted_template({"Resource": {"PhysicalId": "resource-1"}})
    template["Outputs"] = {"ResourceId": {"Value": {"Ref": "Resource"}}}
    created = cloudformation.deploy(STACK, template)
    (function,) = cloudformation.lambda_service.functions.values()
    assert function.session is not None

    described = boto3.client(
        "cloudformation",
        endpoint_url=cloudformation.url,
        region_name="us-east-1",
        aws_access_key_id=function.session.access_key,
        aws_secret_access_key=function.session.secret_key,
    ).describe_stacks(StackName=created.stack_id)["Stacks"][0]

    assert described["StackId"] == created.stack_id
    assert described["StackName"] == STACK
    assert described["StackStatus"] == "CREATE_COMPLETE"
    assert described["Outputs"] == [{"OutputKey": "ResourceId", "OutputValue": "resource-1"}]
    assert described["CreationTime"].year >= 2026
