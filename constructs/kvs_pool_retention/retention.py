"""The construct users declare: one pool, one retention."""

from __future__ import annotations

from collections.abc import Sequence

from aws_cdk import CustomResource, Duration, Stack, Token
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_logs as logs
from constructs import Construct

from kvs_pool_retention.handler.retention_rules import (
    RETENTION_RANGE,
    PoolIdentity,
    parse_pool_identifier,
    parse_retention_hours,
)
from kvs_pool_retention.provider import SERVICE_TIMEOUT, HandlerOptions, RetentionProvider

RESOURCE_TYPE = "Custom::KinesisVideoStreamPoolRetention"


class KinesisVideoStreamPoolRetention(Construct):
    """Keeps an existing Kinesis Video Stream pool's data retention at `data_retention`.

    The resource does not own the pool: deleting it leaves the pool and its retention as they are.
    Every instance in a stack shares one handler function, whose role may read and update only the
    declared pools. With `restore_on_delete`, deleting the resource puts back the retention the pool had
    before this resource first changed it (remembered in a tag on the pool).

    `vpc` (with `vpc_subnets`, `security_groups`) runs the handler in your VPC, and `log_group` sends its
    logs to your log group (say, KMS-encrypted): instances with the same options share one function.
    """

    def __init__(
        self,
        scope: Construct,
        construct_id: str,
        *,
        pool_identifier: str,
        data_retention: Duration,
        restore_on_delete: bool = False,
        vpc: ec2.IVpc | None = None,
        vpc_subnets: ec2.SubnetSelection | None = None,
        security_groups: Sequence[ec2.ISecurityGroup] | None = None,
        log_group: logs.ILogGroup | None = None,
    ) -> None:
        super().__init__(scope, construct_id)
        pool = self._check_pool_identifier(pool_identifier)
        hours = self._check_data_retention(data_retention)
        options = HandlerOptions(vpc, vpc_subnets, tuple(security_groups or ()), log_group)
        provider = RetentionProvider.of(scope if isinstance(scope, Stack) else Stack.of(scope), options)
        if pool is not None:
            provider.claim(pool, self)
        provider.grant(pool, tagging=restore_on_delete)
        properties: dict[str, object] = {"PoolIdentifier": pool_identifier, "DataRetentionInHours": hours}
        if restore_on_delete:  # absent otherwise, so templates of users who never set it do not change
            properties["RestoreOnDelete"] = "true"
        self.function = provider.function
        self.custom_resource = CustomResource(
            self,
            "Resource",
            service_token=provider.service_token,
            resource_type=RESOURCE_TYPE,
            properties=properties,
            service_timeout=SERVICE_TIMEOUT,
        )

    @property
    def pool_arn(self) -> str:
        return self.custom_resource.get_att_string("PoolArn")

    @property
    def pool_status(self) -> str:
        """The pool's status once the retention is applied: ACTIVE."""
        return self.custom_resource.get_att_string("PoolStatus")

    @property
    def pool_id(self) -> str:
        return self.custom_resource.get_att_string("PoolId")

    @property
    def pool_name(self) -> str:
        return self.custom_resource.get_att_string("PoolName")

    @property
    def pool_size(self) -> str:
        """The number of streams in the pool, as a string token."""
        return self.custom_resource.get_att_string("PoolSize")

    @property
    def data_retention_in_hours(self) -> str:
        """The retention the pool has after deployment, as a string token."""
        return self.custom_resource.get_att_string("DataRetentionInHours")

    @staticmethod
    def _check_pool_identifier(value: str) -> PoolIdentity | None:
        if Token.is_unresolved(value):
            return None
        try:
            return parse_pool_identifier(value)
        except ValueError as error:
            raise ValueError(f"pool_identifier {error}") from None

    @staticmethod
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
