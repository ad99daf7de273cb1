"""Where the stack's functions run and log (`configure_handler`'s and `configure_guard`'s options), the
network a VPC implies (a security group that only reaches out on HTTPS, and the role's permissions for
Lambda's network interfaces), and the function both the handler and the guard are built as."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from aws_cdk import Duration, Stack, Tags
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from kvs_pool_retention import review
from kvs_pool_retention.handler.retention_rules import COMPONENT_TAG
from kvs_pool_retention.handler_asset import handler_code

if TYPE_CHECKING:
    from aws_cdk import aws_ec2 as ec2

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
        return self is other or self._fingerprint(stack) == other._fingerprint(stack)

    def _fingerprint(self, stack: Stack) -> str:
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

    def names(self) -> str:
        """The options given, by name, for an error message."""
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


@dataclass(frozen=True)
class FunctionSpec:
    """What tells the handler's function and the guard's apart; the rest they share."""

    component: str  # the value of the component tag (README, Security)
    handler: str
    timeout: Duration
    description: str
    checkov_skips: dict[str, str]
    max_event_age: Duration
    retry_attempts: int


def placed_function(
    scope: Construct,
    construct_id: str,
    spec: FunctionSpec,
    options: HandlerOptions,
    role: iam.Role,
    log_group: logs.ILogGroup,
    **props: Any,
) -> lambda_.Function:
    """A function of the handler asset (one asset for both), with its own role and log group, placed as
    `options` say, tagged with its component and explained to checkov."""
    security_groups = attach_to_vpc(scope, role, options) if options.vpc is not None else None
    function = lambda_.Function(
        scope,
        construct_id,
        vpc=options.vpc,
        vpc_subnets=options.vpc_subnets,
        security_groups=security_groups,
        runtime=lambda_.Runtime.PYTHON_3_14,
        handler=spec.handler,
        code=handler_code(),
        timeout=spec.timeout,
        memory_size=256,
        role=role,
        log_group=log_group,
        description=spec.description,
        **props,
    )
    function.configure_async_invoke(max_event_age=spec.max_event_age, retry_attempts=spec.retry_attempts)
    # A name a permissions boundary or an SCP can match (README, Security).
    Tags.of(function).add(COMPONENT_TAG, spec.component)
    review.explain_to_checkov(function, spec.checkov_skips)
    return function


def function_role(scope: Construct, log_group: logs.ILogGroup, description: str) -> iam.Role:
    """A function's own role (construct id "Role"), which may write to its log group and nothing else yet."""
    role = iam.Role(
        scope, "Role", assumed_by=iam.ServicePrincipal("lambda.amazonaws.com"), description=description
    )
    role.add_to_policy(
        iam.PolicyStatement(
            actions=["logs:CreateLogStream", "logs:PutLogEvents"], resources=[log_group.log_group_arn]
        )
    )
    return role


def attach_to_vpc(scope: Construct, role: iam.Role, options: HandlerOptions) -> list[ec2.ISecurityGroup]:
    """Let the role manage Lambda's network interfaces; the security groups to use (the given ones, or one
    that only reaches out on HTTPS)."""
    from aws_cdk import aws_ec2 as ec2  # only with a VPC: aws_ec2 is slow to import

    assert options.vpc is not None
    stack = Stack.of(scope)
    ec2_resources = f"arn:{stack.partition}:ec2:{stack.region}:{stack.account}:*/*"
    role.add_to_policy(iam.PolicyStatement(actions=list(NETWORK_INTERFACE_READS), resources=["*"]))
    role.add_to_policy(iam.PolicyStatement(actions=list(NETWORK_INTERFACE_WRITES), resources=[ec2_resources]))
    policy = role.node.find_child("DefaultPolicy").node.default_child
    assert isinstance(policy, iam.CfnPolicy)
    review.acknowledge_wildcards(policy, (["*", ec2_resources], review.NETWORK_INTERFACES))
    if options.security_groups:
        return list(options.security_groups)
    group = ec2.SecurityGroup(
        scope,
        "SecurityGroup",
        vpc=options.vpc,
        description=review.SECURITY_GROUP_DESCRIPTION,
        allow_all_outbound=False,
    )
    group.add_egress_rule(ec2.Peer.any_ipv4(), ec2.Port.tcp(443), review.EGRESS_DESCRIPTION)
    return [group]
