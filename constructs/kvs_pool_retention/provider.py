"""The stack's one handler: its function, role, log group and network, and the pool grants instances add.

A custom resource's ServiceToken can never change, so a stack has one handler function for its whole
life, at the construct id stacks deployed with the defaults already have. Handler options (VPC, log
group) configure that function in place. How the grants fit IAM's and CloudFormation's limits is
`grant_plan`'s arithmetic; this module builds resources.

The stack's facts (partition, account, region) are read from CDK once, when the provider is created, and
kept as Python values: each call into aws-cdk-lib is a round trip to its Node process.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import jsii
from aws_cdk import (
    Acknowledgment,
    Aspects,
    Aws,
    CfnResource,
    Duration,
    IAnyProducer,
    IAspect,
    IResolveContext,
    Lazy,
    NestedStack,
    Stack,
    Token,
    Validations,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct, IConstruct

from kvs_pool_retention import grant_plan
from kvs_pool_retention.grant_plan import POOL_TYPE, Grant
from kvs_pool_retention.handler.retention_rules import (
    DESCRIBE_STACK_RESOURCE,
    DESCRIBE_STACKS,
    POOL_ACTIONS,
    STACK_TAG_PREFIX,
    TAG_PREFIX,
    PoolIdentity,
    stack_key,
)
from kvs_pool_retention.handler_asset import handler_asset_path

if TYPE_CHECKING:
    from aws_cdk import aws_ec2 as ec2

# Tag and Untag only under the record's prefix: the role can touch no other tag of a pool.
ONLY_RECORD_TAGS = {"ForAllValues:StringLike": {"aws:TagKeys": [TAG_PREFIX + "*"]}}
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


@dataclass(frozen=True)
class HandlerOptions:
    """Where the stack's handler runs and logs."""

    vpc: ec2.IVpc | None = None
    vpc_subnets: ec2.SubnetSelection | None = None
    security_groups: tuple[ec2.ISecurityGroup, ...] = ()
    log_group: logs.ILogGroup | None = None

    @classmethod
    def given(
        cls,
        vpc: ec2.IVpc | None,
        vpc_subnets: ec2.SubnetSelection | None,
        security_groups: Sequence[ec2.ISecurityGroup] | None,
        log_group: logs.ILogGroup | None,
    ) -> HandlerOptions | None:
        """The options an instance asks for; None when it asks for none (it takes the stack's handler)."""
        if vpc is None and vpc_subnets is None and not security_groups and log_group is None:
            return None
        options = cls(vpc, vpc_subnets, tuple(security_groups or ()), log_group)
        if vpc is None and (vpc_subnets is not None or security_groups):
            raise ValueError(
                "vpc_subnets and security_groups place the handler in a VPC: also pass vpc "
                "(the VPC those subnets and security groups belong to)."
            )
        return options

    def same_as(self, other: HandlerOptions, stack: Stack) -> bool:
        return self is other or self._named(stack) == other._named(stack)

    def _named(self, stack: Stack) -> str:
        """What the options name, resolved: two selections of the same subnets are the same options."""
        subnets = None
        if self.vpc is not None:
            chosen = self.vpc_subnets
            subnets = stack.resolve(
                self.vpc.select_subnets(
                    availability_zones=chosen.availability_zones if chosen else None,
                    one_per_az=chosen.one_per_az if chosen else None,
                    subnet_filters=chosen.subnet_filters if chosen else None,
                    subnet_group_name=chosen.subnet_group_name if chosen else None,
                    subnets=chosen.subnets if chosen else None,
                    subnet_type=chosen.subnet_type if chosen else None,
                ).subnet_ids
            )
        named = {
            "vpc": self.vpc.node.addr if self.vpc else None,
            "subnets": subnets,
            "security_groups": [group.node.addr for group in self.security_groups],
            "log_group": self.log_group.node.addr if self.log_group else None,
        }
        return hashlib.sha256(json.dumps(named, sort_keys=True).encode()).hexdigest()

    def describe(self) -> str:
        given = [
            name
            for name, value in (
                ("vpc", self.vpc),
                ("vpc_subnets", self.vpc_subnets),
                ("security_groups", self.security_groups),
                ("log_group", self.log_group),
            )
            if value
        ]
        return ", ".join(given) or "no options"


