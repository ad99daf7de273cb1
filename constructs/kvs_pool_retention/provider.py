"""One handler function per stack and option set, its role, log group, and the pool grants instances add.

Every instance calls in here, so the stack's facts (partition, account, region) are read from CDK once per
stack and kept as Python values: each call into aws-cdk-lib is a round trip to its Node process.
"""

from __future__ import annotations

import hashlib
import json
import weakref
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import jsii
from aws_cdk import (
    Acknowledgment,
    Aspects,
    CfnResource,
    Duration,
    IAnyProducer,
    IAspect,
    IResolveContext,
    Lazy,
    Stack,
    Token,
    Validations,
)
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from kvs_pool_retention.handler.retention_rules import POOL_RESOURCE_TYPE, PoolIdentity
from kvs_pool_retention.handler_asset import handler_asset_path

POOL_ACTIONS = (
    "chime:GetMediaPipelineKinesisVideoStreamPool",
    "chime:UpdateMediaPipelineKinesisVideoStreamPool",
)
# Only for pools declared with restore_on_delete, which keep their original retention in a tag.
TAG_ACTIONS = ("chime:ListTagsForResource", "chime:TagResource", "chime:UntagResource")
# What Lambda needs of a function's role to attach it to a VPC (AWS's AWSLambdaVPCAccessExecutionRole, inline
# here: the role carries no AWS managed policy). The Describe actions take no resource scope; the others are
# scoped to this account's EC2 resources in this region, as Lambda's documentation shows.
NETWORK_INTERFACE_READS = ("ec2:DescribeNetworkInterfaces", "ec2:DescribeSubnets")
NETWORK_INTERFACE_WRITES = (
    "ec2:CreateNetworkInterface",
    "ec2:DeleteNetworkInterface",
    "ec2:AssignPrivateIpAddresses",
    "ec2:UnassignPrivateIpAddresses",
)
HANDLER_TIMEOUT = Duration.minutes(10)
# How long CloudFormation waits for each retention resource's answer (its ServiceTimeout). Its default is
# an hour; the handler answers within its 10-minute timeout, so waiting longer only delays a failure.
SERVICE_TIMEOUT = Duration.minutes(15)
# CloudFormation invokes the function asynchronously. An event Lambda cannot start at once (the account's
# concurrency in use) waits in Lambda's queue: never longer than CloudFormation waits for its answer, after
# which it is dropped instead of acting late (the handler refuses a late event too, from its response URL).
# Two retries after a function error (a crash before answering; the handler itself always answers): a
# retry is safe, since the handler is idempotent and refuses an event CloudFormation no longer waits for,
# and it is the only way an answer still reaches CloudFormation after such a crash.
MAX_EVENT_AGE = SERVICE_TIMEOUT
RETRY_ATTEMPTS = 2
# IAM allows 10,240 characters of inline policy per role (white space not counted). Exact pool ARNs go
# inline while their length stays under this budget; the rest covers the log (and network) statements and
# the policy's own structure. Past it they go to customer managed policies of at most 6,144 characters,
# at most 10 a role (IAM's default quota), each one more resource under CloudFormation's 500 a stack.
EXACT_ARN_BUDGET = 9_000
MANAGED_POLICY_CHARS = 6_144
MANAGED_POLICIES_PER_ROLE = 10
STACK_RESOURCE_LIMIT = 500
# Longest values the pseudo parameters can resolve to, for estimating ARNs that contain them.
_LONGEST = {"partition": len("aws-iso-b"), "region": len("ap-southeast-10"), "account": 12}

_PROVIDERS: weakref.WeakKeyDictionary[Stack, dict[str, RetentionProvider]] = weakref.WeakKeyDictionary()
# Per app: which construct manages which pool, keyed by (account, region, name). A pool whose account or
# region is unknown at synth is keyed to its stack, the only place it is known to be the same pool.
_MANAGED_POOLS: weakref.WeakKeyDictionary[IConstruct, dict[tuple[str, str, str], Construct]] = (
    weakref.WeakKeyDictionary()
)


@dataclass(frozen=True)
class _Grant:
    arn: str
    in_stack_env: bool  # known to be in the stack's account and region, so the wide grant covers it
    chars: int  # what it adds to a policy as IAM counts it: the longest the ARN can resolve to, quoted


@dataclass
class _Chunk:
    """The exact grants one policy document holds."""

    pools: list[_Grant]
    tagged: list[_Grant]


