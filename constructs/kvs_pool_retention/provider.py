"""The one handler function per stack, its role, log group, and the pool grants every instance adds."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import jsii
from aws_cdk import Acknowledgment, Duration, IAnyProducer, IResolveContext, Lazy, Stack, Token, Validations
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from kvs_pool_retention.handler.retention_rules import POOL_RESOURCE_TYPE, PoolIdentity
from kvs_pool_retention.handler_asset import handler_asset_path

POOL_ACTIONS = (
    "chime:GetMediaPipelineKinesisVideoStreamPool",
    "chime:UpdateMediaPipelineKinesisVideoStreamPool",
)
# Only for pools declared with restore_on_delete, which keep their original retention in a tag.
TAG_ACTIONS = ("chime:ListTagsForResource", "chime:TagResource", "chime:UntagResource")
HANDLER_TIMEOUT = Duration.minutes(10)
# IAM allows 10,240 characters of inline policy per role (white space not counted). Exact pool ARNs are
# kept while their estimated length stays under this budget; the rest of the budget covers the log
# statement and the policy's own structure.
EXACT_ARN_BUDGET = 9_000
# Longest values the pseudo parameters can resolve to, for estimating ARNs that contain them.
_LONGEST = {"partition": len("aws-iso-b"), "region": len("ap-southeast-10"), "account": 12}


class RetentionProvider(Construct):
    """Shared by every KinesisVideoStreamPoolRetention in a stack; found by a fixed id."""

    ID = "KvsPoolRetentionProvider"

    @classmethod
    def of(cls, scope: Construct) -> RetentionProvider:
        stack = Stack.of(scope)
        existing = stack.node.try_find_child(cls.ID)
        return existing if isinstance(existing, RetentionProvider) else cls(stack, cls.ID)

    def __init__(self, scope: Construct, construct_id: str) -> None:
        super().__init__(scope, construct_id)
        self._exact_arns: list[str] = []
        self._tagged_arns: list[str] = []
        self._estimated_chars = 0
        self._account_wide_reason: str | None = None
        self._token_pool_tagged = (
            False  # a token-declared pool asks for tagging: only the wide grant covers it
        )

        self.log_group = logs.LogGroup(self, "Logs", retention=logs.RetentionDays.ONE_YEAR)
        self.role = iam.Role(
            self,
            "Role",
            assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"),
            description="kvs-pool-retention handler: reads and updates the declared KVS pools only",
        )
        self.role.add_to_policy(
            iam.PolicyStatement(
                actions=["logs:CreateLogStream", "logs:PutLogEvents"],
                resources=[self.log_group.log_group_arn],
            )
        )
        self.function = lambda_.Function(
            self,
            "Handler",
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=lambda_.Code.from_asset(handler_asset_path()),
            timeout=HANDLER_TIMEOUT,
            memory_size=256,
            role=self.role,
            log_group=self.log_group,
            description="kvs-pool-retention: keeps declared Kinesis Video Stream pools at their retention",
        )
        self.pool_access = iam.CfnPolicy(
            self,
            "PoolAccess",
            policy_name="kvs-pool-retention-pools",
            roles=[self.role.role_name],
            policy_document=Lazy.uncached_any(_Produce(self._pool_policy)),
        )

    def grant(self, identifier: str, pool: PoolIdentity | None, *, tagging: bool = False) -> None:
        """Let the handler read and update one pool (and tag it, with `tagging`).

        `pool` is None when the identifier is a token.
        """
        if pool is None:
            self._widen("a pool identifier is only known at deploy time, so its exact ARN is not")
            self._token_pool_tagged = self._token_pool_tagged or tagging
            return
        arn = self._pool_arn(identifier, pool)
        for granted, wanted in ((self._exact_arns, True), (self._tagged_arns, tagging)):
            if wanted and arn not in granted:
                granted.append(arn)
                self._estimated_chars += _estimated_length(pool) + 3  # quotes and a comma
        if self._estimated_chars > EXACT_ARN_BUDGET:
            self._widen(
                f"{len(self._exact_arns)} exact pool ARNs would pass IAM's 10,240-character limit "
                "for a role's inline policies"
            )

    def _pool_arn(self, identifier: str, pool: PoolIdentity) -> str:
        if pool.region is not None:
            return identifier
        return Stack.of(self).format_arn(
            service="chime", resource=POOL_RESOURCE_TYPE, resource_name=pool.name
        )

    def _widen(self, why: str) -> None:
        """Grant this account's pools in this region instead of listing each: said once, acknowledged."""
        if self._account_wide_reason is not None:
            return
        self._account_wide_reason = why
        reason = (
            f"Scoped to this account's KVS pools in this region because {why}; "
            "the handler only reads and updates the pools declared in this stack."
        )
        finding = (
            f"AwsSolutions-IAM5[Resource::{_nag_notation(Stack.of(self).resolve(self._account_wide_arn()))}]"
        )
        Validations.of(self.pool_access).acknowledge(Acknowledgment(id=finding, reason=reason))
        # cdk-nag 2.x reads suppressions from the template instead; it also serves as the audit trail there.
        self.pool_access.add_metadata(
            "cdk_nag", {"rules_to_suppress": [{"id": "AwsSolutions-IAM5", "reason": reason}]}
        )

    def _account_wide_arn(self) -> str:
        return Stack.of(self).format_arn(service="chime", resource=POOL_RESOURCE_TYPE, resource_name="*")

    def _pool_policy(self) -> dict[str, Any]:
        statements = [
            {"Effect": "Allow", "Action": list(POOL_ACTIONS), "Resource": self._scope(self._exact_arns)}
        ]
        if self._tagged_arns or self._token_pool_tagged:
            statements.append(
                {"Effect": "Allow", "Action": list(TAG_ACTIONS), "Resource": self._scope(self._tagged_arns)}
            )
        return {"Version": "2012-10-17", "Statement": statements}

    def _scope(self, arns: list[str]) -> list[str]:
        if self._account_wide_reason is None:
            return list(arns)
        stack = Stack.of(self)
        # Pools given by ARN in another region or account stay listed: the wide grant does not cover them.
        return [self._account_wide_arn(), *(arn for arn in arns if not _in_env(arn, stack))]


