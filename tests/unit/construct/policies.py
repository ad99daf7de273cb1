"""Reading the pool grants out of a synthesized template, for the construct tests."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

from kvs_pool_retention.handler import retention_rules
from tests.iam_size import LONGEST, resolve
from tests.paths import ROOT

POOL_POLICY = "kvs-pool-retention-pools"
# The handler's contract names every action it takes on a pool; a policy lists them in that order.
POOL_ACTIONS = list(retention_rules.POOL_ACTIONS)


def pool_policy(template: dict[str, Any]) -> dict[str, Any]:
    """The role's inline pool policy resource."""
    (policy,) = (
        resource
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::Policy" and resource["Properties"]["PolicyName"] == POOL_POLICY
    )
    return policy


def pool_documents(template: dict[str, Any]) -> tuple[list[dict], list[dict]]:
    """The pool grants: (inline, managed) documents."""
    managed = [
        resource["Properties"]["PolicyDocument"]
        for resource in template["Resources"].values()
        if resource["Type"] == "AWS::IAM::ManagedPolicy"
    ]
    return [pool_policy(template)["Properties"]["PolicyDocument"]], managed


def declared(documents: list[dict], pseudo: dict[str, str] | None = LONGEST) -> list[Any]:
    """The resources of every DeclaredPools statement: resolved with `pseudo`, or as written (None)."""
    return [
        resolve(resource, pseudo) if pseudo else resource
        for document in documents
        for statement in document["Statement"]
        if statement.get("Sid") == "DeclaredPools"
        for resource in statement["Resource"]
    ]


def suppression_reasons(resource: dict[str, Any]) -> list[str]:
    return [
        rule["reason"]
        for rule in resource.get("Metadata", {}).get("cdk_nag", {}).get("rules_to_suppress", [])
    ]


def stack_env_arn(name: str | dict[str, Any]) -> dict[str, Any]:
    """A pool ARN as the construct writes it in the stack's own partition, region and account, for a pool
    name or a deploy-time one (a Ref to a parameter, say)."""
    prefix = ":media-pipeline-kinesis-video-stream-pool/"
    tail = [prefix + name] if isinstance(name, str) else [prefix, name]
    return {
        "Fn::Join": [
            "",
            [
                "arn:",
                {"Ref": "AWS::Partition"},
                ":chime:",
                {"Ref": "AWS::Region"},
                ":",
                {"Ref": "AWS::AccountId"},
                *tail,
            ],
        ]
    }


def cfn_lint(template: Path) -> subprocess.CompletedProcess[str]:
    """cfn-lint as published, with the project's settings, on one template."""
    return subprocess.run(
        [
            str(Path(sys.executable).with_name("cfn-lint")),
            "--config-file",
            str(ROOT / ".cfnlintrc.yaml"),
            "--",
            str(template),
        ],
        capture_output=True,
        text=True,
        check=False,
    )
