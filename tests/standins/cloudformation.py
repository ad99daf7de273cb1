"""Stands in for CloudFormation's stack operations on one account and region, for synthesized templates.

A test deploys template dicts (`app.synth().get_stack_by_name(name).template`) and the stand-in plays
CloudFormation's phases against the other stand-ins: creates and updates in dependency order (independent
resources concurrently), the cleanup phase, rollbacks of a failed create or update with their own cleanup,
and stack deletion. IAM resources change an `IamStore`, which the pool API stand-in and this stand-in's
endpoint (DescribeStacks, GetTemplate, DescribeStackResource) authorize every call by;
`AWS::Lambda::Function` registers a function in a `LambdaService`; custom resources are invoked through
their ServiceToken with real events, and their answers are read from the response URL stand-in. What it
models and what it does not: README.md here.
"""

from __future__ import annotations

import copy
import hashlib
import json
import secrets
import string
import threading
import time
import uuid
from collections.abc import Callable, Iterable, Iterator, Mapping
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, quote
from xml.sax.saxutils import escape

from tests.standins.iam import IamStore, Session
from tests.standins.intrinsics import (
    PSEUDO_PARAMETERS,
    TemplateError,
    evaluate_condition,
    references,
    resolve,
    stringify,
)
from tests.standins.lambda_service import (
    ConfigurationRefused,
    FunctionConfiguration,
    Invocation,
    LambdaService,
)
from tests.standins.pool_api import ACCOUNT, PoolApi, signature_problem, signed_by
from tests.standins.response_endpoint import ResponseEndpoint
from tests.standins.serving import StandInHandler, local_server, serving

DEFAULT_SERVICE_TIMEOUT_SECONDS = 3600
MAX_RESPONSE_BYTES = 4096
CUSTOM_RESOURCE_TYPES = ("AWS::CloudFormation::CustomResource",)
# Stack statuses from which CloudFormation refuses an update (the stack must be deleted or continued).
NOT_UPDATABLE = frozenset(
    {
        "CREATE_FAILED",
        "ROLLBACK_COMPLETE",
        "ROLLBACK_FAILED",
        "DELETE_FAILED",
        "UPDATE_ROLLBACK_FAILED",
        "CREATE_IN_PROGRESS",
        "UPDATE_IN_PROGRESS",
        "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS",
        "UPDATE_ROLLBACK_IN_PROGRESS",
        "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
        "ROLLBACK_IN_PROGRESS",
        "DELETE_IN_PROGRESS",
    }
)
BOOTSTRAP_VERSION_PARAMETER = "/cdk-bootstrap/hnb659fds/version"
STACK_TYPE = "AWS::CloudFormation::Stack"
# A resource's statuses once it is out of the stack (retained ones are out of it too).
REMOVED_STATUSES = frozenset({"DELETE_COMPLETE", "DELETE_SKIPPED"})
# CloudFormation retries creating a function whose new role IAM has not yet propagated, for a while.
ROLE_ASSUMPTION_RETRY_SECONDS = 15.0
_NAME_CHARACTERS = string.ascii_letters + string.digits


class ValidationError(Exception):
    """What CreateStack, UpdateStack or DeleteStack refuses before any resource is touched."""


class ResourceFailed(Exception):
    """One resource's operation failed; `physical_id` is what CloudFormation records for it, if anything.
    `attempted` is False when it failed before anything was asked of the resource (a refused ServiceToken
    change, say): its recorded state stays as it was and a rollback leaves it alone."""

    def __init__(self, reason: str, physical_id: str | None = None, *, attempted: bool = True) -> None:
        super().__init__(reason)
        self.reason, self.physical_id, self.attempted = reason, physical_id, attempted


# ---------------------------------------------------------------------------------------------------------
# What a test inspects.


@dataclass(frozen=True)
class StackEvent:
    """One line of the stack's events, as DescribeStackEvents lists them."""

    at: float
    logical_id: str
    physical_id: str
    resource_type: str
    status: str
    reason: str = ""


@dataclass
class CustomResourceRequest:
    """One event sent to a custom resource, with the answer CloudFormation read at its response URL."""

    event: dict
    stack_status: str  # the stack's status when the event was sent
    sent_at: float
    response: dict | None = None
    raw_response: bytes | None = None
    answered_at: float | None = None
    invocation: Invocation | None = None
    problem: str | None = None  # why the answer was missing or refused, in CloudFormation's words

    @property
    def request_type(self) -> str:
        return str(self.event["RequestType"])

    @property
    def logical_id(self) -> str:
        return str(self.event["LogicalResourceId"])

    @property
    def physical_id(self) -> str | None:
        """The PhysicalResourceId sent (Update, Delete)."""
        return self.event.get("PhysicalResourceId")

    @property
    def properties(self) -> dict:
        return dict(self.event["ResourceProperties"])

    @property
    def old_properties(self) -> dict | None:
        return self.event.get("OldResourceProperties")

    @property
    def status(self) -> str | None:
        return None if self.response is None else self.response.get("Status")

    @property
    def reason(self) -> str:
        return "" if self.response is None else str(self.response.get("Reason", ""))

    @property
    def answered_physical_id(self) -> str | None:
        return None if self.response is None else self.response.get("PhysicalResourceId")

    @property
    def data(self) -> dict:
        return {} if self.response is None else dict(self.response.get("Data") or {})

    @property
    def logs(self) -> str:
        """The handler's logs for this event, every attempt Lambda made (waits briefly for the last)."""
        if self.invocation is None:
            return ""
        self.invocation.wait(10)
        return self.invocation.logs


@dataclass(frozen=True)
class DescribeStacksCall:
    """One DescribeStacks request the endpoint answered."""

    access_key: str
    stack_name: str | None
    answered: int  # HTTP status
    stack_status: str | None  # what it told the caller, when it told one


@dataclass(frozen=True)
class DescribeStackResourceCall:
    """One DescribeStackResource request the endpoint answered (throttled ones included)."""

    access_key: str
    stack_name: str | None
    logical_id: str | None
    answered: int  # HTTP status
    resource_status: str | None  # what it told the caller, when it told one
    physical_id: str | None = None


@dataclass
class StackOperation:
    """What one CreateStack/UpdateStack/DeleteStack did."""

    stack_name: str
    stack_id: str
    kind: str  # CREATE, UPDATE or DELETE
    statuses: list[str] = field(default_factory=list)
    requests: list[CustomResourceRequest] = field(default_factory=list)
    events: list[StackEvent] = field(default_factory=list)

    @property
    def status(self) -> str:
        return self.statuses[-1]

    @property
    def failures(self) -> list[StackEvent]:
        """Resource-level failures, a DELETE_FAILED in a cleanup phase included."""
        return [
            event
            for event in self.events
            if event.status.endswith("_FAILED") and event.resource_type != STACK_TYPE
        ]

    def requests_for(self, logical_id: str) -> list[CustomResourceRequest]:
        return [request for request in self.requests if request.logical_id == logical_id]

    def sent(self) -> list[tuple[str, str, str | None]]:
        """(RequestType, LogicalResourceId, PhysicalResourceId) of every event sent, in order."""
        return [(r.request_type, r.logical_id, r.physical_id) for r in self.requests]


# ---------------------------------------------------------------------------------------------------------
# The stack's state.


@dataclass(frozen=True)
class PhysicalResource:
    physical_id: str
    properties: dict  # resolved, as this physical resource was last created or updated with (attempts too)
    attributes: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class _Doomed:
    """A physical resource to delete, with the policy that may retain it."""

    logical_id: str
    resource_type: str
    physical: PhysicalResource | None
    definition: dict
    policy: str = "DeletionPolicy"  # or UpdateReplacePolicy, for one superseded by a replacement


@dataclass(frozen=True)
class ResourceDescription:
    """What DescribeStackResource answers for one logical id: its latest status in the stack's operations,
    with the physical id that status is about (empty while its Create is in flight)."""

    logical_id: str
    resource_type: str
    physical_id: str
    status: str
    reason: str
    updated_at: datetime


@dataclass
class LiveResource:
    logical_id: str
    resource_type: str
    definition: dict  # the template entry it was last deployed from
    current: PhysicalResource | None
    status: str