@jsii.implements(IAnyProducer)
class _Produce:
    """Render the pool policy when the template is written, after every instance has added its pool."""

    def __init__(self, render: Callable[[], dict[str, Any]]) -> None:
        self._render = render

    def produce(self, context: IResolveContext) -> dict[str, Any]:
        return self._render()


def _estimated_length(pool: PoolIdentity) -> int:
    partition = pool.partition or "x" * _LONGEST["partition"]
    region = pool.region or "x" * _LONGEST["region"]
    account = pool.account or "x" * _LONGEST["account"]
    return len(f"arn:{partition}:chime:{region}:{account}:{POOL_RESOURCE_TYPE}/{pool.name}")


def _nag_notation(resolved: object) -> str:
    """How cdk-nag names a resolved ARN in a finding id: pseudo parameters as <AWS::Region>."""
    if isinstance(resolved, dict) and "Fn::Join" in resolved:
        return "".join(_nag_notation(part) for part in resolved["Fn::Join"][1])
    if isinstance(resolved, dict) and "Ref" in resolved:
        return f"<{resolved['Ref']}>"
    return str(resolved)


def _in_env(arn: str, stack: Stack) -> bool:
    """Whether an ARN is known to be in the stack's account and region (never, for an env-agnostic stack)."""
    if Token.is_unresolved(arn):
        return True  # formatted from the stack's own pseudo parameters
    if Token.is_unresolved(stack.region) or Token.is_unresolved(stack.account):
        return False
    parts = arn.split(":")
    return parts[3] == stack.region and parts[4] == stack.account