class RetentionProvider(Construct):
    """The handler every KinesisVideoStreamPoolRetention in a stack shares."""

    ID = "KvsPoolRetentionProvider"

    @classmethod
    def of(cls, stack: Stack, options: HandlerOptions | None, requester: Construct) -> RetentionProvider:
        """The stack's provider, created with `options` (or the defaults) by the first to ask; a later
        request for other options fails, naming who set them."""
        # Kept on the stack object too: one lookup per instance fewer, each a round trip to Node.
        provider = getattr(stack, "_kvs_pool_retention_provider", None) or stack.node.try_find_child(cls.ID)
        if provider is None:
            provider = cls(stack, options or HandlerOptions(), requester)
            stack._kvs_pool_retention_provider = provider  # type: ignore[attr-defined]
            return provider
        assert isinstance(provider, RetentionProvider)
        if options is not None and not options.same_as(provider.options, stack):
            raise ValueError(
                f"{requester.node.path} asks for handler options ({options.describe()}) other than those "
                f"{provider.options_set_by} set for the stack's handler ({provider.options.describe()}). A "
                "custom resource's ServiceToken cannot change, so every retention resource in a stack shares "
                "one handler: set its options once, with KinesisVideoStreamPoolRetention.configure_handler"
                "(stack, ...) before declaring retention resources, or pass the same options to every "
                "instance."
            )
        return provider

    def __init__(self, stack: Stack, options: HandlerOptions, requester: Construct) -> None:
        super().__init__(stack, self.ID)
        self.options = options
        self.options_set_by = requester.node.path
        self.stack_path = stack.node.path
        self._partition, self._account, self._region = stack.partition, stack.account, stack.region
        self.env_known = not (Token.is_unresolved(self._account) or Token.is_unresolved(self._region))
        self.stack_key = _stack_key(stack, self.env_known)
        self._grants: list[Grant] = []
        self._granted: set[str] = set()
        self.widen_because: str | None = None
        self.managed_pool_access: list[iam.CfnManagedPolicy] = []

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
        self._acknowledge(
            self.pool_access,
            [self.recorded_pools],
            "Conditioned on the pool's record naming this stack (aws:ResourceTag): a retention resource "
            "removed from the stack, or moved to another pool, withdraws its declaration in CloudFormation's "
            "cleanup phase, after the exact grant for that pool is gone; only pools whose record names this "
            "stack match.",
        )
        self._acknowledge(
            self.pool_access,
            [self.declaring_stacks],
            "Read-only (DescribeStackResource, DescribeStacks): a pool may be declared by any stack of the "
            "account, in any region, and whether each declaration's resource still exists, and whether its "
            "stack (or this one) is mid-operation or rolling back, is CloudFormation's to say.",
        )
        # Every retention resource references the function, so this one dependency makes each of them wait
        # for its pool's grant, in Creates and Updates alike.
        self.function.node.add_dependency(self.pool_access)
        Aspects.of(self).add(_PlanPolicies(self))
        self.service_token = self.function.function_arn

    # --- grants ---------------------------------------------------------------------------------------

    def account_or_none(self) -> str | None:
        return self._account if self.env_known else None

    def region_or_none(self) -> str | None:
        return self._region if self.env_known else None

    @property
    def recorded_pools(self) -> str:
        """This account's pools in every region: the scope of the grants conditioned on the record."""
        return f"arn:{self._partition}:chime:*:{self._account}:{POOL_TYPE}/*"

    @property
    def declaring_stacks(self) -> str:
        """Every stack of this account, in every region: a pool's declarations may come from any."""
        return f"arn:{self._partition}:cloudformation:*:{self._account}:stack/*"

    def arn(self, name: str) -> str:
        """A pool ARN in the stack's partition, account and region (tokens for an env-agnostic stack)."""
        return f"arn:{self._partition}:chime:{self._region}:{self._account}:{POOL_TYPE}/{name}"

    def grant_literal(self, pool: PoolIdentity) -> None:
        """Grant a pool named at synth (a name in this stack's environment, or an ARN)."""
        chars = grant_plan.arn_chars(pool.partition, pool.region, pool.account, pool.name)
        if pool.region is None:
            self._add(Grant(self.arn(pool.name), chars, in_stack_env=True))
            return
        arn = f"arn:{pool.partition}:chime:{pool.region}:{pool.account}:{POOL_TYPE}/{pool.name}"
        in_env = self.env_known and (pool.account, pool.region) == (self._account, self._region)
        self._add(Grant(arn, chars, in_stack_env=in_env))

    def grant_token_name(self, name: str) -> None:
        """Grant a pool named by a deploy-time value: its ARN in this stack's environment, exactly."""
        self._add(Grant(self.arn(name), grant_plan.arn_chars(None, None, None, None), in_stack_env=True))

    def grant_token_arn(self, arn: str) -> None:
        """Grant a pool given by a deploy-time ARN: that ARN, exactly, wherever it points."""
        self._add(Grant(arn, grant_plan.arn_chars(None, None, None, None), in_stack_env=False))

    def grant_any_pool(self) -> None:
        """A deploy-time pool_identifier may be a name or an ARN: only the account-wide grant covers it."""
        self._widen("a pool identifier is only known at deploy time, so its exact ARN is not")

    def _add(self, grant: Grant) -> None:
        key = grant.arn if isinstance(grant.arn, str) else json.dumps(grant.arn, sort_keys=True)
        if key not in self._granted:
            self._granted.add(key)
            self._grants.append(grant)

    def plan_policies(self) -> None:
        """Once every instance has added its pool: exact ARNs inline, the rest in as few managed policies
        as they need; the account-wide grant only where the stack or the role has no room for those."""
        if self.widen_because is not None or self.managed_pool_access:
            return
        stack = Stack.of(self)
        others = _RoleSurroundings.read(stack, self.role, self.pool_access, self.managed_pool_access)
        fixed = grant_plan.document_chars(stack.resolve(self._document([], with_fixed=True)))
        managed_structure = grant_plan.document_chars(stack.resolve(self._document([], with_fixed=False)))
        planned = grant_plan.plan(
            self._grants,
            inline_budget=grant_plan.INLINE_POLICY_CHARS - others.inline_chars - fixed,
            managed_budget=grant_plan.MANAGED_POLICY_CHARS - managed_structure,
            resources_in_stack=others.resources,
            attached_policies=others.attached_policies,
        )
        if planned.widen_because is not None:
            self._widen(planned.widen_because)
            return
        self._grants = planned.inline
        number_of = len(planned.managed) + 1
        for number, grants in enumerate(planned.managed, start=2):
            policy = iam.CfnManagedPolicy(
                self,
                f"PoolAccess{number}",
                description=f"kvs-pool-retention: the declared pools, part {number} of {number_of}",
                roles=[self.role.role_name],
                policy_document=self._document(grants, with_fixed=False),
            )
            self.function.node.add_dependency(policy)  # each resource waits for its pool's grant
            self.managed_pool_access.append(policy)

    def _widen(self, why: str) -> None:
        """Grant this account's pools in this region instead of listing each: said once, acknowledged."""
        if self.widen_because is not None:
            return
        self.widen_because = why
        self._acknowledge(
            self.pool_access,
            [self.arn("*")],
            f"Scoped to this account's KVS pools in this region because {why}; "
            "the handler only reads and updates the pools declared in this stack.",
        )

    def _pool_policy(self) -> dict[str, Any]:
        if self.widen_because is None:
            return self._document(self._grants, with_fixed=True)
        # Pools given by ARN in another region or account stay listed: the wide grant does not cover them.
        wide = [self.arn("*"), *(grant.arn for grant in self._grants if not grant.in_stack_env)]
        return self._document([], with_fixed=True, resources=wide)

    def _document(
        self, grants: list[Grant], *, with_fixed: bool, resources: list[Any] | None = None
    ) -> dict[str, Any]:
        statements: list[dict[str, Any]] = [
            {
                "Sid": "DeclaredPools",
                "Effect": "Allow",
                "Action": list(POOL_ACTIONS),
                "Resource": resources if resources is not None else [grant.arn for grant in grants],
                "Condition": ONLY_RECORD_TAGS,
            }
        ]
        if with_fixed:
            statements += [
                {
                    # A Delete in the cleanup phase, after the exact grant for its pool is gone, still reaches
                    # the pools whose record names this stack (declarations.py: the stack's anchor tag).
                    "Sid": "DeclaredByThisStack",
                    "Effect": "Allow",
                    "Action": list(POOL_ACTIONS),
                    "Resource": self.recorded_pools,
                    "Condition": {
                        "StringEquals": {f"aws:ResourceTag/{STACK_TAG_PREFIX}{self.stack_key}": Aws.STACK_ID},
                        **ONLY_RECORD_TAGS,
                    },
                },
                {
                    # Whether another declaration of a pool is live, whether its stack is mid-operation, and
                    # whether a Delete rolls back a failed deployment (a nested stack asks its parent):
                    # read-only, any stack of the account.
                    "Sid": "DeclaringStacks",
                    "Effect": "Allow",
                    "Action": [DESCRIBE_STACK_RESOURCE, DESCRIBE_STACKS],
                    "Resource": self.declaring_stacks,
                },
            ]
        return {"Version": "2012-10-17", "Statement": statements}

    # --- the function's surroundings ----------------------------------------------------------------

    def _outbound_only(self, vpc: ec2.IVpc) -> ec2.SecurityGroup:
        from aws_cdk import aws_ec2 as ec2  # only with a VPC: aws_ec2 is slow to import

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
        policy = self.role.node.find_child("DefaultPolicy").node.default_child
        assert isinstance(policy, iam.CfnPolicy)
        self._acknowledge(
            policy,
            ["*", ec2_resources],
            "Lambda attaches a function to a VPC through network interfaces it manages with the function's "
            "role: EC2's Describe actions take no resource scope, and the others are scoped to this "
            "account's EC2 resources in this region (AWSLambdaVPCAccessExecutionRole, narrowed and inline).",
        )

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

    @staticmethod
    def _acknowledge(policy: iam.CfnPolicy, resources: list[str], reason: str) -> None:
        """Acknowledge cdk-nag's AwsSolutions-IAM5 finding for each of a policy's wildcard resources, with
        why; cdk-nag 2.x reads the same from template metadata, which names the same resources."""
        stack = Stack.of(policy)
        findings = [f"Resource::{_nag_notation(stack.resolve(resource))}" for resource in resources]
        for finding in findings:
            Validations.of(policy).acknowledge(
                Acknowledgment(id=f"AwsSolutions-IAM5[{finding}]", reason=reason)
            )
        suppressions = policy.get_metadata("cdk_nag") or {"rules_to_suppress": []}
        suppressions["rules_to_suppress"].append(
            {"id": "AwsSolutions-IAM5", "reason": reason, "applies_to": findings}
        )
        policy.add_metadata("cdk_nag", suppressions)


