"""The retention guard of a stack (`KinesisVideoStreamPoolRetention.configure_guard`): a change made to a
declared pool outside CloudFormation is noticed from the service's own event, alarmed, and on request put
back. Off unless asked for: a stack that never calls configure_guard synthesizes exactly as before.

Decisions, each written where it is made (docs/guard.md has them for users):
- One guard per stack, whatever the number of pools, at a fixed construct id; a second call with other
  options is a synth error naming them.
- Its function runs `guard.handler` from the handler's own asset (one asset), with a role of its own that
  reads only the pools whose record names this stack (the tag-pinned condition the handler's cleanup grant
  uses). No exact ARNs: the guard acts on nothing but what that record declares, so an exact grant would
  only add characters (hundreds of pools) and reach no pool the guard could use. It may update pools only
  when enforcing, and reads only its own stack in CloudFormation (status, its retention resources).
- The rule: the service's pool event, `PoolUpdated` and `PoolDeleted`, filtered by the declared pools'
  ARNs while the pattern fits EventBridge's 2 048 characters (reckoned with the longest values the ARNs can
  take), otherwise by type alone (another stack's pool then reads as not this stack's: its tags are denied).
- The alarm: 1 point of 3 periods of 60 s (M of N, as CloudWatch's EMF page advises for metrics a Lambda
  function's logs carry, which land late). It treats missing data as `ignore`, not `missing`: CloudWatch
  moves an alarm whose evaluation range holds no point to INSUFFICIENT_DATA under `missing`, out of ALARM
  minutes after a lone 1; `ignore` keeps the state until the next 0 or 1 (CloudWatch, "Configuring how
  CloudWatch alarms treat missing data"), and only the sweep, which knows every pool, publishes a 0.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import jsii
from aws_cdk import (
    AspectPriority,
    Aspects,
    Aws,
    CfnOutput,
    Duration,
    IAspect,
    Stack,
)
from aws_cdk import aws_cloudwatch as cloudwatch
from aws_cdk import aws_events as events
from aws_cdk import aws_events_targets as targets
from aws_cdk import aws_iam as iam
from aws_cdk import aws_logs as logs
from aws_cdk import aws_sqs as sqs
from constructs import Construct, IConstruct

from kvs_pool_retention import guard_review, review
from kvs_pool_retention.guard_pattern import pool_event_pattern
from kvs_pool_retention.handler.retention_rules import (
    DESCRIBE_STACKS,
    GUARD_ALLOW_LOWERING_ENV,
    GUARD_ENFORCE_ENV,
    GUARD_METRIC,
    GUARD_NAMESPACE,
    GUARD_POOL_READS,
    GUARD_RESOURCE_TYPE_ENV,
    GUARD_STACK_DIMENSION,
    GUARD_STACK_ID_ENV,
    GUARD_STACK_KEY_ENV,
    GUARD_STACK_NAME_ENV,
    LIST_STACK_RESOURCES,
    POOL_IDENTIFIER,
    STACK_TAG_PREFIX,
    UPDATE_POOL,
    pool_arn,
)
from kvs_pool_retention.handler_options import (
    FunctionSpec,
    HandlerOptions,
    function_role,
    placed_function,
)
from kvs_pool_retention.provider import is_token, stack_key_of
from kvs_pool_retention.resource_type import RESOURCE_TYPE

GUARD_TIMEOUT = Duration.minutes(15)  # a sweep of hundreds of pools, paced, within one invocation
DEFAULT_SWEEP_MINUTES = 24 * 60.0
MIN_SWEEP_MINUTES = 15  # a sweep may take that long: no two of one stack at once in the normal case
# EventBridge's retries of an event it could not deliver, and Lambda's of a function error: bounded, both
# ending in the dead-letter queue. An event is worth acting on within the hour; the sweep covers the rest.
EVENT_RETRY_ATTEMPTS = 4
EVENT_MAX_AGE = Duration.hours(1)
FUNCTION_RETRY_ATTEMPTS = 1
ALARM_EVALUATION_PERIODS = 3  # of 60 s, one breaching point enough
GUARD_FUNCTION = FunctionSpec(
    component="guard",
    handler="guard.handler",
    timeout=GUARD_TIMEOUT,
    description=guard_review.FUNCTION_DESCRIPTION,
    checkov_skips=guard_review.CHECKOV_SKIPS,
    max_event_age=EVENT_MAX_AGE,
    retry_attempts=FUNCTION_RETRY_ATTEMPTS,
)


@dataclass(frozen=True)
class GuardOptions:
    enforce: bool
    allow_lowering: bool
    alarm_actions: tuple[cloudwatch.IAlarmAction, ...]
    sweep_minutes: float
    # Where the function runs and logs, as configure_handler takes them for the handler (an organisation
    # that requires Lambda in a VPC and KMS-encrypted logs requires them of the guard too).
    placement: HandlerOptions = field(default_factory=HandlerOptions)

    def differing(
        self,
        other: GuardOptions,
        stack: Stack,
        arns_of: Callable[[tuple[cloudwatch.IAlarmAction, ...]], list[object]],
    ) -> list[str]:
        """The options that differ; alarm actions by the ARNs they bind to (`arns_of`), so that a new
        SnsAction of the same topic is the same action."""
        named: dict[str, tuple[object, object]] = {
            "enforce": (self.enforce, other.enforce),
            "allow_lowering": (self.allow_lowering, other.allow_lowering),
            "alarm_actions": (arns_of(self.alarm_actions), arns_of(other.alarm_actions)),
            "sweep": (self.sweep_minutes, other.sweep_minutes),
        }
        differing = [name for name, (mine, theirs) in named.items() if mine != theirs]
        if not self.placement.same_as(other.placement, stack):
            differing.append(f"placement ({self.placement.names()})")
        return differing


def check_sweep(sweep: Duration | None) -> float:
    if sweep is None:
        return DEFAULT_SWEEP_MINUTES
    if sweep.is_unresolved():
        raise ValueError("sweep must be a literal Duration (a rule's schedule is fixed at synth)")
    minutes = float(sweep.to_minutes(integral=False))
    if not minutes.is_integer() or minutes < MIN_SWEEP_MINUTES:
        raise ValueError(
            f"sweep must be whole minutes, at least {MIN_SWEEP_MINUTES} (Duration.hours(24) by default); "
            f"got {sweep.to_human_string()}"
        )
    return minutes


class RetentionGuard(Construct):
    """The stack's one guard: its function, role, log group, rules, dead-letter queue and alarm."""

    ID = "KvsPoolRetentionGuard"

    @classmethod
    def of(cls, stack: Stack, options: GuardOptions) -> RetentionGuard:
        existing = stack.node.try_find_child(cls.ID)
        if existing is None:
            return cls(stack, options)
        assert isinstance(existing, RetentionGuard)
        differing = options.differing(existing.options, stack, existing.action_arns)
        if differing:
            raise ValueError(
                f"The retention guard of stack {stack.node.path} is already configured with other "
                f"{', '.join(differing)}: a stack has one guard; call configure_guard once, or with the "
                "same options."
            )
        return existing

    def __init__(self, stack: Stack, options: GuardOptions) -> None:
        super().__init__(stack, self.ID)
        self.options = options
        env_known = not (is_token(stack.account) or is_token(stack.region))
        self.stack_key = stack_key_of(stack, env_known)
        placement = options.placement
        self.log_group = placement.log_group or logs.LogGroup(
            self, "Logs", retention=logs.RetentionDays.ONE_YEAR
        )
        self.dead_letters = sqs.Queue(
            self,
            "DeadLetters",
            enforce_ssl=True,
            encryption=sqs.QueueEncryption.SQS_MANAGED,
            retention_period=Duration.days(14),
            # A dead-letter queue: a redrive allow policy is how Control Tower's CT.SQS.PR.1 tells one from a
            # queue lacking its own (allowAll or byQueue; SQS's default, allowAll, written out).
            redrive_allow_policy=sqs.RedriveAllowPolicy(redrive_permission=sqs.RedrivePermission.ALLOW_ALL),
        )
        guard_review.acknowledge(
            self.dead_letters.node.default_child, "AwsSolutions-SQS3", guard_review.DEAD_LETTER_REASON
        )
        self.role = function_role(self, self.log_group, guard_review.ROLE_DESCRIPTION)
        self.policy = self._pool_policy(stack)
        self.function = placed_function(
            self,
            "Function",
            GUARD_FUNCTION,
            placement,
            self.role,
            self.log_group,
            dead_letter_queue=self.dead_letters,
            environment={
                GUARD_STACK_KEY_ENV: self.stack_key,
                GUARD_STACK_ID_ENV: Aws.STACK_ID,
                GUARD_STACK_NAME_ENV: Aws.STACK_NAME,
                GUARD_RESOURCE_TYPE_ENV: RESOURCE_TYPE,
                GUARD_ENFORCE_ENV: "true" if options.enforce else "false",
                GUARD_ALLOW_LOWERING_ENV: "true" if options.allow_lowering else "false",
            },
        )
        self.function.node.add_dependency(self.policy)
        target = {
            "dead_letter_queue": self.dead_letters,
            "retry_attempts": EVENT_RETRY_ATTEMPTS,
            "max_event_age": EVENT_MAX_AGE,
        }
        self.pool_events = events.Rule(
            self,
            "PoolEvents",
            description="kvs-pool-retention guard: the service's events of this stack's pools",
            targets=[targets.LambdaFunction(self.function, **target)],  # type: ignore[arg-type]
        )
        self.sweep = events.Rule(
            self,
            "Sweep",
            description="kvs-pool-retention guard: every declared pool of this stack, checked",
            schedule=events.Schedule.rate(Duration.minutes(options.sweep_minutes)),
            targets=[
                targets.LambdaFunction(
                    self.function,
                    event=events.RuleTargetInput.from_object({"sweep": True}),
                    **target,  # type: ignore[arg-type]
                )
            ],
        )
        self.alarm = cloudwatch.Alarm(
            self,
            "DriftAlarm",
            alarm_description=f"kvs-pool-retention: a pool of this stack is not at its declared retention "
            f"(the guard's WARNING lines in {GUARD_NAMESPACE} say which)",
            metric=cloudwatch.Metric(
                namespace=GUARD_NAMESPACE,
                metric_name=GUARD_METRIC,
                dimensions_map={GUARD_STACK_DIMENSION: Aws.STACK_NAME},
                statistic="Maximum",
                period=Duration.seconds(60),
            ),
            threshold=1,
            comparison_operator=cloudwatch.ComparisonOperator.GREATER_THAN_OR_EQUAL_TO_THRESHOLD,
            # 1 of 3: an EMF point lands late (log flush, extraction) and still falls in the range evaluated
            # (CloudWatch, "Setting alarms on metrics created with the embedded metric format": M of N).
            evaluation_periods=ALARM_EVALUATION_PERIODS,
            datapoints_to_alarm=1,
            treat_missing_data=cloudwatch.TreatMissingData.IGNORE,
        )
        if options.alarm_actions:
            self.alarm.add_alarm_action(*options.alarm_actions)
        self.alarm_name_output = CfnOutput(
            self, "AlarmName", value=self.alarm.alarm_name, description="The retention guard's alarm"
        )
        Aspects.of(self).add(_PatternWhenSynthesized(self, stack))
        # After the handler's grant plan (a default-priority aspect): say when the stack is past its edge.
        Aspects.of(stack).add(guard_review.SayWhenGrantWidened(self, stack), priority=AspectPriority.READONLY)

    def action_arns(self, actions: tuple[cloudwatch.IAlarmAction, ...]) -> list[object]:
        """The alarm action ARNs `actions` bind to on this guard's alarm, resolved."""
        stack = Stack.of(self)
        return [stack.resolve(action.bind(self, self.alarm).alarm_action_arn) for action in actions]

    def _pool_policy(self, stack: Stack) -> iam.Policy:
        actions = [*GUARD_POOL_READS, *([UPDATE_POOL] if self.options.enforce else [])]
        pools = str(pool_arn(stack.partition, "*", stack.account, "*"))
        policy = iam.Policy(
            self,
            "PoolAccess",
            roles=[self.role],
            statements=[
                iam.PolicyStatement(
                    sid="DeclaredByThisStack",
                    actions=actions,
                    resources=[pools],
                    conditions={
                        "StringEquals": {f"aws:ResourceTag/{STACK_TAG_PREFIX}{self.stack_key}": Aws.STACK_ID}
                    },
                ),
                iam.PolicyStatement(
                    sid="ThisStack", actions=[DESCRIBE_STACKS, LIST_STACK_RESOURCES], resources=[Aws.STACK_ID]
                ),
            ],
        )
        cfn = policy.node.default_child
        assert isinstance(cfn, iam.CfnPolicy)
        review.acknowledge_wildcards(cfn, ([pools], guard_review.TAG_PINNED_REASON))
        return policy

    def plan_pattern(self, stack: Stack) -> None:
        """Once every retention resource of the stack exists: the rule's pattern, and a warning naming the
        pools declared by ARN in another region, whose events this rule cannot see."""
        declaring = [
            node
            for node in stack.node.find_all()
            if getattr(node, "cfn_resource_type", None) == RESOURCE_TYPE
        ]
        resources = [node for node in declaring if Stack.of(node) is stack]
        arns: list[object] = []
        elsewhere: list[str] = []
        for resource in resources:
            identifier = stack.resolve(resource._cfn_properties).get(POOL_IDENTIFIER)  # type: ignore[attr-defined]
            if isinstance(identifier, str) and identifier.startswith("arn:"):
                arns.append(identifier)
                region = identifier.split(":")[3]
                if is_token(stack.region) or region != stack.region:
                    elsewhere.append(identifier)
            elif isinstance(identifier, str) and not is_token(identifier):
                arns.append(pool_arn(stack.partition, stack.region, stack.account, identifier))
            else:  # known at deploy time only: the ARN the resource answers
                arns.append(resource.get_att("PoolArn").to_string())  # type: ignore[attr-defined]
        self.pool_events.add_event_pattern(**pool_event_pattern(stack, arns))
        if elsewhere:
            guard_review.say_other_region(self, sorted(elsewhere), region_known=not is_token(stack.region))
        nested = sorted({Stack.of(node).node.path for node in declaring if Stack.of(node) is not stack})
        if nested:
            guard_review.say_nested_stacks(self, nested)


@jsii.implements(IAspect)
class _PatternWhenSynthesized:
    def __init__(self, guard: RetentionGuard, stack: Stack) -> None:
        self._guard, self._stack, self._done = guard, stack, False

    def visit(self, node: IConstruct) -> None:
        if node is self._guard and not self._done:
            self._done = True
            self._guard.plan_pattern(self._stack)