@dataclass
class Stack:
    name: str
    stack_id: str
    created_at: datetime
    status: str = "CREATE_IN_PROGRESS"
    template: dict = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    resources: dict[str, LiveResource] = field(default_factory=dict)
    outputs: dict[str, Any] = field(default_factory=dict)
    exports: dict[str, Any] = field(default_factory=dict)
    operations: list[StackOperation] = field(default_factory=list)
    status_reason: str = ""
    # What GetTemplate answers: the template the stack is moving to (the new one while it is updated and
    # cleaned up, the old one while it rolls back), as CloudFormation's API shows it.
    destination: dict = field(default_factory=dict)
    # What DescribeStackResource answers, by logical id: every resource an operation has acted on, until a
    # removal from the stack completes (a deleted stack keeps its resources' DELETE_COMPLETE/DELETE_SKIPPED).
    described: dict[str, ResourceDescription] = field(default_factory=dict)
    lock: threading.RLock = field(default_factory=threading.RLock)

    def physical_id(self, logical_id: str) -> str | None:
        with self.lock:
            live = self.resources.get(logical_id)
            return live.current.physical_id if live and live.current else None

    def attributes(self, logical_id: str) -> dict[str, Any]:
        with self.lock:
            live = self.resources.get(logical_id)
            return dict(live.current.attributes) if live and live.current else {}

    def properties(self, logical_id: str) -> dict:
        with self.lock:
            live = self.resources.get(logical_id)
            return copy.deepcopy(live.current.properties) if live and live.current else {}


# ---------------------------------------------------------------------------------------------------------
# Templates.


@dataclass
class _Template:
    """A template with its parameters resolved: which resources it declares and what they wait for."""

    body: dict
    parameters: dict[str, Any]
    facts: _Facts | None = None

    @property
    def declared(self) -> dict[str, dict]:
        """Resources whose Condition holds."""
        assert self.facts is not None
        return {
            logical_id: definition
            for logical_id, definition in self.body.get("Resources", {}).items()
            if "Condition" not in definition or self.facts.condition(definition["Condition"])
        }

    def direct_dependencies(self) -> dict[str, set[str]]:
        resources = self.declared
        graph: dict[str, set[str]] = {}
        for logical_id, definition in resources.items():
            depends_on = definition.get("DependsOn", [])
            names = {depends_on} if isinstance(depends_on, str) else set(depends_on)
            names |= references({key: value for key, value in definition.items() if key != "DependsOn"})
            graph[logical_id] = {name for name in names if name in resources and name != logical_id}
        return graph


def _closure(graph: Mapping[str, set[str]]) -> dict[str, set[str]]:
    """Everything each node waits for, directly or through others."""
    closed: dict[str, set[str]] = {}

    def visit(node: str, path: tuple[str, ...]) -> set[str]:
        if node in closed:
            return closed[node]
        if node in path:
            cycle = sorted(path[path.index(node) :])
            raise ValidationError(f"Circular dependency between resources: [{', '.join(cycle)}]")
        found: set[str] = set()
        for dependency in graph.get(node, ()):
            found |= {dependency, *visit(dependency, (*path, node))}
        closed[node] = found
        return found

    for node in graph:
        visit(node, ())
    return closed


# ---------------------------------------------------------------------------------------------------------
# Resolution against the stack.


class _Facts:
    """A stack's facts for one template: what `Ref` and `Fn::GetAtt` give at the moment they are read."""

    def __init__(self, cloudformation: CloudFormation, stack: Stack, template: _Template) -> None:
        self._cfn, self._stack, self._template = cloudformation, stack, template
        self._conditions: dict[str, bool] = {}

    def ref(self, name: str) -> Any:
        pseudo = {
            "AWS::AccountId": self._cfn.account,
            "AWS::Partition": "aws",
            "AWS::Region": self._cfn.region,
            "AWS::StackId": self._stack.stack_id,
            "AWS::StackName": self._stack.name,
            "AWS::URLSuffix": "amazonaws.com",
            "AWS::NotificationARNs": [],
        }
        if name in pseudo:
            return pseudo[name]
        if name in self._template.parameters:
            return self._template.parameters[name]
        physical_id = self._stack.physical_id(name)
        if physical_id is None:
            raise TemplateError(f"Template format error: Unresolved resource dependencies [{name}]")
        return physical_id

    def get_att(self, logical_id: str, attribute: str) -> Any:
        attributes = self._stack.attributes(logical_id)
        if attribute not in attributes:
            with self._stack.lock:
                live = self._stack.resources.get(logical_id)
            if live is not None and _is_custom(live.resource_type):
                physical_id = live.current.physical_id if live.current else ""
                raise TemplateError(
                    f"CustomResource attribute error: Vendor response doesn't contain {attribute} key in "
                    f"object {self._stack.stack_id}|{logical_id}|{physical_id}"
                )
            raise TemplateError(
                f"Template error: resource {logical_id} does not support attribute type {attribute} "
                "in Fn::GetAtt"
            )
        return attributes[attribute]

    def condition(self, name: str) -> bool:
        if name not in self._conditions:
            conditions = self._template.body.get("Conditions", {})
            if name not in conditions:
                raise TemplateError(f"Template format error: Unresolved condition dependency {name}")
            self._conditions[name] = evaluate_condition(conditions[name], self)
        return self._conditions[name]

    def find_in_map(self, map_name: str, top_key: str, second_key: str) -> Any:
        try:
            return self._template.body["Mappings"][map_name][top_key][second_key]
        except KeyError:
            raise TemplateError(  # noqa: B904 - CloudFormation's message says it all
                f"Template error: Unable to get mapping for {map_name}::{top_key}::{second_key}"
            )

    def import_value(self, export_name: str) -> Any:
        return self._cfn.export(export_name)


def _is_custom(resource_type: str) -> bool:
    return resource_type.startswith("Custom::") or resource_type in CUSTOM_RESOURCE_TYPES


