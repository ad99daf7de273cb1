"""A custom resource handler that answers as its properties tell it: the CloudFormation stand-in's tests use
it to play every kind of answer. Standard library only, plus boto3 (the Lambda runtime's) for DescribeStacks.

Properties (strings, as CloudFormation sends them):
- `PhysicalId`: the id a SUCCESS answer carries; by default the event's PhysicalResourceId, or on Create
  `<LogicalResourceId>-<first 8 characters of the RequestId>`.
- `FailOn`: request types (comma-separated) answered FAILED; `FailedPhysicalId`: the id that answer carries
  (none when the property is absent).
- `SilentOn`: request types never answered. `CrashOn`: request types that raise before answering.
- `SleepSeconds`: a pause before answering.
- `DescribeStack`: "true" to answer, as `Data.StackStatus`, the stack's status read with DescribeStacks
  (or `error <code>` when that call fails).
- `DataPadding`: that many characters of padding in `Data.Padding` (to make an answer too long).
Every SUCCESS answer's Data has `Seen`: the RequestType answered.
"""

import json
import time
import urllib.request


def _listed(properties, name, request_type):
    return request_type in [item.strip() for item in properties.get(name, "").split(",")]


def _stack_status(stack_id):
    import boto3  # only when asked: it takes a third of a second to import
    from botocore.exceptions import ClientError

    try:
        stacks = boto3.client("cloudformation").describe_stacks(StackName=stack_id)["Stacks"]
    except ClientError as error:
        return f"error {error.response['Error']['Code']}"
    return stacks[0]["StackStatus"]


def handler(event, context):
    properties = event["ResourceProperties"]
    request_type = event["RequestType"]
    print(f"{request_type} {event['LogicalResourceId']} {event.get('PhysicalResourceId', '-')}")
    if _listed(properties, "CrashOn", request_type):
        raise RuntimeError(f"told to crash on {request_type}")
    time.sleep(float(properties.get("SleepSeconds", "0")))
    if _listed(properties, "SilentOn", request_type):
        return
    data = {"Seen": request_type}
    if properties.get("DescribeStack") == "true":
        data["StackStatus"] = _stack_status(event["StackId"])
    if "DataPadding" in properties:
        data["Padding"] = "x" * int(properties["DataPadding"])
    default_id = event.get("PhysicalResourceId") or f"{event['LogicalResourceId']}-{event['RequestId'][:8]}"
    body = {
        "Status": "SUCCESS",
        "PhysicalResourceId": properties.get("PhysicalId", default_id),
        "StackId": event["StackId"],
        "RequestId": event["RequestId"],
        "LogicalResourceId": event["LogicalResourceId"],
        "Data": data,
    }
    if _listed(properties, "FailOn", request_type):
        body.update(Status="FAILED", Reason=f"told to fail on {request_type}", Data={})
        body.pop("PhysicalResourceId")
        if "FailedPhysicalId" in properties:
            body["PhysicalResourceId"] = properties["FailedPhysicalId"]
    request = urllib.request.Request(
        event["ResponseURL"], data=json.dumps(body).encode(), method="PUT", headers={"Content-Type": ""}
    )
    with urllib.request.urlopen(request, timeout=10) as answer:
        answer.read()