@dataclass(frozen=True)
class HandlerOptions:
    """Where the handler runs and logs. Instances in a stack with equal options share one function."""

    vpc: ec2.IVpc | None = None
    vpc_subnets: ec2.SubnetSelection | None = None
    security_groups: tuple[ec2.ISecurityGroup, ...] = ()
    log_group: logs.ILogGroup | None = None

    def check(self) -> None:
        if self.vpc is None and (self.vpc_subnets is not None or self.security_groups):
            raise ValueError(
                "vpc_subnets and security_groups place the handler in a VPC: also pass vpc "
                "(the VPC those subnets and security groups belong to)."
            )

    def key(self, stack: Stack) -> str:
        """'' for the defaults, which keep the provider's construct id (and so every logical id) as it was
        before options existed; otherwise a short digest of what the options name."""
        if self == HandlerOptions():
            return ""
        named = {
            "vpc": self.vpc.node.addr if self.vpc else None,
            "subnets": stack.resolve(self._subnet_ids()) if self.vpc else None,
            "security_groups": [group.node.addr for group in self.security_groups],
            "log_group": self.log_group.node.addr if self.log_group else None,
        }
        return hashlib.sha256(json.dumps(named, sort_keys=True).encode()).hexdigest()[:8].upper()

    def _subnet_ids(self) -> list[str]:
        assert self.vpc is not None
        chosen = self.vpc_subnets or ec2.SubnetSelection()
        return self.vpc.select_subnets(
            availability_zones=chosen.availability_zones,
            one_per_az=chosen.one_per_az,
            subnet_filters=chosen.subnet_filters,
            subnet_group_name=chosen.subnet_group_name,
            subnets=chosen.subnets,
            subnet_type=chosen.subnet_type,
        ).subnet_ids


