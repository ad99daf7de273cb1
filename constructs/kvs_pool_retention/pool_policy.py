"""The handler's access to pools: the exact grant each retention resource adds, planned into the role's
inline policy and as many managed policies as they need when the app synthesizes, and the fixed statements
pinned to this stack by the pools' own tags.

How grants fit IAM's and CloudFormation's limits is `grant_plan`'s arithmetic; this module builds the
policies. The policies are children of the provider, at the construct ids deployed stacks already have.
"""

from __future__ import annotations

import functools
import json
from dataclasses import dataclass
from typing import Any, TypeGuard, TypeVar

import jsii
from aws_cdk import (
    Aspects,
    Aws,
    CfnResource,
    IAnyProducer,
    IAspect,
    IResolveContext,
    Lazy,
    NestedStack,
    Stack,
)
from aws_cdk import aws_iam as iam
from aws_cdk import aws_lambda as lambda_
from constructs import Construct, IConstruct

from kvs_pool_retention import grant_plan, review
from kvs_pool_retention.grant_plan import Grant
from kvs_pool_retention.handler.retention_rules import (
    DESCRIBE_STACK_RESOURCE,
    DESCRIBE_STACKS,
    POOL_ACTIONS,
    STACK_TAG_PREFIX,
    TAG_PREFIX,
    PoolIdentity,
    pool_arn,
)

_Node = TypeVar("_Node")

# Tag and Untag only under the record's prefix: the role can touch no other tag of a pool.
ONLY_RECORD_TAGS = {"ForAllValues:StringLike": {"aws:TagKeys": [TAG_PREFIX + "*"]}}


@dataclass(frozen=True)
class StackPlace:
    """Where the stack deploys, read from CDK once (each call into aws-cdk-lib is a round trip to Node)."""

    partition: str
    account: str
    region: str
    env_known: bool  # account and region are concrete, not tokens
    stack_key: str  # the key of the stack's anchor tag on the pools it declares (retention_rules)


