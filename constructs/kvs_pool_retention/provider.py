"""The stack's one handler: its function, role and log group, which every retention resource of the stack
shares.

A custom resource's ServiceToken can never change, so a stack has one handler function for its whole
life, at the construct id stacks deployed with the defaults already have. Handler options (VPC, log
group) configure that function in place (handler_options); the pools it may touch are the pool policy's
(pool_policy); what reviewers' tools are told is review's.
"""

from __future__ import annotations

from aws_cdk import Duration, Stack
from aws_cdk import aws_logs as logs
from constructs import Construct

from kvs_pool_retention import review
from kvs_pool_retention.handler.retention_rules import stack_key
from kvs_pool_retention.handler_options import FunctionSpec, HandlerOptions, function_role, placed_function
from kvs_pool_retention.pool_policy import PoolPolicy, StackPlace

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
HANDLER = FunctionSpec(
    component="handler",
    handler="index.handler",
    timeout=HANDLER_TIMEOUT,
    description=review.FUNCTION_DESCRIPTION,
    checkov_skips=review.HANDLER_CHECKOV_SKIPS,
    max_event_age=MAX_EVENT_AGE,
    retry_attempts=RETRY_ATTEMPTS,
)


class RetentionProvider(Construct):
    """The handler every KinesisVideoStreamPoolRetention in a stack shares."""

    ID = "KvsPoolRetentionProvider"

    @classmethod
    def of(cls, stack: Stack, options: HandlerOptions | None, requester: Construct) -> RetentionProvider:
        """The stack's provider, created with `options` (or the defaults) by the first to ask; a later
        request for other options fails, naming who set them."""
        # Kept on the stack object too: one lookup per instance fewer, each a round trip to Node. Only the
        # tree is sure: jsii gives a stack created on Node's side a new Python object each time.
        provider = getattr(stack, "_kvs_pool_retention_provider", None) or stack.node.try_find_child(cls.ID)
        if provider is None:
            provider = cls(stack, options or HandlerOptions(), requester)
            stack._kvs_pool_retention_provider = provider  # type: ignore[attr-defined]
            return provider
        assert isinstance(provider, RetentionProvider)
        if options is not None and not options.same_as(provider.options, stack):
            raise ValueError(
                f"{requester.node.path} asks for handler options ({options.names()}) other than those "
                f"{provider.options_set_by.node.path} set for the stack's handler "
                f"({provider.options.names()}). A "
                "custom resource's ServiceToken cannot change, so every retention resource in a stack shares "
                "one handler: set its options once, with KinesisVideoStreamPoolRetention.configure_handler"
                "(stack, ...) before declaring retention resources, or pass the same options to every "
                "instance."
            )
        return provider

    def __init__(self, stack: Stack, options: HandlerOptions, requester: Construct) -> None:
        super().__init__(stack, self.ID)
        self.options = options
        self.options_set_by = requester  # its path is read only for an error message
        self.stack_path = stack.node.path
        account, region = stack.account, stack.region
        env_known = not (is_token(account) or is_token(region))
        self.place = StackPlace(stack.partition, account, region, env_known, stack_key_of(stack, env_known))

        self.log_group = options.log_group or logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_YEAR
        )
        self.role = function_role(self, self.log_group, review.ROLE_DESCRIPTION)
        self.function = placed_function(self, "Handler", HANDLER, options, self.role, self.log_group)
        self.pool_policy = PoolPolicy(self, self.role, self.function, self.place)
        self.service_token = self.function.function_arn

    @property
    def stack_key(self) -> str:
        return self.place.stack_key

    def account_or_none(self) -> str | None:
        return self.place.account if self.place.env_known else None

    def region_or_none(self) -> str | None:
        return self.place.region if self.place.env_known else None


def stack_key_of(stack: Stack, env_known: bool) -> str:
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


def is_token(value: str) -> bool:
    """Token.is_unresolved for a string, without the round trip to Node: CDK encodes a string token as
    `${Token[...]}` inside the string."""
    return "${Token[" in value