class RetentionProvider(Construct):
    """Shared by every KinesisVideoStreamPoolRetention in a stack with the same handler options."""

    ID = "KvsPoolRetentionProvider"

    @classmethod
    def of(cls, stack: Stack, options: HandlerOptions) -> RetentionProvider:
        options.check()
        providers = _PROVIDERS.setdefault(stack, {})
        key = options.key(stack)
        if key not in providers:
            providers[key] = cls(stack, cls.ID + key, options)
        return providers[key]

    def __init__(self, stack: Stack, construct_id: str, options: HandlerOptions) -> None:
        super().__init__(stack, construct_id)
        self._root = stack.node.root
        self._stack_path = stack.node.path
        self._partition, self._account, self._region = stack.partition, stack.account, stack.region
        self._env_known = not (Token.is_unresolved(self._account) or Token.is_unresolved(self._region))
        self._pools: list[_Grant] = []
        self._tagged: list[_Grant] = []
        self.managed_pool_access: list[iam.CfnManagedPolicy] = []
        self._account_wide_reason: str | None = None
        self._tags_token_pool = False  # a token-declared pool with tagging: only the wide grant covers it

        self.log_group = options.log_group or logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_YEAR
        )
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
        security_groups = list(options.security_groups)
        if options.vpc is not None:
            security_groups = security_groups or [self._outbound_only(options.vpc)]
            self._allow_network_interfaces()
        self.function = lambda_.Function(
            self,
            "Handler",
            vpc=options.vpc,
            vpc_subnets=options.vpc_subnets,
            security_groups=security_groups or None,
            runtime=lambda_.Runtime.PYTHON_3_14,
            handler="index.handler",
            code=lambda_.Code.from_asset(handler_asset_path()),
            timeout=HANDLER_TIMEOUT,
            memory_size=256,
            role=self.role,
            log_group=self.log_group,
            description="kvs-pool-retention: keeps declared Kinesis Video Stream pools at their retention",
        )
        self.function.configure_async_invoke(max_event_age=MAX_EVENT_AGE, retry_attempts=RETRY_ATTEMPTS)
        self._explain_to_checkov()
        self.pool_access = iam.CfnPolicy(
            self,
            "PoolAccess",
            policy_name="kvs-pool-retention-pools",
            roles=[self.role.role_name],
            policy_document=Lazy.uncached_any(_Produce(self._pool_policy)),
        )
        # Every retention resource references the function, so this one dependency makes each of them wait
        # for its pool's grant, in Creates and Updates alike.
        self.function.node.add_dependency(self.pool_access)
        Aspects.of(self).add(_PlanPolicies(self))
        self.service_token = self.function.function_arn

    def _outbound_only(self, vpc: ec2.IVpc) -> ec2.SecurityGroup:
        group = ec2.SecurityGroup(
            self,
            "SecurityGroup",
            vpc=vpc,
            description="kvs-pool-retention handler: HTTPS out to the pool API and response URL, nothing in",
            allow_all_outbound=False,
        )
        group.add_egress_rule(
            ec2.Peer.any_ipv4(), ec2.Port.tcp(443), "the Chime SDK media pipelines API and S3 (the response)"
        )
        return group

    def _allow_network_interfaces(self) -> None:
        ec2_resources = f"arn:{self._partition}:ec2:{self._region}:{self._account}:*/*"
        self.role.add_to_policy(iam.PolicyStatement(actions=list(NETWORK_INTERFACE_READS), resources=["*"]))
        self.role.add_to_policy(
            iam.PolicyStatement(actions=list(NETWORK_INTERFACE_WRITES), resources=[ec2_resources])
        )
        reason = (
            "Lambda attaches a function to a VPC through network interfaces it manages with the function's "
            "role: EC2's Describe actions take no resource scope, and the others are scoped to this "
            "account's EC2 resources in this region (AWSLambdaVPCAccessExecutionRole, narrowed and inline)."
        )
        policy = self.role.node.find_child("DefaultPolicy").node.default_child
        assert isinstance(policy, iam.CfnPolicy)
        _acknowledge_wide_resources(policy, ["*", ec2_resources], reason)

    def _explain_to_checkov(self) -> None:
        """Checks that cannot apply to this custom resource's handler: skipped, the reason in the template."""
        function = self.function.node.default_child
        assert isinstance(function, lambda_.CfnFunction)
        function.add_metadata(
            "checkov",
            {
                "skip": [
                    {
                        "id": "CKV_AWS_116",
                        "comment": "No dead-letter queue: an event this handler could not answer is one "
                        "CloudFormation has already failed; replayed later, it would be refused as late.",
                    },
                    {
                        "id": "CKV_AWS_115",
                        "comment": "No reserved concurrency: it would take from the account's unreserved "
                        "concurrency (failing deployment in accounts with little) and hold a stack's events "
                        "in Lambda's queue; the handler paces its own calls to the pool API instead.",
                    },
                ]
            },
        )

    def claim(self, pool: PoolIdentity, claimant: Construct) -> None:
        """Refuse a second instance for the same pool in this app: the two would fight over its retention."""
        unknown = f"<{self._stack_path}>"
        account = pool.account or (self._account if self._env_known else unknown)
        region = pool.region or (self._region if self._env_known else unknown)
        first = _MANAGED_POOLS.setdefault(self._root, {}).setdefault((account, region, pool.name), claimant)
        if first is not claimant:
            raise ValueError(
                f"pool_identifier: pool {pool.name} (account {account}, region {region}) is already "
                f"managed by {first.node.path}; {claimant.node.path} targets the same pool. "
                "Declare each pool once."
            )

    def grant(self, pool: PoolIdentity | None, *, tagging: bool = False) -> None:
        """Let the handler read and update one pool (and tag it, with `tagging`).

        `pool` is None when the identifier is a token: only the account-wide grant can cover it.
        """
        if pool is None:
            self._widen("a pool identifier is only known at deploy time, so its exact ARN is not")
            self._tags_token_pool = self._tags_token_pool or tagging
            return
        grant = self._grant_for(pool)
        for granted, wanted in ((self._pools, True), (self._tagged, tagging)):
            if wanted and grant not in granted:
                granted.append(grant)

    def _grant_for(self, pool: PoolIdentity) -> _Grant:
        chars = _estimated_length(pool) + 3  # quotes and a comma
        if pool.region is None:
            return _Grant(self._arn(pool.name), in_stack_env=True, chars=chars)
        arn = f"arn:{pool.partition}:chime:{pool.region}:{pool.account}:{POOL_RESOURCE_TYPE}/{pool.name}"
        in_env = self._env_known and (pool.account, pool.region) == (self._account, self._region)
        return _Grant(arn, in_stack_env=in_env, chars=chars)

    def plan_policies(self) -> None:
        """Once every instance has added its pool: exact ARNs inline, the rest in as few managed policies
        as they need; the account-wide grant only where the stack or the role has no room for those."""
        if self._account_wide_reason is not None or self.managed_pool_access:
            return
        chunks = _chunks(self._pools, self._tagged)
        needed = len(chunks) - 1
        if not needed:
            return
        stack = Stack.of(self)
        room = STACK_RESOURCE_LIMIT - sum(isinstance(c, CfnResource) for c in stack.node.find_all())
        if needed > room:
            self._widen(
                f"{len(self._pools)} exact pool ARNs need {needed} managed policies besides the inline one, "
                f"and CloudFormation's {STACK_RESOURCE_LIMIT} resources a stack leave room for {room}"
            )
            return
        if needed > MANAGED_POLICIES_PER_ROLE:
            self._widen(
                f"{len(self._pools)} exact pool ARNs need {needed} managed policies besides the inline one, "
                f"past the {MANAGED_POLICIES_PER_ROLE} IAM attaches to a role by default"
            )
            return
        self._pools, self._tagged = chunks[0].pools, chunks[0].tagged
        for number, chunk in enumerate(chunks[1:], start=2):
            policy = iam.CfnManagedPolicy(
                self,
                f"PoolAccess{number}",
                description=f"kvs-pool-retention: the declared pools, part {number} of {len(chunks)}",
                roles=[self.role.role_name],
                policy_document=_document(chunk),
            )
            self.function.node.add_dependency(policy)  # each resource waits for its pool's grant
            self.managed_pool_access.append(policy)

    def _arn(self, name: str) -> str:
        """A pool ARN in the stack's partition, account and region (tokens for an env-agnostic stack)."""
        return f"arn:{self._partition}:chime:{self._region}:{self._account}:{POOL_RESOURCE_TYPE}/{name}"

    def _widen(self, why: str) -> None:
        """Grant this account's pools in this region instead of listing each: said once, acknowledged."""
        if self._account_wide_reason is not None:
            return
        self._account_wide_reason = why
        reason = (
            f"Scoped to this account's KVS pools in this region because {why}; "
            "the handler only reads and updates the pools declared in this stack."
        )
        _acknowledge_wide_resources(self.pool_access, [self._arn("*")], reason)

    def _pool_policy(self) -> dict[str, Any]:
        if self._account_wide_reason is None:
            return _document(_Chunk(self._pools, self._tagged))
        statements = [{"Effect": "Allow", "Action": list(POOL_ACTIONS), "Resource": self._scope(self._pools)}]
        if self._tagged or self._tags_token_pool:
            statements.append(
                {"Effect": "Allow", "Action": list(TAG_ACTIONS), "Resource": self._scope(self._tagged)}
            )
        return {"Version": "2012-10-17", "Statement": statements}

    def _scope(self, grants: list[_Grant]) -> list[str]:
        if self._account_wide_reason is None:
            return [grant.arn for grant in grants]
        # Pools given by ARN in another region or account stay listed: the wide grant does not cover them.
        return [self._arn("*"), *(grant.arn for grant in grants if not grant.in_stack_env)]