def _generated_name(stack_name: str, logical_id: str, max_length: int = 64, separator: str = "-") -> str:
    """A physical name as CloudFormation makes one up: stack, logical id and a random suffix, shortened."""
    suffix = "".join(secrets.choice(_NAME_CHARACTERS) for _ in range(12))
    room = max_length - len(suffix) - 2 * len(separator)
    stack_part = stack_name[: max(1, room // 2)]
    logical_part = logical_id[: room - len(stack_part)]
    return f"{stack_part}{separator}{logical_part}{separator}{suffix}"


def _random_id(prefix: str, length: int = 17, alphabet: str = string.ascii_uppercase + string.digits) -> str:
    return prefix + "".join(secrets.choice(alphabet) for _ in range(length))


# ---------------------------------------------------------------------------------------------------------
# Resource providers: what creating, updating and deleting each resource type does.


@dataclass(frozen=True)
class _Target:
    """The resource an operation acts on."""

    operation: _Operation
    logical_id: str
    resource_type: str

    @property
    def stack_name(self) -> str:
        return self.operation.stack.name


class _Provider:
    """Record-only: the resource's properties are kept and nothing else happens."""

    replaced_by: tuple[str, ...] = ()  # properties whose change means a new physical resource
    name_property: str | None = None
    name_length = 64

    def __init__(self, cfn: CloudFormation) -> None:
        self.cfn = cfn

    def requires_replacement(self, old: dict, new: dict) -> bool:
        return any(old.get(name) != new.get(name) for name in self.replaced_by)

    def physical_name(self, target: _Target, properties: dict) -> str:
        if self.name_property and properties.get(self.name_property):
            return str(properties[self.name_property])
        return _generated_name(target.stack_name, target.logical_id, self.name_length)

    def create(self, target: _Target, properties: dict) -> PhysicalResource:
        return PhysicalResource(self.physical_name(target, properties), properties)

    def update(self, target: _Target, current: PhysicalResource, properties: dict) -> PhysicalResource:
        return replace(current, properties=properties)

    def delete(self, target: _Target, physical: PhysicalResource) -> None:
        return None


class _LogGroup(_Provider):
    name_property = "LogGroupName"
    replaced_by = ("LogGroupName",)
    name_length = 512

    def create(self, target: _Target, properties: dict) -> PhysicalResource:
        name = self.physical_name(target, properties)
        arn = f"arn:aws:logs:{self.cfn.region}:{self.cfn.account}:log-group:{name}:*"
        return PhysicalResource(name, properties, {"Arn": arn})


class _SecurityGroup(_Provider):
    replaced_by = ("GroupDescription", "GroupName", "VpcId")

    def create(self, target: _Target, properties: dict) -> PhysicalResource:
        group_id = _random_id("sg-", 17, "0123456789abcdef")
        return PhysicalResource(
            group_id, properties, {"GroupId": group_id, "VpcId": properties.get("VpcId", "")}
        )


class _Role(_Provider):
    name_property = "RoleName"
    replaced_by = ("RoleName", "Path")

    def create(self, target: _Target, properties: dict) -> PhysicalResource:
        name = self.physical_name(target, properties)
        arn = self.cfn.iam.put_role(name, properties.get("Path", "/"))
        self._apply(name, {}, properties)
        return PhysicalResource(name, properties, {"Arn": arn, "RoleId": _random_id("AROA")})

    def update(self, target: _Target, current: PhysicalResource, properties: dict) -> PhysicalResource:
        self._apply(current.physical_id, current.properties, properties)
        return replace(current, properties=properties)

    def _apply(self, name: str, old: dict, new: dict) -> None:
        iam = self.cfn.iam
        old_inline = {policy["PolicyName"] for policy in old.get("Policies", [])}
        for policy in new.get("Policies", []):
            iam.put_role_policy(name, policy["PolicyName"], policy["PolicyDocument"])
        for policy_name in old_inline - {policy["PolicyName"] for policy in new.get("Policies", [])}:
            iam.delete_role_policy(name, policy_name)
        old_managed, new_managed = (
            set(old.get("ManagedPolicyArns", [])),
            set(new.get("ManagedPolicyArns", [])),
        )
        for arn in new_managed - old_managed:
            iam.attach_role_policy(name, arn)
        for arn in old_managed - new_managed:
            iam.detach_role_policy(name, arn)

    def delete(self, target: _Target, physical: PhysicalResource) -> None:
        self.cfn.iam.delete_role(physical.physical_id)


class _RolePolicy(_Provider):
    """AWS::IAM::Policy: one inline policy put on each role it names (users and groups are not modelled)."""

    def create(self, target: _Target, properties: dict) -> PhysicalResource:
        self._put(properties)
        name = _generated_name(target.stack_name[:5], target.logical_id[:5], 30).upper()
        return PhysicalResource(name, properties)

    def update(self, target: _Target, current: PhysicalResource, properties: dict) -> PhysicalResource:
        self._put(properties)
        old_name = current.properties.get("PolicyName")
        for role in current.properties.get("Roles", []):
            if role not in properties.get("Roles", []) or old_name != properties.get("PolicyName"):
                self.cfn.iam.delete_role_policy(role, old_name)
        return replace(current, properties=properties)

    def _put(self, properties: dict) -> None:
        for role in properties.get("Roles", []):
            try:
                self.cfn.iam.put_role_policy(role, properties["PolicyName"], properties["PolicyDocument"])
            except KeyError as error:
                raise ResourceFailed(str(error.args[0])) from None

    def delete(self, target: _Target, physical: PhysicalResource) -> None:
        for role in physical.properties.get("Roles", []):
            self.cfn.iam.delete_role_policy(role, physical.properties["PolicyName"])


class _ManagedPolicy(_Provider):
    name_property = "ManagedPolicyName"
    replaced_by = ("ManagedPolicyName", "Path")
    name_length = 128

    def create(self, target: _Target, properties: dict) -> PhysicalResource:
        name = self.physical_name(target, properties)
        arn = f"arn:aws:iam::{self.cfn.account}:policy{properties.get('Path', '/')}{name}"
        self.cfn.iam.put_managed_policy(arn, properties["PolicyDocument"])
        self._attach(arn, [], properties.get("Roles", []))
        return PhysicalResource(arn, properties, {"PolicyArn": arn, "PolicyId": _random_id("ANPA")})

    def update(self, target: _Target, current: PhysicalResource, properties: dict) -> PhysicalResource:
        self.cfn.iam.put_managed_policy(current.physical_id, properties["PolicyDocument"])
        self._attach(current.physical_id, current.properties.get("Roles", []), properties.get("Roles", []))
        return replace(current, properties=properties)

    def _attach(self, arn: str, old: list[str], new: list[str]) -> None:
        for role in set(new) - set(old):
            try:
                self.cfn.iam.attach_role_policy(role, arn)
            except KeyError as error:
                raise ResourceFailed(str(error.args[0])) from None
        for role in set(old) - set(new):
            self.cfn.iam.detach_role_policy(role, arn)

    def delete(self, target: _Target, physical: PhysicalResource) -> None:
        self._attach(physical.physical_id, physical.properties.get("Roles", []), [])
        self.cfn.iam.delete_managed_policy(physical.physical_id)


class _Function(_Provider):
    name_property = "FunctionName"
    replaced_by = ("FunctionName",)

    def arn(self, name: str) -> str:
        return f"arn:aws:lambda:{self.cfn.region}:{self.cfn.account}:function:{name}"

    def create(self, target: _Target, properties: dict) -> PhysicalResource:
        name = self.physical_name(target, properties)
        self._register(name, properties)
        return PhysicalResource(name, properties, {"Arn": self.arn(name)})

    def update(self, target: _Target, current: PhysicalResource, properties: dict) -> PhysicalResource:
        self._register(current.physical_id, properties, keep_async=True)
        return replace(current, properties=properties)

    def _register(self, name: str, properties: dict, keep_async: bool = False) -> None:
        arn = self.arn(name)
        role_arn = str(properties.get("Role", ""))
        if not self.cfn.iam.wait_for_role(role_arn, ROLE_ASSUMPTION_RETRY_SECONDS):
            raise ResourceFailed("The role defined for the function cannot be assumed by Lambda.")
        session = self.cfn.session_for(role_arn, name)
        previous = self.cfn.lambda_service.function_named(arn) if keep_async else None
        configuration = FunctionConfiguration(
            arn=arn,
            asset=self.cfn.code_folder(name, properties),
            handler=str(properties.get("Handler", "index.handler")),
            timeout_seconds=float(properties.get("Timeout", 3)),
            memory_mb=int(properties.get("MemorySize", 128)),
            runtime=str(properties.get("Runtime", "python3.14")),
            variables={
                k: str(v) for k, v in (properties.get("Environment") or {}).get("Variables", {}).items()
            },
            session=session,
        )
        if previous is not None:
            configuration.max_retries = previous.max_retries
            configuration.max_event_age_seconds = previous.max_event_age_seconds
        try:
            self.cfn.lambda_service.register(configuration)
        except ConfigurationRefused as error:
            raise ResourceFailed(str(error)) from None

    def delete(self, target: _Target, physical: PhysicalResource) -> None:
        self.cfn.lambda_service.unregister(self.arn(physical.physical_id))


class _EventInvokeConfig(_Provider):
    replaced_by = ("FunctionName", "Qualifier")

    def create(self, target: _Target, properties: dict) -> PhysicalResource:
        self._configure(properties)
        return PhysicalResource(_generated_name(target.stack_name, target.logical_id), properties)

    def update(self, target: _Target, current: PhysicalResource, properties: dict) -> PhysicalResource:
        self._configure(properties)
        return replace(current, properties=properties)

    def delete(self, target: _Target, physical: PhysicalResource) -> None:
        with suppress(ResourceFailed):  # the function may be gone already
            self._configure(
                {**physical.properties, "MaximumRetryAttempts": 2, "MaximumEventAgeInSeconds": 21600}
            )

    def _configure(self, properties: dict) -> None:
        function = str(properties["FunctionName"])
        arn = function if function.startswith("arn:") else _Function(self.cfn).arn(function)
        try:
            self.cfn.lambda_service.configure_async(
                arn,
                max_retries=int(properties.get("MaximumRetryAttempts", 2)),
                max_event_age_seconds=float(properties.get("MaximumEventAgeInSeconds", 21600)),
            )
        except KeyError:
            raise ResourceFailed(f"Function not found: {arn}") from None


class _MediaPipelineKinesisVideoStreamPool(_Provider):
    """AWS::Chime::MediaPipelineKinesisVideoStreamPool: owns a pool of the pool API stand-in."""

    replaced_by = ("PoolName",)

    def create(self, target: _Target, properties: dict) -> PhysicalResource:
        name = str(properties["PoolName"])
        stream = properties.get("StreamConfiguration", {})
        if name in self.cfn.pool_api.pools:
            raise ResourceFailed(f"{name} already exists")
        pool = self.cfn.pool_api.add_pool(
            name,
            region=str(stream.get("Region", self.cfn.region)),
            retention=int(stream.get("DataRetentionInHours", 0)),
            tags={tag["Key"]: tag["Value"] for tag in properties.get("Tags", [])},
        )
        return PhysicalResource(pool.arn, properties, self._attributes(name))

    def requires_replacement(self, old: dict, new: dict) -> bool:
        region = (
            old.get("StreamConfiguration", {}).get("Region"),
            new.get("StreamConfiguration", {}).get("Region"),
        )
        return super().requires_replacement(old, new) or region[0] != region[1]

    def update(self, target: _Target, current: PhysicalResource, properties: dict) -> PhysicalResource:
        pool = self.cfn.pool_api.pools[str(properties["PoolName"])]
        pool.retention = int(properties.get("StreamConfiguration", {}).get("DataRetentionInHours", 0))
        return PhysicalResource(current.physical_id, properties, self._attributes(pool.name))

    def _attributes(self, name: str) -> dict[str, Any]:
        configuration = self.cfn.pool_api.pools[name].configuration()["KinesisVideoStreamPoolConfiguration"]
        return {
            key: configuration[key] for key in ("PoolArn", "PoolId", "PoolName", "PoolStatus", "PoolSize")
        }

    def delete(self, target: _Target, physical: PhysicalResource) -> None:
        self.cfn.pool_api.pools.pop(physical.physical_id.rsplit("/", 1)[-1], None)


class _CustomResource(_Provider):
    """Custom resources: an event to the ServiceToken's function, the answer read at the response URL."""

    def requires_replacement(self, old: dict, new: dict) -> bool:
        return False  # the handler decides, by answering another PhysicalResourceId

    def create(self, target: _Target, properties: dict) -> PhysicalResource:
        physical_id, data = target.operation.send("Create", target, properties)
        return PhysicalResource(physical_id, properties, data)

    def update(self, target: _Target, current: PhysicalResource, properties: dict) -> PhysicalResource:
        if properties.get("ServiceToken") != current.properties.get("ServiceToken"):
            raise ResourceFailed(
                "Modifying service token is not allowed.", current.physical_id, attempted=False
            )
        physical_id, data = target.operation.send("Update", target, properties, current)
        return PhysicalResource(physical_id, properties, data)

    def delete(self, target: _Target, physical: PhysicalResource) -> None:
        target.operation.send("Delete", target, physical.properties, physical)


# ---------------------------------------------------------------------------------------------------------
# One stack operation, phase by phase.


class _Operation:
    def __init__(self, cfn: CloudFormation, stack: Stack, result: StackOperation) -> None:
        self.cfn, self.stack, self.result = cfn, stack, result
        self._lock = threading.Lock()
        self.created: list[str] = []  # logical ids created in this operation (their create attempted)
        self.updated: dict[str, LiveResource] = {}  # logical id -> its state before this operation
        self.superseded: list[_Doomed] = []  # replaced physical resources: deleted in the cleanup phase
        self.replaced_natively: set[str] = set()

    # Events and statuses ---------------------------------------------------------------------------------

    def set_status(self, status: str, reason: str = "") -> None:
        with self.stack.lock:
            self.stack.status, self.stack.status_reason = status, reason
        self.result.statuses.append(status)
        self.record(self.stack.name, self.stack.stack_id, STACK_TYPE, status, reason)

    def record(
        self,
        logical_id: str,
        physical_id: str,
        resource_type: str,
        status: str,
        reason: str = "",
        *,
        superseded: bool = False,
    ) -> None:
        """One stack event; a resource's event is also what DescribeStackResource answers for it from now on,
        except the deletion of a `superseded` physical resource (the resource itself is the replacement)."""
        event = StackEvent(time.monotonic(), logical_id, physical_id, resource_type, status, reason)
        with self._lock:
            self.result.events.append(event)
        if resource_type == STACK_TYPE or superseded:
            return
        with self.stack.lock:
            if status in REMOVED_STATUSES and self.result.kind == "UPDATE":
                # Removed from a stack that stays: CloudFormation no longer knows the logical id.
                self.stack.described.pop(logical_id, None)
            else:
                self.stack.described[logical_id] = ResourceDescription(
                    logical_id, resource_type, physical_id, status, reason, datetime.now(UTC)
                )

    def forget_removed(self) -> None:
        """The end of a cleanup phase: a removed resource whose Delete failed is no longer the stack's."""
        with self.stack.lock:
            for logical_id in set(self.stack.described) - set(self.stack.resources):
                del self.stack.described[logical_id]

    # Running resources in dependency order ---------------------------------------------------------------

    def in_order(
        self,
        items: Iterable[str],
        waits_for: Mapping[str, set[str]],
        work: Callable[[str], None],
        *,
        reverse: bool,
    ) -> bool:
        """Run `work` for each item once every item it must follow is done; the others concurrently. After a
        failure nothing new starts and what is under way finishes. True when every item succeeded."""
        pending = set(items)
        if reverse:  # an item goes once everything that waits for it is gone
            follows = {
                item: {other for other in pending if item in waits_for.get(other, set())} for item in pending
            }
        else:
            follows = {item: waits_for.get(item, set()) & pending for item in pending}
        done: set[str] = set()
        failed = False
        unexpected: BaseException | None = None
        with ThreadPoolExecutor(max_workers=max(1, len(pending))) as pool:
            running: dict[Future[None], str] = {}
            while True:
                if not failed:
                    for item in sorted(pending - done - set(running.values())):
                        if follows[item] <= done:
                            running[pool.submit(work, item)] = item
                if not running:
                    break
                finished, _ = wait(running, return_when=FIRST_COMPLETED)
                for future in finished:
                    item = running.pop(future)
                    try:
                        future.result()
                        done.add(item)
                    except ResourceFailed:
                        failed = True
                    except Exception as error:  # a bug in the stand-in: finish what runs, then raise it
                        failed, unexpected = True, unexpected or error
        if unexpected is not None:
            raise unexpected
        return not failed and done == pending

    # Custom resource events ----------------------------------------------------------------------------

    def send(
        self, request_type: str, target: _Target, properties: dict, current: PhysicalResource | None = None
    ) -> tuple[str, dict[str, Any]]:
        """Send one event and wait for its answer: (physical id, Data), or ResourceFailed."""
        logical_id, resource_type = target.logical_id, target.resource_type
        token = str(properties.get("ServiceToken", ""))
        request_id = str(uuid.uuid4())
        response_url, path = self.cfn.response_url(self.stack.stack_id, logical_id, request_id)
        event: dict[str, Any] = {
            "RequestType": request_type,
            "ServiceToken": token,
            "ResponseURL": response_url,
            "StackId": self.stack.stack_id,
            "RequestId": request_id,
            "LogicalResourceId": logical_id,
            "ResourceType": resource_type,
            "ResourceProperties": stringify(properties),
        }
        if current is not None:
            event["PhysicalResourceId"] = current.physical_id
        if request_type == "Update" and current is not None:
            event["OldResourceProperties"] = stringify(current.properties)
        timeout = _service_timeout(properties)
        if self.cfn.lambda_service.function_named(token) is None:
            raise ResourceFailed(
                f"Error occurred while invoking the ServiceToken: Function not found: {token}",
                None if current is None else current.physical_id,
                attempted=False,
            )
        request = CustomResourceRequest(event, self.stack.status, time.monotonic())
        with self._lock:
            self.result.requests.append(request)
        request.invocation = self.cfn.lambda_service.invoke_async(token, event)
        waited = timeout if self.cfn.response_wait_cap is None else min(timeout, self.cfn.response_wait_cap)
        body = self.cfn.response_endpoint.wait_for_body(path, waited)
        request.answered_at = time.monotonic() if body is not None else None
        request.raw_response = body
        if body is None:
            request.problem = "Custom Resource failed to stabilize in expected time"
            raise ResourceFailed(request.problem, None if current is None else current.physical_id)
        return self._read_answer(request, body, current)

    def _read_answer(
        self, request: CustomResourceRequest, body: bytes, current: PhysicalResource | None
    ) -> tuple[str, dict[str, Any]]:
        fallback = None if current is None else current.physical_id
        try:
            answer = json.loads(body)
        except ValueError:
            request.problem = "Invalid response: the body is not JSON"
            raise ResourceFailed(request.problem, fallback) from None
        request.response = answer if isinstance(answer, dict) else None
        if len(body) > MAX_RESPONSE_BYTES:
            request.problem = "Response object is too long."
            raise ResourceFailed(request.problem, fallback)
        if not isinstance(answer, dict):
            request.problem = "Invalid response: not a JSON object"
            raise ResourceFailed(request.problem, fallback)
        for name in ("RequestId", "LogicalResourceId", "StackId"):
            if answer.get(name) != request.event[name]:
                request.problem = (
                    f"Invalid response: {name} {answer.get(name)!r} does not match the request's"
                )
                raise ResourceFailed(request.problem, fallback)
        status, physical_id = answer.get("Status"), answer.get("PhysicalResourceId")
        if status == "FAILED":
            request.problem = (
                "Received response status [FAILED] from custom resource. Message returned: "
                f"{answer.get('Reason', '')} (RequestId: {request.event['RequestId']})"
            )
            raise ResourceFailed(request.problem, str(physical_id) if physical_id else fallback)
        if status != "SUCCESS":
            request.problem = f"Invalid response: Status {status!r} is neither SUCCESS nor FAILED"
            raise ResourceFailed(request.problem, fallback)
        if not physical_id or not isinstance(physical_id, str):
            request.problem = "Invalid PhysicalResourceId"
            raise ResourceFailed(request.problem, fallback)
        data = answer.get("Data") or {}
        return physical_id, dict(data) if isinstance(data, dict) else {}

    # Creating, updating, deleting one resource ---------------------------------------------------------

    def provider(self, resource_type: str) -> _Provider:
        return self.cfn.provider_for(resource_type)

    def create(self, logical_id: str, definition: dict, facts: _Facts) -> None:
        resource_type = definition["Type"]
        with self._lock:
            self.created.append(logical_id)
        self.record(logical_id, "", resource_type, "CREATE_IN_PROGRESS")
        properties: dict = {}
        try:
            properties = resolve(definition.get("Properties", {}), facts) or {}
            physical = self.provider(resource_type).create(
                _Target(self, logical_id, resource_type), properties
            )
        except (ResourceFailed, TemplateError) as failure:
            reason = failure.reason if isinstance(failure, ResourceFailed) else str(failure)
            physical_id = failure.physical_id if isinstance(failure, ResourceFailed) else None
            if physical_id is None and _is_custom(resource_type):
                physical_id = _generated_name(self.stack.name, logical_id)  # CloudFormation makes one up
            current = None if physical_id is None else PhysicalResource(physical_id, properties)
            with self.stack.lock:
                self.stack.resources[logical_id] = LiveResource(
                    logical_id, resource_type, definition, current, "CREATE_FAILED"
                )
            self.record(logical_id, physical_id or "", resource_type, "CREATE_FAILED", reason)
            raise ResourceFailed(reason, physical_id) from None
        with self.stack.lock:
            self.stack.resources[logical_id] = LiveResource(
                logical_id, resource_type, definition, physical, "CREATE_COMPLETE"
            )
        self.record(logical_id, physical.physical_id, resource_type, "CREATE_COMPLETE")

    def update(self, logical_id: str, definition: dict, facts: _Facts, *, rollback: bool = False) -> None:
        """Bring an existing resource to `definition`: nothing when its resolved properties are unchanged, an
        in-place update, or (native types) a replacement whose old physical resource waits for cleanup."""
        with self.stack.lock:
            live = self.stack.resources[logical_id]
            before = copy.copy(live)
        resource_type = definition["Type"]
        try:
            properties = resolve(definition.get("Properties", {}), facts) or {}
        except TemplateError as error:
            self.record(logical_id, _physical_id(live), resource_type, "UPDATE_FAILED", str(error))
            raise ResourceFailed(str(error)) from None
        current = live.current
        assert current is not None
        if properties == current.properties and not rollback:
            with self.stack.lock:
                live.definition = definition
            return
        provider = self.provider(resource_type)
        if not rollback:
            with self._lock:
                self.updated[logical_id] = before
        self.record(logical_id, current.physical_id, resource_type, "UPDATE_IN_PROGRESS")
        try:
            if provider.requires_replacement(current.properties, properties) and not rollback:
                physical = provider.create(_Target(self, logical_id, resource_type), properties)
                with self._lock:
                    self.replaced_natively.add(logical_id)
                    self.superseded.append(
                        _Doomed(logical_id, resource_type, current, live.definition, "UpdateReplacePolicy")
                    )
            else:
                physical = provider.update(_Target(self, logical_id, resource_type), current, properties)
        except ResourceFailed as failure:
            if not failure.attempted:
                with self._lock:
                    self.updated.pop(logical_id, None)
            elif _is_custom(resource_type):
                # CloudFormation records the id a FAILED answer carries, and the properties it attempted.
                physical_id = failure.physical_id or current.physical_id
                attributes = current.attributes if physical_id == current.physical_id else {}
                with self.stack.lock:
                    live.current = PhysicalResource(physical_id, properties, attributes)
            with self.stack.lock:
                live.status = "UPDATE_FAILED"
            self.record(logical_id, _physical_id(live), resource_type, "UPDATE_FAILED", failure.reason)
            raise
        if not rollback and _is_custom(resource_type) and physical.physical_id != current.physical_id:
            with self._lock:  # a replacement: the old physical resource goes in the cleanup phase
                self.superseded.append(
                    _Doomed(logical_id, resource_type, current, live.definition, "UpdateReplacePolicy")
                )
        with self.stack.lock:
            live.current, live.definition, live.status = physical, definition, "UPDATE_COMPLETE"
        self.record(logical_id, physical.physical_id, resource_type, "UPDATE_COMPLETE")

    def delete(self, doomed: _Doomed, *, just_created: bool = False) -> None:
        """Delete one physical resource, unless its policy retains it; nothing to do without one."""
        logical_id, resource_type, physical = doomed.logical_id, doomed.resource_type, doomed.physical
        superseded = doomed.policy == "UpdateReplacePolicy"
        if physical is None:
            self.record(logical_id, "", resource_type, "DELETE_COMPLETE", superseded=superseded)
            return
        physical_id = physical.physical_id
        policy = doomed.definition.get(doomed.policy)
        if policy == "Retain" or (policy == "RetainExceptOnCreate" and not just_created):
            self.record(logical_id, physical_id, resource_type, "DELETE_SKIPPED", superseded=superseded)
            return
        self.record(logical_id, physical_id, resource_type, "DELETE_IN_PROGRESS", superseded=superseded)
        try:
            self.provider(resource_type).delete(_Target(self, logical_id, resource_type), physical)
        except ResourceFailed as failure:
            self.record(
                logical_id, physical_id, resource_type, "DELETE_FAILED", failure.reason, superseded=superseded
            )
            raise
        self.record(logical_id, physical_id, resource_type, "DELETE_COMPLETE", superseded=superseded)


def _physical_id(live: LiveResource) -> str:
    return live.current.physical_id if live.current else ""


def _service_timeout(properties: dict) -> float:
    value = str(properties.get("ServiceTimeout", DEFAULT_SERVICE_TIMEOUT_SECONDS)).strip()
    if not value.isdigit() or not 1 <= int(value) <= DEFAULT_SERVICE_TIMEOUT_SECONDS:
        raise ResourceFailed(
            f"ServiceTimeout must be a whole number of seconds from 1 to 3600, not {value!r}", attempted=False
        )
    return float(value)


# ---------------------------------------------------------------------------------------------------------
# The service.


class CloudFormation:
    """Stacks in one account and region, their operations, and the DescribeStacks, GetTemplate and
    DescribeStackResource endpoint."""

    def __init__(
        self,
        pool_api: PoolApi,
        response_endpoint: ResponseEndpoint,
        lambda_service: LambdaService,
        iam: IamStore,
        *,
        workdir: Path,
        account: str = ACCOUNT,
        region: str = "us-east-1",
        response_wait_cap: float | None = None,
    ) -> None:
        self.pool_api, self.response_endpoint, self.lambda_service, self.iam = (
            pool_api,
            response_endpoint,
            lambda_service,
            iam,
        )
        self.workdir, self.account, self.region = workdir, account, region
        # How long, at most, to wait for a custom resource's answer; its ServiceTimeout otherwise.
        self.response_wait_cap = response_wait_cap
        self.assets: dict[str, Path] = {}  # S3 object key -> the asset folder it holds
        self.ssm_parameters: dict[str, str] = {BOOTSTRAP_VERSION_PARAMETER: "27"}
        self.credentials: dict[str, str] = {}  # access key -> secret, for the DescribeStacks endpoint
        self.describe_calls: list[DescribeStacksCall] = []
        self.template_calls: list[str] = []  # the stack's status at each GetTemplate answered
        self.resource_calls: list[DescribeStackResourceCall] = []  # every call, throttled ones included
        # API actions (DescribeStacks, GetTemplate, DescribeStackResource) answered 400 Throttling, as an
        # account's busy API is.
        self.throttled: set[str] = set()
        self.url = ""
        self._stacks: dict[str, Stack] = {}  # live stacks by name
        self._by_id: dict[str, Stack] = {}  # every stack ever, deleted ones included
        self._lock = threading.Lock()
        self._providers: dict[str, _Provider] = {
            "AWS::IAM::Role": _Role(self),
            "AWS::IAM::Policy": _RolePolicy(self),
            "AWS::IAM::ManagedPolicy": _ManagedPolicy(self),
            "AWS::Lambda::Function": _Function(self),
            "AWS::Lambda::EventInvokeConfig": _EventInvokeConfig(self),
            "AWS::Logs::LogGroup": _LogGroup(self),
            "AWS::EC2::SecurityGroup": _SecurityGroup(self),
            "AWS::Chime::MediaPipelineKinesisVideoStreamPool": _MediaPipelineKinesisVideoStreamPool(self),
        }
        self._custom = _CustomResource(self)
        self._record_only = _Provider(self)

    # Inputs --------------------------------------------------------------------------------------------

    def add_assembly(self, outdir: Path) -> None:
        """Make a cloud assembly's file assets available by the S3 keys its templates name."""
        for manifest in Path(outdir).glob("*.assets.json"):
            for entry in json.loads(manifest.read_text()).get("files", {}).values():
                if entry["source"].get("packaging") != "zip":
                    continue
                for destination in entry["destinations"].values():
                    self.assets[destination["objectKey"]] = Path(outdir) / entry["source"]["path"]

    def add_asset(self, object_key: str, folder: Path) -> None:
        self.assets[object_key] = folder

    def provider_for(self, resource_type: str) -> _Provider:
        if _is_custom(resource_type):
            return self._custom
        return self._providers.get(resource_type, self._record_only)

    def code_folder(self, function_name: str, properties: dict) -> Path:
        code = properties.get("Code", {})
        if "ZipFile" in code:  # inline code: Lambda's Python runtime finds it as index.py
            folder = self.workdir / "inline" / function_name
            folder.mkdir(parents=True, exist_ok=True)
            (folder / "index.py").write_text(str(code["ZipFile"]))
            return folder
        key = str(code.get("S3Key", ""))
        if key not in self.assets:
            raise ResourceFailed(
                "Error occurred while GetObject. S3 Error Code: NoSuchKey. "
                f"S3 Error Message: The specified key does not exist. ({key})"
            )
        return self.assets[key]

    def session_for(self, role_arn: str, function_name: str) -> Session:
        """Credentials for a function's role, as Lambda assumes it: usable on every stand-in."""
        session = self.iam.issue_credentials(role_arn, function_name)
        self.pool_api.credentials[session.access_key] = session.secret_key
        self.credentials[session.access_key] = session.secret_key
        return session

    def response_url(self, stack_id: str, logical_id: str, request_id: str) -> tuple[str, str]:
        """A pre-signed URL in S3's SigV4 form, unique to the event, and its path."""
        now = datetime.now(UTC)
        path = f"/{quote(stack_id, safe='')}%7C{logical_id}%7C{request_id}"
        signature = hashlib.sha256(f"{path}{now.isoformat()}".encode()).hexdigest()
        credential = quote(f"AKIAIOSFODNN7EXAMPLE/{now:%Y%m%d}/{self.region}/s3/aws4_request", safe="")
        query = (
            f"X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date={now:%Y%m%dT%H%M%SZ}&X-Amz-Expires=7200"
            f"&X-Amz-SignedHeaders=host&X-Amz-Credential={credential}&X-Amz-Signature={signature}"
        )
        return f"{self.response_endpoint.origin}{path}?{query}", path

    # Looking at stacks ---------------------------------------------------------------------------------

    def stack(self, name_or_id: str) -> Stack:
        with self._lock:
            stack = self._stacks.get(name_or_id) or self._by_id.get(name_or_id)
        if stack is None:
            raise ValidationError(f"Stack with id {name_or_id} does not exist")
        return stack

    def export(self, name: str) -> Any:
        with self._lock:
            for stack in self._stacks.values():
                if name in stack.exports:
                    return stack.exports[name]
        raise TemplateError(f"No export named {name} found.")

    # Operations ----------------------------------------------------------------------------------------

    def deploy(
        self, stack_name: str, template: dict, parameters: dict[str, Any] | None = None
    ) -> StackOperation:
        """CreateStack, or UpdateStack when the stack exists; returns when the operation has ended."""
        template = copy.deepcopy(template)
        with self._lock:
            stack = self._stacks.get(stack_name)
            if stack is None:
                stack_id = (
                    f"arn:aws:cloudformation:{self.region}:{self.account}:stack/{stack_name}/{uuid.uuid4()}"
                )
                stack = Stack(stack_name, stack_id, datetime.now(UTC))
                self._stacks[stack_name] = stack  # claimed at once: a concurrent deploy is refused below
                creating = True
            else:
                creating = False
                if stack.status in NOT_UPDATABLE:
                    raise ValidationError(
                        f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated."
                    )
                stack.status = "UPDATE_IN_PROGRESS"  # claimed: a concurrent deploy is refused above
        try:
            new = self._prepare(stack, template, parameters or {})
            if not creating and template == stack.template and new.parameters == stack.parameters:
                raise ValidationError("No updates are to be performed.")
        except Exception:
            with self._lock:
                if creating:  # CloudFormation creates no stack from a template it refuses
                    self._stacks.pop(stack_name, None)
                else:
                    stack.status = stack.operations[-1].status
            raise
        if creating:
            with self._lock:
                self._by_id[stack.stack_id] = stack
            return self._create(stack, new)
        return self._update(stack, new)

    def delete(self, stack_name: str) -> StackOperation:
        """DeleteStack; returns when the operation has ended."""
        stack = self.stack(stack_name)
        with self._lock:
            if stack.status.endswith("_IN_PROGRESS") or stack.status == "DELETE_COMPLETE":
                raise ValidationError(
                    f"Stack:{stack.stack_id} is in {stack.status} state and can not be deleted."
                )
            stack.status = "DELETE_IN_PROGRESS"
        result = StackOperation(stack.name, stack.stack_id, "DELETE")
        stack.operations.append(result)
        op = _Operation(self, stack, result)
        stack.destination = stack.template
        op.set_status("DELETE_IN_PROGRESS")
        current = self._template(stack, stack.template, stack.parameters)
        if self._delete_all(op, current, list(stack.resources)):
            op.set_status("DELETE_COMPLETE")
            with self._lock:
                self._stacks.pop(stack.name, None)
        else:
            op.set_status("DELETE_FAILED", "The following resource(s) failed to delete.")
        return result

    def _prepare(self, stack: Stack, body: dict, given: dict[str, Any]) -> _Template:
        """Parameters and Rules first, then the template's own consistency, as CloudFormation validates."""
        if not body.get("Resources"):
            raise ValidationError("Template format error: At least one Resources member must be defined.")
        parameters = self._parameter_values(body, given)
        template = self._template(stack, body, parameters)
        for name, rule in body.get("Rules", {}).items():
            if "RuleCondition" in rule and not evaluate_condition(rule["RuleCondition"], template.facts):
                continue
            for assertion in rule.get("Assertions", []):
                if not evaluate_condition(assertion["Assert"], template.facts):
                    raise ValidationError(assertion.get("AssertDescription", f"Rule {name} failed"))
        declared = template.declared
        names = set(declared) | set(parameters) | set(PSEUDO_PARAMETERS)
        for definition in declared.values():
            depends_on = definition.get("DependsOn", [])
            missing = sorted(
                (references(definition) - names)
                | ({depends_on} if isinstance(depends_on, str) else set(depends_on)) - set(declared)
            )
            if missing:
                raise ValidationError(
                    "Template format error: Unresolved resource dependencies "
                    f"[{', '.join(missing)}] in the Resources block of the template"
                )
        _closure(template.direct_dependencies())
        with stack.lock:
            changed = sorted(
                logical_id
                for logical_id, definition in declared.items()
                if logical_id in stack.resources
                and stack.resources[logical_id].resource_type != definition["Type"]
            )
        if changed:
            raise ValidationError(
                "Update of resource type is not permitted. The new template modifies resource type of the "
                f"following resources: [{', '.join(changed)}]"
            )
        return template

    def _template(self, stack: Stack, body: dict, parameters: dict[str, Any]) -> _Template:
        template = _Template(body, parameters)
        template.facts = _Facts(self, stack, template)
        return template

    def _parameter_values(self, body: dict, given: dict[str, Any]) -> dict[str, Any]:
        declared = body.get("Parameters", {})
        unknown = sorted(set(given) - set(declared))
        if unknown:
            raise ValidationError(f"Parameters: [{', '.join(unknown)}] do not exist in the template")
        values: dict[str, Any] = {}
        missing = []
        for name, spec in declared.items():
            value = given.get(name, spec.get("Default"))
            if value is None:
                missing.append(name)
                continue
            kind = str(spec.get("Type", "String"))
            if kind.startswith("AWS::SSM::Parameter::Value<"):
                if str(value) not in self.ssm_parameters:
                    raise ValidationError(
                        f"Unable to fetch parameters [{value}] from parameter store for this account."
                    )
                value = self.ssm_parameters[str(value)]
            if "AllowedValues" in spec and value not in spec["AllowedValues"]:
                raise ValidationError(f"Parameter '{name}' must be one of AllowedValues")
            if kind == "CommaDelimitedList" or kind.startswith("List<"):
                value = [item.strip() for item in str(value).split(",")]
            values[name] = value if isinstance(value, list) else str(value)
        if missing:
            raise ValidationError(f"Parameters: [{', '.join(missing)}] must have values")
        return values

    def _create(self, stack: Stack, new: _Template) -> StackOperation:
        result = StackOperation(stack.name, stack.stack_id, "CREATE")
        stack.operations.append(result)
        op = _Operation(self, stack, result)
        stack.destination = new.body
        op.set_status("CREATE_IN_PROGRESS", "User Initiated")
        if self._update_phase(op, new):
            self._settle(stack, new)
            op.set_status("CREATE_COMPLETE")
            return result
        op.set_status("ROLLBACK_IN_PROGRESS", self._failed_reason(result, "create"))
        if self._delete_all(op, new, list(stack.resources)):
            op.set_status("ROLLBACK_COMPLETE")
        else:
            op.set_status("ROLLBACK_FAILED")
        return result

    def _update(self, stack: Stack, new: _Template) -> StackOperation:
        result = StackOperation(stack.name, stack.stack_id, "UPDATE")
        stack.operations.append(result)
        op = _Operation(self, stack, result)
        old = self._template(stack, stack.template, stack.parameters)
        stack.destination = new.body
        op.set_status("UPDATE_IN_PROGRESS", "User Initiated")
        if self._update_phase(op, new):
            op.set_status("UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
            self._cleanup(op, old, new)
            self._settle(stack, new)
            op.set_status("UPDATE_COMPLETE")
            return result
        stack.destination = old.body
        op.set_status("UPDATE_ROLLBACK_IN_PROGRESS", self._failed_reason(result, "update"))
        superseded = self._roll_back(op, old)
        if superseded is None:
            op.set_status("UPDATE_ROLLBACK_FAILED")
            return result
        op.set_status("UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
        self._rollback_cleanup(op, old, new, superseded)
        self._settle(stack, old)
        op.set_status("UPDATE_ROLLBACK_COMPLETE")
        return result

    @staticmethod
    def _failed_reason(result: StackOperation, verb: str) -> str:
        failed = sorted({event.logical_id for event in result.failures})
        return f"The following resource(s) failed to {verb}: [{', '.join(failed)}]. "

    def _update_phase(self, op: _Operation, new: _Template) -> bool:
        declared = new.declared
        assert new.facts is not None
        facts = new.facts

        def bring(logical_id: str) -> None:
            with op.stack.lock:
                exists = logical_id in op.stack.resources
            if exists:
                op.update(logical_id, declared[logical_id], facts)
            else:
                op.create(logical_id, declared[logical_id], facts)

        return op.in_order(declared, _closure(new.direct_dependencies()), bring, reverse=False)

    def _cleanup(self, op: _Operation, old: _Template, new: _Template) -> None:
        """Delete what the new template removed and what replacements superseded, in reverse dependency order
        of the old template. A failed Delete is recorded and the stack still completes."""
        with op.stack.lock:
            removed = [
                _Doomed(logical_id, live.resource_type, live.current, live.definition)
                for logical_id in old.declared
                if logical_id not in new.declared
                and (live := op.stack.resources.pop(logical_id, None)) is not None
            ]
        self._delete_in_reverse(op, [*removed, *op.superseded], old.direct_dependencies())
        op.forget_removed()

    def _roll_back(self, op: _Operation, old: _Template) -> list[_Doomed] | None:
        """Every resource the failed update changed (or tried to) goes back to the old template: an Update
        with the old properties, in dependency order of the old template. Returns what the rollback
        superseded (to delete in its cleanup), or None when a rollback update failed."""
        assert old.facts is not None
        facts, declared = old.facts, old.declared
        superseded: list[_Doomed] = []
        lock = threading.Lock()

        def restore(logical_id: str) -> None:
            with op.stack.lock:
                live = op.stack.resources[logical_id]
                attempted = live.current
            if logical_id in op.replaced_natively:  # the old physical resource still exists: switch back
                before = op.updated[logical_id]
                with op.stack.lock:
                    live.current, live.definition = before.current, before.definition
                    live.status = "UPDATE_COMPLETE"
                op.record(logical_id, _physical_id(live), live.resource_type, "UPDATE_COMPLETE")
            else:
                op.update(logical_id, declared[logical_id], facts, rollback=True)
            with op.stack.lock:
                now = live.current
            if attempted is not None and (now is None or now.physical_id != attempted.physical_id):
                doomed = _Doomed(
                    logical_id, live.resource_type, attempted, declared[logical_id], "UpdateReplacePolicy"
                )
                with lock:
                    superseded.append(doomed)

        targets = [logical_id for logical_id in op.updated if logical_id in declared]
        if not op.in_order(targets, _closure(old.direct_dependencies()), restore, reverse=False):
            return None
        return superseded

    def _rollback_cleanup(
        self, op: _Operation, old: _Template, new: _Template, superseded: list[_Doomed]
    ) -> None:
        """Delete what the failed update created and what its rollback superseded, in reverse dependency
        order of both templates."""
        with op.stack.lock:
            created = [
                _Doomed(logical_id, live.resource_type, live.current, live.definition)
                for logical_id in op.created
                if logical_id not in old.declared
                and (live := op.stack.resources.pop(logical_id, None)) is not None
            ]
        graph = new.direct_dependencies()
        for logical_id, waits in old.direct_dependencies().items():
            graph[logical_id] = graph.get(logical_id, set()) | waits
        self._delete_in_reverse(op, [*created, *superseded], graph, just_created=True)
        op.forget_removed()

    def _delete_in_reverse(
        self, op: _Operation, doomed: list[_Doomed], graph: dict[str, set[str]], *, just_created: bool = False
    ) -> None:
        """Cleanup deletions: a failed one is recorded as DELETE_FAILED and the operation still completes."""
        by_logical_id: dict[str, list[_Doomed]] = {}
        for item in doomed:
            by_logical_id.setdefault(item.logical_id, []).append(item)

        def remove(logical_id: str) -> None:
            for item in by_logical_id[logical_id]:
                with suppress(ResourceFailed):
                    op.delete(item, just_created=just_created)

        op.in_order(by_logical_id, _closure(graph), remove, reverse=True)

    def _delete_all(self, op: _Operation, template: _Template, logical_ids: list[str]) -> bool:
        """Delete these resources in reverse dependency order; True when none failed."""
        graph = template.direct_dependencies() if template.body else {}

        def remove(logical_id: str) -> None:
            with op.stack.lock:
                live = op.stack.resources[logical_id]
            op.delete(
                _Doomed(logical_id, live.resource_type, live.current, live.definition),
                just_created=op.result.kind == "CREATE",
            )
            with op.stack.lock:
                op.stack.resources.pop(logical_id, None)

        return op.in_order(logical_ids, _closure(graph), remove, reverse=True)

    def _settle(self, stack: Stack, template: _Template) -> None:
        """The template in force after the operation, and its outputs."""
        assert template.facts is not None
        outputs: dict[str, Any] = {}
        exports: dict[str, Any] = {}
        for name, output in template.body.get("Outputs", {}).items():
            if "Condition" in output and not template.facts.condition(output["Condition"]):
                continue
            with suppress(TemplateError):
                outputs[name] = resolve(output["Value"], template.facts)
                if "Export" in output:
                    exports[str(resolve(output["Export"]["Name"], template.facts))] = outputs[name]
        with stack.lock:
            stack.template, stack.parameters = template.body, template.parameters
            stack.outputs, stack.exports = outputs, exports

    # DescribeStacks, GetTemplate, DescribeStackResource ------------------------------------------------

    def get_template(self, access_key: str, stack_name: str | None) -> tuple[int, str]:
        """GetTemplate (TemplateStage Original and Processed alike: no transforms are modelled)."""
        if "GetTemplate" in self.throttled:
            return 400, _error_xml("Sender", "Throttling", "Rate exceeded")
        try:
            stack = self.stack(stack_name or "")
        except ValidationError as error:
            return 400, _error_xml("Sender", "ValidationError", str(error))
        denial = self.iam.authorize(access_key, "cloudformation:GetTemplate", stack.stack_id, {}, self.region)
        if denial is not None:
            return 403, _error_xml("Sender", "AccessDenied", denial)
        with stack.lock:
            body = json.dumps(stack.destination or stack.template)
        with self._lock:
            self.template_calls.append(stack.status)
        return 200, (
            '<GetTemplateResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
            f"<GetTemplateResult><TemplateBody>{escape(body)}</TemplateBody>"
            "<StagesAvailable><member>Original</member><member>Processed</member></StagesAvailable>"
            f"</GetTemplateResult><ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId>"
            "</ResponseMetadata></GetTemplateResponse>"
        )

    def describe_stacks(self, access_key: str, stack_name: str | None) -> tuple[int, str]:
        """The query API's answer: HTTP status and XML body. Every call is recorded."""
        if "DescribeStacks" in self.throttled:
            return 400, _error_xml("Sender", "Throttling", "Rate exceeded")
        status, body, stack_status = self._describe(access_key, stack_name)
        with self._lock:
            self.describe_calls.append(DescribeStacksCall(access_key, stack_name, status, stack_status))
        return status, body

    def _describe(self, access_key: str, stack_name: str | None) -> tuple[int, str, str | None]:
        if stack_name:
            try:
                stacks = [self.stack(stack_name)]
            except ValidationError as error:
                return 400, _error_xml("Sender", "ValidationError", str(error)), None
        else:
            with self._lock:
                stacks = list(self._stacks.values())
        for stack in stacks:
            denial = self.iam.authorize(
                access_key, "cloudformation:DescribeStacks", stack.stack_id, {}, self.region
            )
            if denial is not None:
                return 403, _error_xml("Sender", "AccessDenied", denial), None
        members = "".join(_stack_xml(stack) for stack in stacks)
        body = (
            '<DescribeStacksResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
            f"<DescribeStacksResult><Stacks>{members}</Stacks></DescribeStacksResult>"
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            "</DescribeStacksResponse>"
        )
        return 200, body, stacks[0].status if len(stacks) == 1 else None

    def describe_stack_resource(
        self, access_key: str, stack_name: str | None, logical_id: str | None
    ) -> tuple[int, str]:
        """DescribeStackResource: one resource's latest status in its stack's operations. Every call is
        recorded, a throttled one too."""
        status, body, described = self._describe_resource(access_key, stack_name, logical_id)
        call = DescribeStackResourceCall(
            access_key,
            stack_name,
            logical_id,
            status,
            None if described is None else described.status,
            None if described is None else described.physical_id,
        )
        with self._lock:
            self.resource_calls.append(call)
        return status, body

    def _describe_resource(
        self, access_key: str, stack_name: str | None, logical_id: str | None
    ) -> tuple[int, str, ResourceDescription | None]:
        if "DescribeStackResource" in self.throttled:
            return 400, _error_xml("Sender", "Throttling", "Rate exceeded"), None
        for value, member in ((stack_name, "stackName"), (logical_id, "logicalResourceId")):
            if not value:
                message = (
                    f"1 validation error detected: Value null at '{member}' failed to satisfy constraint: "
                    "Member must not be null"
                )
                return 400, _error_xml("Sender", "ValidationError", message), None
        assert stack_name is not None
        assert logical_id is not None
        try:
            stack = self.stack(stack_name)
        except ValidationError as error:
            # Addressed by name, DescribeStackResource words it otherwise than DescribeStacks (README.md).
            message = str(error) if stack_name.startswith("arn:") else f"Stack '{stack_name}' does not exist"
            return 400, _error_xml("Sender", "ValidationError", message), None
        denial = self.iam.authorize(
            access_key, "cloudformation:DescribeStackResource", stack.stack_id, {}, self.region
        )
        if denial is not None:
            return 403, _error_xml("Sender", "AccessDenied", denial), None
        with stack.lock:
            described = stack.described.get(logical_id)
        if described is None:
            message = f"Resource {logical_id} does not exist for stack {stack_name}"
            return 400, _error_xml("Sender", "ValidationError", message), None
        physical = (
            f"<PhysicalResourceId>{escape(described.physical_id)}</PhysicalResourceId>"
            if described.physical_id
            else ""
        )
        reason = (
            f"<ResourceStatusReason>{escape(described.reason)}</ResourceStatusReason>"
            if described.reason
            else ""
        )
        body = (
            '<DescribeStackResourceResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
            "<DescribeStackResourceResult><StackResourceDetail>"
            f"<StackName>{escape(stack.name)}</StackName><StackId>{escape(stack.stack_id)}</StackId>"
            f"<LogicalResourceId>{escape(described.logical_id)}</LogicalResourceId>{physical}"
            f"<ResourceType>{escape(described.resource_type)}</ResourceType>"
            f"<LastUpdatedTimestamp>{described.updated_at:%Y-%m-%dT%H:%M:%S.%f}Z</LastUpdatedTimestamp>"
            f"<ResourceStatus>{described.status}</ResourceStatus>{reason}"
            "<DriftInformation><StackResourceDriftStatus>NOT_CHECKED</StackResourceDriftStatus>"
            "</DriftInformation></StackResourceDetail></DescribeStackResourceResult>"
            f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            "</DescribeStackResourceResponse>"
        )
        return 200, body, described


def _stack_xml(stack: Stack) -> str:
    with stack.lock:
        outputs = "".join(
            f"<member><OutputKey>{escape(name)}</OutputKey><OutputValue>{escape(str(value))}</OutputValue></member>"
            for name, value in stack.outputs.items()
        )
        reason = (
            f"<StackStatusReason>{escape(stack.status_reason)}</StackStatusReason>"
            if stack.status_reason
            else ""
        )
        return (
            f"<member><StackId>{escape(stack.stack_id)}</StackId><StackName>{escape(stack.name)}</StackName>"
            f"<CreationTime>{stack.created_at:%Y-%m-%dT%H:%M:%S.%f}Z</CreationTime>"
            f"<StackStatus>{stack.status}</StackStatus>{reason}"
            f"<DisableRollback>false</DisableRollback><Outputs>{outputs}</Outputs></member>"
        )


def _error_xml(kind: str, code: str, message: str) -> str:
    return (
        '<ErrorResponse xmlns="http://cloudformation.amazonaws.com/doc/2010-05-15/">'
        f"<Error><Type>{kind}</Type><Code>{code}</Code><Message>{escape(message)}</Message></Error>"
        f"<RequestId>{uuid.uuid4()}</RequestId></ErrorResponse>"
    )


def _handler_class(cfn: CloudFormation) -> type[BaseHTTPRequestHandler]:
    class Handler(StandInHandler):
        def do_POST(self) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            problem = signature_problem(
                "POST",
                self.path,
                headers,
                body,
                headers.get("host", ""),
                dict(cfn.credentials),
                "cloudformation",
            )
            if problem:
                self._reply(403, _error_xml("Sender", "SignatureDoesNotMatch", problem))
                return
            access_key, _ = signed_by(headers)
            form = dict(parse_qsl(body.decode()))
            if form.get("Action") == "DescribeStacks":
                self._reply(*cfn.describe_stacks(access_key, form.get("StackName")))
            elif form.get("Action") == "GetTemplate":
                self._reply(*cfn.get_template(access_key, form.get("StackName")))
            elif form.get("Action") == "DescribeStackResource":
                self._reply(
                    *cfn.describe_stack_resource(
                        access_key, form.get("StackName"), form.get("LogicalResourceId")
                    )
                )
            else:
                self._reply(
                    400, _error_xml("Sender", "InvalidAction", f"{form.get('Action')} is not modelled")
                )

        def _reply(self, status: int, body: str) -> None:
            self.answer(status, body.encode(), "text/xml")

    return Handler


@contextmanager
def serve_cloudformation(
    pool_api: PoolApi,
    response_endpoint: ResponseEndpoint,
    workdir: Path,
    runtime_path: Path,
    *,
    region: str = "us-east-1",
    propagation_seconds: float = 0.0,
    response_wait_cap: float | None = 30.0,
    function_timeout_cap: float | None = 30.0,
    retry_delays: tuple[float, ...] = (1.0, 2.0),
) -> Iterator[CloudFormation]:
    """CloudFormation, IAM and Lambda stand-ins wired to the pool API and response URL stand-ins.

    The pool API authorizes every signed call through the IAM store from here on. Test-friendly defaults:
    custom resources' answers are awaited at most `response_wait_cap` seconds, functions run at most
    `function_timeout_cap` seconds, and Lambda retries a failed invocation after 1 s and 2 s.
    """
    iam = IamStore(ACCOUNT, propagation_seconds=propagation_seconds)
    lambda_service = LambdaService(
        runtime_path,
        region=region,
        ca_file=response_endpoint.ca_file,
        timeout_cap_seconds=function_timeout_cap,
        retry_delays=retry_delays,
    )
    cfn = CloudFormation(
        pool_api,
        response_endpoint,
        lambda_service,
        iam,
        workdir=workdir,
        region=region,
        response_wait_cap=response_wait_cap,
    )
    server, cfn.url = local_server(_handler_class(cfn))
    lambda_service.endpoints = {
        "AWS_ENDPOINT_URL_CHIME_SDK_MEDIA_PIPELINES": pool_api.url,
        "AWS_ENDPOINT_URL_CLOUDFORMATION": cfn.url,
    }
    previous_authorizer = pool_api.authorizer
    pool_api.authorizer = iam.authorize
    try:
        with serving(server):
            yield cfn
    finally:
        lambda_service.close()
        pool_api.authorizer = previous_authorizer