@dataclass(frozen=True)
class _RoleSurroundings:
    """What else the stack and the role carry, which the grants must fit beside."""

    resources: int  # the stack's own resources (not its nested stacks')
    inline_chars: int  # the role's inline policies other than the pool policy
    attached_policies: int  # managed policies attached to the role other than the pool ones

    @classmethod
    def read(
        cls, stack: Stack, role: iam.Role, pool_policy: iam.CfnPolicy, ours: list[iam.CfnManagedPolicy]
    ) -> _RoleSurroundings:
        everything = stack.node.find_all()
        nested = {
            id(child)
            for node in everything
            if isinstance(node, NestedStack)
            for child in node.node.find_all()
        }
        own = [node for node in everything if isinstance(node, CfnResource) and id(node) not in nested]
        role_ref = stack.resolve(role.role_name)
        inline_chars = 0
        attached = 0
        for resource in own:
            if resource is pool_policy or resource in ours:
                continue
            if isinstance(resource, iam.CfnPolicy) and role_ref in stack.resolve(resource.roles or []):
                inline_chars += grant_plan.document_chars(stack.resolve(resource.policy_document))
            elif isinstance(resource, iam.CfnManagedPolicy) and role_ref in stack.resolve(
                resource.roles or []
            ):
                attached += 1
        cfn_role = role.node.default_child
        assert isinstance(cfn_role, iam.CfnRole)
        attached += len(stack.resolve(cfn_role.managed_policy_arns) or [])
        return cls(len(own), inline_chars, attached)


