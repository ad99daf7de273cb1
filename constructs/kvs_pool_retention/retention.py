"""The construct users declare: one pool, one retention."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

from aws_cdk import CustomResource, Duration, Stack
from aws_cdk import aws_lambda as lambda_
from aws_cdk import aws_logs as logs
from constructs import Construct

from kvs_pool_retention.handler.retention_rules import (
    DATA_RETENTION_IN_HOURS,
    IDENTIFIER_FORM,
    POOL_IDENTIFIER,
    RECORD_VERSION,
    RECORD_VERSION_PROPERTY,
    RESTORE_ON_DELETE,
    RETENTION_RANGE,
    STACK_KEY,
    PoolIdentity,
    parse_pool_identifier,
    parse_retention_hours,
)
from kvs_pool_retention.handler_options import HandlerOptions
from kvs_pool_retention.pool_claims import PoolClaims
from kvs_pool_retention.provider import SERVICE_TIMEOUT, RetentionProvider, is_token
from kvs_pool_retention.resource_type import RESOURCE_TYPE

if TYPE_CHECKING:
    from aws_cdk import aws_cloudwatch as cloudwatch
    from aws_cdk import aws_ec2 as ec2

    from kvs_pool_retention.guard import RetentionGuard


class KinesisVideoStreamPoolRetention(Construct):
    """Keeps an existing Kinesis Video Stream pool's data retention at `data_retention`.

    Name the pool with exactly one of `pool_identifier` (a name or an ARN), `pool_name` or `pool_arn`; the
    last two let a deploy-time value (a parameter, an import) be granted exactly. The resource does not own
    the pool: deleting it leaves the pool and its retention as they are, unless `restore_on_delete`, which
    puts back the retention the pool had before any retention resource changed it.

    Every instance in a stack shares the stack's one handler function, whose role may read and update only
    the declared pools. `vpc` (with `vpc_subnets`, `security_groups`) and `log_group` configure that
    function: set them once for the stack with `configure_handler`, or pass the same ones to every instance
    that passes any.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        data_retention: Duration,
        pool_identifier: str | None = None,
        pool_name: str | None = None,
        pool_arn: str | None = None,
        restore_on_delete: bool = False,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        log_group: logs.ILogGroup | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        declared = {"pool_identifier": pool_identifier, "pool_name": pool_name, "pool_arn": pool_arn}
        given = {prop: value for prop, value in declared.items() if value is not None}
        if len(given) != 1:
            raise ValueError(
                "Name the pool with exactly one of pool_identifier (a name or an ARN), pool_name or "
                f"pool_arn; got {', '.join(given) or 'none'}."
            )
        ((prop, identifier),) = given.items()
        hours = _check_data_retention(data_retention)
        stack = scope if isinstance(scope, Stack) else Stack.of(scope)
        provider = RetentionProvider.of(
            stack, HandlerOptions.given(vpc, vpc_subnets, security_groups, log_group), self
        )
        self._declare(prop, identifier, provider, PoolClaims.of(stack))
        properties: dict[str, object] = {POOL_IDENTIFIER: identifier, DATA_RETENTION_IN_HOURS: hours}
        if restore_on_delete:  # absent otherwise, so templates of users who never set it do not change
            properties[RESTORE_ON_DELETE] = "true"
        # The record's format and the stack's anchor tag (lambda/declarations.py): a new format sends every
        # resource one Update, which rewrites its declaration.
        properties[RECORD_VERSION_PROPERTY] = RECORD_VERSION
        properties[STACK_KEY] = provider.stack_key
        self._provider = provider
        self.custom_resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties=properties,
            service_timeout=SERVICE_TIMEOUT,
        )
        """The underlying CloudFormation custom resource."""

    @staticmethod
    def configure_handler(
        scope: Construct,
        *,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        log_group: logs.ILogGroup | None = None,
    ) -> lambda_.IFunction:
        """Configure the handler of `scope`'s stack: where it runs and logs. Call it once, before declaring
        the stack's retention resources; changing the options later updates that same function in place.

        Returns the handler function.
        """
        stack = scope if isinstance(scope, Stack) else Stack.of(scope)
        options = HandlerOptions.given(vpc, vpc_subnets, security_groups, log_group) or HandlerOptions()
        return RetentionProvider.of(stack, options, scope).function

    @staticmethod
    def configure_guard(
        scope: Construct,
        *,
        enforce: bool = False,
        alarm_actions: Sequence[cloudwatch.IAlarmAction] = (),
        sweep: Duration | None = None,
        allow_lowering: bool = False,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        log_group: logs.ILogGroup | None = None,
    ) -> RetentionGuard:
        """Watch the retention of `scope`'s stack's declared pools (docs/guard.md): the service's pool
        events and a sweep every `sweep` (24 hours by default) check each pool against its declaration; a
        pool that differs is logged at WARNING and raises the stack's alarm (its name is a stack output),
        which triggers `alarm_actions`. With `enforce` a pool below its declaration is raised back (above
        it, lowered too only with `allow_lowering`). One guard per stack: a second call must pass the same
        options. `vpc` (with `vpc_subnets`, `security_groups`) and `log_group` place the guard's function
        as configure_handler places the handler.

        Returns the guard (its `function`, `alarm`, `role`, `dead_letters`).
        """
        from kvs_pool_retention.guard import GuardOptions, RetentionGuard, check_sweep

        stack = scope if isinstance(scope, Stack) else Stack.of(scope)
        placement = HandlerOptions.given(vpc, vpc_subnets, security_groups, log_group) or HandlerOptions()
        options = GuardOptions(enforce, allow_lowering, tuple(alarm_actions), check_sweep(sweep), placement)
        return RetentionGuard.of(stack, options)

    @property
    def function(self) -> lambda_.IFunction:
        """The handler function, shared by every retention resource in this stack."""
        return self._provider.function

    @property
    def pool_arn(self) -> str:
        """The pool's ARN after deployment (also the resource's physical id)."""
        return self.custom_resource.get_att_string("PoolArn")

    @property
    def pool_status(self) -> str:
        """The pool's status once the retention is applied: ACTIVE."""
        return self.custom_resource.get_att_string("PoolStatus")

    @property
    def pool_id(self) -> str:
        """The pool's id after deployment."""
        return self.custom_resource.get_att_string("PoolId")

    @property
    def pool_name(self) -> str:
        """The pool's name after deployment."""
        return self.custom_resource.get_att_string("PoolName")

    @property
    def pool_size(self) -> str:
        """The number of streams in the pool after deployment, as a string token."""
        return self.custom_resource.get_att_string("PoolSize")

    @property
    def data_retention_in_hours(self) -> str:
        """The retention the pool has after deployment, as a string token."""
        return self.custom_resource.get_att_string("DataRetentionInHours")

    def _declare(self, prop: str, identifier: str, provider: RetentionProvider, claims: PoolClaims) -> None:
        """Check the pool's identifier, claim the pool in the app and grant it to the handler."""
        if is_token(identifier):
            if prop == "pool_identifier":
                provider.pool_policy.grant_any_pool()
            elif prop == "pool_name":
                provider.pool_policy.grant_token_name(identifier)
            else:
                provider.pool_policy.grant_token_arn(identifier)
            # The same deploy-time value twice is the same pool, whatever it resolves to.
            claims.claim(("token", identifier), self, f"{prop}: the pool {identifier}")
            return
        pool = _check_identifier(prop, identifier)
        account = pool.account or (provider.account_or_none() or f"<{provider.stack_path}>")
        region = pool.region or (provider.region_or_none() or f"<{provider.stack_path}>")
        claims.claim(
            ("pool", account, region, pool.name),
            self,
            f"{prop}: pool {pool.name} (account {account}, region {region})",
        )
        provider.pool_policy.grant_literal(pool)


def _check_identifier(prop: str, value: str) -> PoolIdentity:
    try:
        pool = parse_pool_identifier(value)
    except ValueError as error:
        raise ValueError(f"{prop} {error}") from None
    if prop == "pool_name" and pool.region is not None:
        raise ValueError(f"pool_name must be a pool name, not an ARN: pass {value!r} as pool_arn")
    if prop == "pool_arn" and pool.region is None:
        raise ValueError(
            f"pool_arn must be {IDENTIFIER_FORM.split(' or ')[1]}; got {value!r}: pass a name as pool_name"
        )
    return pool


def _check_data_retention(value: Duration) -> int | float:
    if value.is_unresolved():
        return value.to_hours()
    hours = float(value.to_hours(integral=False))
    try:
        return int(parse_retention_hours(int(hours) if hours.is_integer() else str(hours)))
    except ValueError:
        raise ValueError(
            f"data_retention must be {RETENTION_RANGE} (Duration.hours(n)); "
            f"got {hours:g} hours ({value.to_human_string()})"
        ) from None
