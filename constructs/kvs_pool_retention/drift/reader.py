"""The drift check's reading of pools, run in a process of its own (check.py starts it) with the handler's
folder on its path: the handler's modules are top-level there and import each other so, as in the Lambda
runtime, and the caller's process never has them on its path.

Reads a JSON list of {"identifier", "region"} on stdin; writes, for each, {"hours", "status"} or
{"problem", "about_access"} (a pool not found or not allowed: often another account's credentials).
"""

from __future__ import annotations

import json
import sys
from typing import Any

import boto3
import calls
import errors
import pool_api


def read(requests: list[dict[str, Any]]) -> list[dict[str, Any]]:
    clients: dict[str | None, Any] = {}
    answers = []
    for request in requests:
        region = request["region"]
        if region not in clients:
            clients[region] = boto3.client("chime-sdk-media-pipelines", region_name=region)
        try:
            reader = pool_api.PoolApi(clients[region], calls.Caller(calls.Deadline(60)))
            configuration = reader.describe(request["identifier"])
        except (errors.PoolNotFound, errors.AccessDenied) as error:
            answers.append({"problem": str(error), "about_access": True})
            continue
        except errors.RetentionError as error:
            answers.append({"problem": str(error), "about_access": False})
            continue
        # A retention the API leaves out reads as 0 h, the service's default (pool_api.describe).
        hours = pool_api.retention_of(configuration)
        answers.append({"hours": hours, "status": str(configuration.get("PoolStatus", ""))})
    return answers


if __name__ == "__main__":
    json.dump(read(json.load(sys.stdin)), sys.stdout)
