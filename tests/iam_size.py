"""Policy sizes as IAM counts them: the policy resolved, without white space.

Shared by the least-privilege tests (with the longest values the pseudo parameters can take, as IAM's
limits must hold wherever the stack deploys) and the benchmark (with typical ones).
"""

from __future__ import annotations

import json
from typing import Any

LONGEST = {"AWS::Partition": "aws-iso-b", "AWS::Region": "ap-southeast-10", "AWS::AccountId": "123456789012"}
TYPICAL = {"AWS::Partition": "aws", "AWS::Region": "us-east-1", "AWS::AccountId": "123456789012"}
GETATT_LENGTH = 90  # a log group or function ARN


def iam_chars(document: Any, pseudo: dict[str, str]) -> int:
    return len(json.dumps(resolve(document, pseudo), separators=(",", ":")))


def resolve(value: Any, pseudo: dict[str, str]) -> Any:
    if isinstance(value, dict):
        if "Ref" in value:
            return pseudo.get(value["Ref"], "x" * 20)
        if "Fn::GetAtt" in value:
            return "x" * GETATT_LENGTH
        if "Fn::Join" in value:
            separator, parts = value["Fn::Join"]
            return separator.join(str(resolve(part, pseudo)) for part in parts)
        return {key: resolve(item, pseudo) for key, item in value.items()}
    if isinstance(value, list):
        return [resolve(item, pseudo) for item in value]
    return value