@jsii.implements(IAspect)
class _PlanPolicies:
    """Plans the provider's pool policies when the app synthesizes, after every instance has been added."""

    def __init__(self, provider: RetentionProvider) -> None:
        self._provider = provider

    def visit(self, node: IConstruct) -> None:
        if node is self._provider:
            self._provider.plan_policies()


@jsii.implements(IAnyProducer)
class _Produce:
    """Render the pool policy when the template is written, after every instance has added its pool."""

    def __init__(self, render: Callable[[], dict[str, Any]]) -> None:
        self._render = render

    def produce(self, context: IResolveContext) -> dict[str, Any]:
        return self._render()


def _nag_notation(resolved: object) -> str:
    """How cdk-nag names a resolved ARN in a finding id: pseudo parameters as <AWS::Region>."""
    if isinstance(resolved, dict) and "Fn::Join" in resolved:
        return "".join(_nag_notation(part) for part in resolved["Fn::Join"][1])
    if isinstance(resolved, dict) and "Ref" in resolved:
        return f"<{resolved['Ref']}>"
    return str(resolved)


def _stack_key(stack: Stack, env_known: bool) -> str:
    """The key of the stack's anchor tag on the pools it declares (handler: retention_rules.stack_key): what
    is known at synth of the stack, its name, and its account and region when concrete (the handler derives
    the same from a stack id for resources deployed before the key was a property); a nested stack adds its
    path, its own name being known only at deploy time."""
    top = stack
    while top.nested_stack_parent is not None:
        top = top.nested_stack_parent
    known = [top.stack_name]
    if env_known:
        known += [stack.account, stack.region]
    if top is not stack:
        known.append(stack.node.path)
    return str(stack_key(*(str(part) for part in known)))