@jsii.implements(IAspect)
class _PlanPolicies:
    """Plans the provider's pool policies when the app synthesizes, after every instance has been added."""

    def __init__(self, provider: RetentionProvider) -> None:
        self._provider = provider

    def visit(self, node: IConstruct) -> None:
        if node.node.path == self._provider.node.path:
            self._provider.plan_policies()


def _document(chunk: _Chunk) -> dict[str, Any]:
    statements = [{"Effect": "Allow", "Action": list(POOL_ACTIONS), "Resource": [g.arn for g in chunk.pools]}]
    if chunk.tagged:
        statements.append(
            {"Effect": "Allow", "Action": list(TAG_ACTIONS), "Resource": [g.arn for g in chunk.tagged]}
        )
    return {"Version": "2012-10-17", "Statement": statements}


def _chunks(pools: list[_Grant], tagged: list[_Grant]) -> list[_Chunk]:
    """Grants in declaration order, the first chunk within the inline budget, each later one within a
    managed policy's limit (its structure counted as IAM counts it)."""
    structure = len(json.dumps(_document(_Chunk([], [_Grant("", True, 0)])), separators=(",", ":")))
    budgets = iter([EXACT_ARN_BUDGET, *([MANAGED_POLICY_CHARS - structure] * len(pools + tagged))])
    chunks: list[_Chunk] = []
    left = 0
    for grant, is_tag in [*((g, False) for g in pools), *((g, True) for g in tagged)]:
        if grant.chars > left or not chunks:
            chunks.append(_Chunk([], []))
            left = next(budgets)
        (chunks[-1].tagged if is_tag else chunks[-1].pools).append(grant)
        left -= grant.chars
    return chunks or [_Chunk([], [])]


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


def _acknowledge_wide_resources(policy: iam.CfnPolicy, resources: list[str], reason: str) -> None:
    """Acknowledge cdk-nag's AwsSolutions-IAM5 finding for each of a policy's wildcard resources, with why."""
    for resource in resources:
        finding = f"AwsSolutions-IAM5[Resource::{_nag_notation(Stack.of(policy).resolve(resource))}]"
        Validations.of(policy).acknowledge(Acknowledgment(id=finding, reason=reason))
    # cdk-nag 2.x reads suppressions from the template instead; it also serves as the audit trail there.
    policy.add_metadata("cdk_nag", {"rules_to_suppress": [{"id": "AwsSolutions-IAM5", "reason": reason}]})


def _nag_notation(resolved: object) -> str:
    """How cdk-nag names a resolved ARN in a finding id: pseudo parameters as <AWS::Region>."""
    if isinstance(resolved, dict) and "Fn::Join" in resolved:
        return "".join(_nag_notation(part) for part in resolved["Fn::Join"][1])
    if isinstance(resolved, dict) and "Ref" in resolved:
        return f"<{resolved['Ref']}>"
    return str(resolved)
