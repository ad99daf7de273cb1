"""Policy sizes as IAM counts them: the policy resolved, without white space.

Shared by the least-privilege tests (with the longest values the pseudo parameters can take, as IAM's
limits must hold wherever the stack deploys) and the benchmark (with typical ones).
"""

from __future__ import annotations

import json
from typing import Any

LONGEST = {
    "AWS::Partition": "aws-iso-b",
    "AWS::Region": "ap-southeast-10",
    "AWS::AccountId": "123456789012",
    # A stack name runs to 128 characters, the id's suffix is a UUID.
    "AWS::StackId": f"arn:aws-iso-b:cloudformation:ap-southeast-10:123456789012:stack/{'s' * 128}/{'u' * 36}",
    # The construct's log group, named by CloudFormation: the stack name, the logical id and a suffix.
    "Fn::GetAtt": "arn:aws-iso-b:logs:ap-southeast-10:123456789012:log-group:"
    + f"{'s' * 128}-{'l' * 48}-{'r' * 12}:*",
}
TYPICAL = {
    "AWS::Partition": "aws",
    "AWS::Region": "us-east-1",
    "AWS::AccountId": "123456789012",
    "AWS::StackId": "arn:aws:cloudformation:us-east-1:123456789012:stack/KvsPoolRetention/" + "u" * 36,
    "Fn::GetAtt": "arn:aws:logs:us-east-1:123456789012:log-group:KvsPoolRetention-Logs8FF1A635-AbCdEfGh:*",
}


def iam_chars(document: Any, pseudo: dict[str, str]) -> int:
    return len(json.dumps(resolve(document, pseudo), separators=(",", ":")))


def resolve(value: Any, pseudo: dict[str, str]) -> Any:
    if isinstance(value, dict):
        if "Ref" in value:
            return pseudo.get(value["Ref"], "x" * 20)
        if "Fn::GetAtt" in value:
            return pseudo["Fn::GetAtt"]
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(str(resolve(part, pseudo)) for part in parts)
        return {key: resolve(item, pseudo) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, pseudo) for item in value]
    return value