class PoolPolicy:
    """The pool grants of one handler's role, as its retention resources add them."""

    def __init__(
        self, scope: Construct, role: iam.Role, function: lambda_.Function, place: StackPlace
    ) -> None:
        self._scope, self._role, self._function, self._place = scope, role, function, place
        self._grants: list[Grant] = []
        self._granted: set[str] = set()
        self.widen_because: str | None = None
        self.managed: list[iam.CfnManagedPolicy] = []
        self.inline = iam.CfnPolicy(
            scope,
            "PoolAccess",
            policy_name="kvs-pool-retention-pools",
            roles=[role.role_name],
            policy_document=Lazy.uncached_any(_RenderWhenWritten(self)),
        )
        review.acknowledge_wildcards(
            self.inline,
            ([self.recorded_pools], review.RECORDED_POOLS),
            ([self.declaring_stacks], review.DECLARING_STACKS),
        )
        # Every retention resource references the function, so this one dependency makes each of them wait
        # for its pool's grant, in Creates and Updates alike.
        function.node.add_dependency(self.inline)
        Aspects.of(scope).add(_PlanWhenSynthesized(scope, self))

    @property
    def recorded_pools(self) -> str:
        """This account's pools in every region: the scope of the grants conditioned on the record."""
        return str(pool_arn(self._place.partition, "*", self._place.account, "*"))

    @property
    def declaring_stacks(self) -> str:
        """Every stack of this account, in every region: a pool's declarations may come from any."""
        return f"arn:{self._place.partition}:cloudformation:*:{self._place.account}:stack/*"

    def arn(self, name: str) -> str:
        """A pool ARN in the stack's partition, account and region (tokens for an env-agnostic stack)."""
        return str(pool_arn(self._place.partition, self._place.region, self._place.account, name))

    # --- what retention resources add -----------------------------------------------------------------

    def grant_literal(self, pool: PoolIdentity) -> None:
        """Grant a pool named at synth (a name in this stack's environment, or an ARN)."""
        chars = grant_plan.arn_chars(pool.partition, pool.region, pool.account, pool.name)
        if pool.region is None or pool.partition is None or pool.account is None:
            self._add(Grant(self.arn(pool.name), chars, in_stack_env=True))
            return
        place = self._place
        in_env = place.env_known and (pool.account, pool.region) == (place.account, place.region)
        self._add(Grant(pool_arn(pool.partition, pool.region, pool.account, pool.name), chars, in_env))

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

    # --- at synth ---------------------------------------------------------------------------------------

    def plan(self) -> None:
        """Once every instance has added its pool: exact ARNs inline, the rest in as few managed policies
        as they need; the account-wide grant only where the stack or the role has no room for those."""
        if self.widen_because is not None or self.managed:
            return
        stack = Stack.of(self._scope)
        others = _RoleSurroundings.read(stack, self._role, self.inline, self.managed)
        fixed, managed_structure = (
            grant_plan.document_chars(document)
            for document in stack.resolve(
                [self._document([], with_fixed=True), self._document([], with_fixed=False)]
            )
        )
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
                self._scope,
                f"PoolAccess{number}",
                description=review.managed_policy_description(number, number_of),
                roles=[self._role.role_name],
                policy_document=self._document(grants, with_fixed=False),
            )
            self._function.node.add_dependency(policy)  # each resource waits for its pool's grant
            self.managed.append(policy)

    def _widen(self, why: str) -> None:
        """Grant this account's pools in this region instead of listing each: said once, acknowledged."""
        if self.widen_because is not None:
            return
        self.widen_because = why
        review.acknowledge_wildcards(self.inline, ([self.arn("*")], review.all_pools_in_region(why)))

    def render(self) -> dict[str, Any]:
        """The inline policy, as the template is written (after every instance has added its pool)."""
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
            anchor = f"aws:ResourceTag/{STACK_TAG_PREFIX}{self._place.stack_key}"
            statements += [
                {
                    # A Delete in the cleanup phase, after the exact grant for its pool is gone, still reaches
                    # the pools whose record names this stack (declarations.py: the stack's anchor tag).
                    "Sid": "DeclaredByThisStack",
                    "Effect": "Allow",
                    "Action": list(POOL_ACTIONS),
                    "Resource": self.recorded_pools,
                    "Condition": {"StringEquals": {anchor: _stack_id()}, **ONLY_RECORD_TAGS},
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
            id(child) for node in everything if _is(node, NestedStack) for child in node.node.find_all()
        }
        own = [node for node in everything if _is(node, CfnResource) and id(node) not in nested]
        role_ref = stack.resolve(role.role_name)
        inline_chars = 0
        attached = 0
        for resource in own:
            if resource is pool_policy or resource in ours:
                continue
            if _is(resource, iam.CfnPolicy) and role_ref in stack.resolve(resource.roles or []):
                inline_chars += grant_plan.document_chars(stack.resolve(resource.policy_document))
            elif _is(resource, iam.CfnManagedPolicy) and role_ref in stack.resolve(resource.roles or []):
                attached += 1
        cfn_role = role.node.default_child
        assert isinstance(cfn_role, iam.CfnRole)
        attached += len(stack.resolve(cfn_role.managed_policy_arns) or [])
        return cls(len(own), inline_chars, attached)


def _is(node: object, kind: type[_Node]) -> TypeGuard[_Node]:
    """isinstance for the tree's nodes, by class alone: jsii's types are ABCs, whose isinstance checks cost
    a stack of hundreds of nodes a measurable share of its synthesis (tests/bench)."""
    return kind in type(node).__mro__


@jsii.implements(IAspect)
class _PlanWhenSynthesized:
    """Plans the pool policies when the app synthesizes, after every instance has been added."""

    def __init__(self, owner: Construct, policy: PoolPolicy) -> None:
        self._owner, self._policy = owner, policy

    def visit(self, node: IConstruct) -> None:
        # On the provider, before the aspects visit its children (cdk-nag's reads the policies as planned).
        if node is self._owner:
            self._policy.plan()


@functools.cache
def _stack_id() -> str:
    """The stack id's token (the same string in every stack), read from aws-cdk-lib once."""
    return str(Aws.STACK_ID)


@jsii.implements(IAnyProducer)
class _RenderWhenWritten:
    """Render the inline pool policy when the template is written."""

    def __init__(self, policy: PoolPolicy) -> None:
        self._policy = policy

    def produce(self, context: IResolveContext) -> dict[str, Any]:
        return self._policy.render()
