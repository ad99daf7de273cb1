"""IAM's evaluation of identity-based policies, as the stand-ins authorize each request with it.

What it models, following the IAM User Guide ("Policy evaluation logic", "Condition operators",
"Single-valued vs. multivalued context keys"):
- Statements: `Effect`, `Action`/`NotAction` (case-insensitive, `*` and `?` wildcards), `Resource`/
  `NotResource` (case-sensitive wildcards), `Condition`; a string or a list wherever IAM takes either.
- Evaluation within one account: default deny; an explicit Deny in any document wins over every Allow.
- Condition operators `StringEquals`, `StringNotEquals`, `StringEqualsIgnoreCase`,
  `StringNotEqualsIgnoreCase`, `StringLike`, `StringNotLike`, `ArnEquals`, `ArnLike`, `ArnNotEquals`,
  `ArnNotLike`, `Bool`, `Null`; the `ForAllValues:`/`ForAnyValue:` set prefixes and the `IfExists` suffix.
  Operators in a block AND together, keys under one operator AND, values of one key OR (NOR for a negated
  operator). Condition key names are case-insensitive; values are compared as the operator says.
- The absent-key rules: a key missing from the request context makes a condition false, except that a
  negated operator (`StringNotEquals`, `StringNotLike`, `ArnNotLike`, ...) and `...IfExists` are then
  true, and `Null` tests presence itself. `ForAllValues:` is true when the key is absent or empty;
  `ForAnyValue:` is false then. An empty multivalued key counts as absent for `Null` too.
- Policy variables (`${aws:PrincipalArn}`, `${*}`, `${?}`, `${$}`) in resources and condition values; a
  variable whose key is absent makes the element it is in match nothing.
- `IamStore`: roles, their inline policies, customer managed policies attached to them, credentials issued
  to a role's sessions, and propagation: a change made at time t is in force from t + `propagation_seconds`
  (IAM is eventually consistent, so a just-granted permission can still be refused for a few seconds).
- Documents arrive resolved: the CloudFormation stand-in resolves a template's intrinsic functions
  (`Fn::Join` of `AWS::Partition`, `Ref` of `AWS::StackId`, `Fn::Sub`, ...) with `intrinsics.resolve`
  before it puts a policy here.

What it does not model: resource-based policies (and so cross-account access), service control and
resource control policies, permissions boundaries, session policies, AWS managed policies' contents (an
attached AWS managed policy grants nothing here), `Principal` (identity policies have none), numeric,
date, IP and binary operators. A single-valued operator applied to a multivalued key in the request
context is undocumented by IAM; here it matches nothing (as the cloud-copilot iam-simulate reads it).
Anything not modelled raises `PolicyNotModelled` rather than guessing.
"""

from __future__ import annotations

import enum
import re
import secrets
import string
import threading
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cache
from typing import Any

ContextValue = str | Sequence[str]
RequestContext = Mapping[str, ContextValue]

SET_PREFIXES = ("ForAllValues:", "ForAnyValue:")
_VARIABLE = re.compile(r"\$\{([^}]*)\}")
_LITERAL_VARIABLES = {"*": "*", "?": "?", "$": "$"}


class PolicyNotModelled(ValueError):
    """A policy uses IAM grammar this evaluator does not model: fail loudly rather than guess."""


class Decision(enum.Enum):
    ALLOW = "allow"
    EXPLICIT_DENY = "explicit deny"
    IMPLICIT_DENY = "implicit deny"


def evaluate(
    documents: Iterable[Mapping[str, Any]], action: str, resource_arn: str, context: RequestContext
) -> bool:
    """Whether these identity-based policy documents allow `action` on `resource_arn` in this context."""
    return decide(documents, action, resource_arn, context) is Decision.ALLOW


def decide(
    documents: Iterable[Mapping[str, Any]], action: str, resource_arn: str, context: RequestContext
) -> Decision:
    keys = {name.lower(): value for name, value in context.items()}
    allowed = False
    for document in documents:
        for statement in _statements(document):
            if not _applies(statement, action, resource_arn, keys):
                continue
            effect = statement.get("Effect")
            if effect == "Deny":
                return Decision.EXPLICIT_DENY
            if effect == "Allow":
                allowed = True
            else:
                raise PolicyNotModelled(f"Effect must be Allow or Deny, not {effect!r}")
    return Decision.ALLOW if allowed else Decision.IMPLICIT_DENY


def _statements(document: Mapping[str, Any]) -> list[Mapping[str, Any]]:
    statements = document.get("Statement", [])
    return [statements] if isinstance(statements, Mapping) else list(statements)


def _applies(statement: Mapping[str, Any], action: str, resource: str, keys: dict[str, ContextValue]) -> bool:
    if "Principal" in statement or "NotPrincipal" in statement:
        raise PolicyNotModelled("Principal belongs in resource-based policies, which are not modelled")
    if not _element_matches(statement, "Action", action, keys, _action_matches):
        return False
    if not _element_matches(statement, "Resource", resource, keys, _resource_matches):
        return False
    conditions = statement.get("Condition") or {}
    return all(_condition_holds(operator, block, keys) for operator, block in conditions.items())


def _element_matches(
    statement: Mapping[str, Any],
    name: str,
    value: str,
    keys: dict[str, ContextValue],
    matches: Callable[[str, str], bool],
) -> bool:
    if name in statement and f"Not{name}" in statement:
        raise PolicyNotModelled(f"a statement has both {name} and Not{name}")
    if name in statement:
        return any(matches(pattern, value) for pattern in _patterns(statement[name], keys))
    if f"Not{name}" in statement:
        return not any(matches(pattern, value) for pattern in _patterns(statement[f"Not{name}"], keys))
    raise PolicyNotModelled(f"a statement has neither {name} nor Not{name}")


def _patterns(element: str | Sequence[str], keys: dict[str, ContextValue]) -> list[str]:
    listed = [element] if isinstance(element, str) else list(element)
    substituted = (_substitute(str(pattern), keys) for pattern in listed)
    return [pattern for pattern in substituted if pattern is not None]


def _substitute(text: str, keys: dict[str, ContextValue]) -> str | None:
    """The pattern a policy value stands for once its variables are filled in; None when one names a key
    the request lacks (the element then matches nothing). Backslashes mark what is literal: a variable's
    value, the `${*}`, `${?}` and `${$}` escapes, and any backslash written in the policy."""
    pattern, end = [], 0
    for match in _VARIABLE.finditer(text):
        pattern.append(_escape_backslashes(text[end : match.start()]))
        name = match[1].strip()
        if name in _LITERAL_VARIABLES:
            pattern.append("\\" + _LITERAL_VARIABLES[name])
        else:
            value = keys.get(name.lower())
            if not isinstance(value, str):
                return None
            pattern.append(_escape(value))
        end = match.end()
    pattern.append(_escape_backslashes(text[end:]))
    return "".join(pattern)


def _escape_backslashes(text: str) -> str:
    return text.replace("\\", "\\\\")


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace("*", "\\*").replace("?", "\\?")


@cache
def _wildcard(pattern: str, ignore_case: bool) -> re.Pattern[str]:
    """`*` any run of characters, `?` any one; a backslash makes the next character literal."""
    parts = []
    index = 0
    while index < len(pattern):
        character = pattern[index]
        if character == "\\" and index + 1 < len(pattern):
            parts.append(re.escape(pattern[index + 1]))
            index += 2
            continue
        parts.append(".*" if character == "*" else "." if character == "?" else re.escape(character))
        index += 1
    return re.compile("".join(parts), re.DOTALL | (re.IGNORECASE if ignore_case else 0))


def _like(pattern: str, value: str, *, ignore_case: bool = False) -> bool:
    return _wildcard(pattern, ignore_case).fullmatch(value) is not None


def _literal(pattern: str) -> str:
    """A substituted value compared for equality: the escapes `_substitute` added are undone."""
    return re.sub(r"\\(.)", r"\1", pattern)


def _action_matches(pattern: str, action: str) -> bool:
    return _like(pattern, action, ignore_case=True)


def _resource_matches(pattern: str, resource: str) -> bool:
    return pattern == "*" or _like(pattern, resource)


def _arn_like(pattern: str, arn: str) -> bool:
    """ArnLike compares each of the six colon-separated parts on its own."""
    wanted, actual = pattern.split(":", 5), arn.split(":", 5)
    if len(wanted) != 6 or len(actual) != 6:
        return False
    return all(_like(part, value) for part, value in zip(wanted, actual, strict=True))


@dataclass(frozen=True)
class _Operator:
    matches: Callable[[str, str], bool]  # (policy value, request value)
    negated: bool = False


_OPERATORS = {
    "StringEquals": _Operator(lambda wanted, value: _literal(wanted) == value),
    "StringNotEquals": _Operator(lambda wanted, value: _literal(wanted) == value, negated=True),
    "StringEqualsIgnoreCase": _Operator(lambda wanted, value: _literal(wanted).lower() == value.lower()),
    "StringNotEqualsIgnoreCase": _Operator(
        lambda wanted, value: _literal(wanted).lower() == value.lower(), negated=True
    ),
    "StringLike": _Operator(_like),
    "StringNotLike": _Operator(_like, negated=True),
    "ArnEquals": _Operator(_arn_like),
    "ArnLike": _Operator(_arn_like),
    "ArnNotEquals": _Operator(_arn_like, negated=True),
    "ArnNotLike": _Operator(_arn_like, negated=True),
    "Bool": _Operator(lambda wanted, value: _literal(wanted).lower() == value.lower()),
}


def _condition_holds(operator: str, block: Mapping[str, Any], keys: dict[str, ContextValue]) -> bool:
    if not isinstance(block, Mapping):
        raise PolicyNotModelled(f"condition {operator} must map keys to values")
    return all(_key_holds(operator, name, wanted, keys) for name, wanted in block.items())


def _key_holds(operator: str, name: str, wanted: object, keys: dict[str, ContextValue]) -> bool:
    values = [_policy_value(value) for value in (wanted if isinstance(wanted, list) else [wanted])]
    present = keys.get(name.lower())
    request = None if present is None else [present] if isinstance(present, str) else list(present)
    set_prefix = next((prefix for prefix in SET_PREFIXES if operator.startswith(prefix)), "")
    base = operator.removeprefix(set_prefix)
    if_exists = base.endswith("IfExists") and base != "IfExists"
    base = base.removesuffix("IfExists") if if_exists else base
    if base == "Null":
        if set_prefix or if_exists:
            raise PolicyNotModelled(f"{operator} is not a condition operator")
        absent = not request
        return any(value.lower() == ("true" if absent else "false") for value in values)
    if base not in _OPERATORS:
        raise PolicyNotModelled(f"condition operator {operator} is not modelled")
    compare = _OPERATORS[base]
    substituted = [_substitute(value, keys) for value in values]
    patterns = [value for value in substituted if value is not None]

    def matches_any(value: str) -> bool:
        return any(compare.matches(pattern, value) for pattern in patterns)

    def satisfies(value: str) -> bool:
        return not matches_any(value) if compare.negated else matches_any(value)

    if set_prefix == "ForAllValues:":
        return all(satisfies(value) for value in request or [])
    if set_prefix == "ForAnyValue:":
        return any(satisfies(value) for value in request or [])
    if request is None:
        return compare.negated or if_exists
    if not isinstance(present, str):
        return False  # a multivalued key needs a set operator; see the module's note
    return satisfies(present)


def _policy_value(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str | int | float):
        return str(value)
    raise PolicyNotModelled(f"condition value {value!r} is not a string, number or boolean")


# ---------------------------------------------------------------------------------------------------------
# The account's IAM: roles, their policies, their sessions' credentials, and when changes take effect.


@dataclass(frozen=True)
class Session:
    """Credentials a role's session holds (what Lambda gives a function's execution environment)."""

    access_key: str
    secret_key: str
    role_arn: str
    session_name: str

    @property
    def arn(self) -> str:
        """The assumed-role ARN IAM names in an AccessDenied message."""
        _, _, _, _, account, resource = self.role_arn.split(":", 5)
        role_name = resource.rsplit("/", 1)[-1]
        partition = self.role_arn.split(":")[1]
        return f"arn:{partition}:sts::{account}:assumed-role/{role_name}/{self.session_name}"


@dataclass
class _Role:
    arn: str
    inline: dict[str, Mapping[str, Any]] = field(default_factory=dict)
    attached: set[str] = field(default_factory=set)  # managed policy ARNs


@dataclass(frozen=True)
class _InForce:
    since: float
    documents: tuple[Mapping[str, Any], ...]
    role_exists: bool = True


class IamStore:
    """One account's roles and policies. Every change is in force `propagation_seconds` after it is made,
    as IAM's eventual consistency has it; lookups answer what is in force at the clock's time."""

    def __init__(
        self,
        account: str,
        *,
        partition: str = "aws",
        clock: Callable[[], float] = time.monotonic,
        propagation_seconds: float = 0.0,
    ) -> None:
        self.account, self.partition = account, partition
        self.clock = clock
        self.propagation_seconds = propagation_seconds
        self._roles: dict[str, _Role] = {}
        self._managed: dict[str, Mapping[str, Any]] = {}
        self._sessions: dict[str, Session] = {}
        self._in_force: dict[str, list[_InForce]] = {}
        self._lock = threading.RLock()

    # Roles and policies -------------------------------------------------------------------------------

    def role_arn(self, role_name: str, path: str = "/") -> str:
        return f"arn:{self.partition}:iam::{self.account}:role{path}{role_name}"

    def put_role(self, role_name: str, path: str = "/") -> str:
        with self._lock:
            role = self._roles.setdefault(role_name, _Role(self.role_arn(role_name, path)))
            self._changed([role])
            return role.arn

    def delete_role(self, role_name: str) -> None:
        with self._lock:
            role = self._roles.pop(role_name, None)
            if role is not None:
                role.inline.clear()
                role.attached.clear()
                self._changed([role])

    def put_role_policy(self, role_name: str, policy_name: str, document: Mapping[str, Any]) -> None:
        with self._lock:
            role = self._role(role_name)
            role.inline[policy_name] = document
            self._changed([role])

    def delete_role_policy(self, role_name: str, policy_name: str) -> None:
        with self._lock:
            role = self._roles.get(role_name)
            if role is not None and role.inline.pop(policy_name, None) is not None:
                self._changed([role])

    def put_managed_policy(self, policy_arn: str, document: Mapping[str, Any]) -> None:
        with self._lock:
            self._managed[policy_arn] = document
            self._changed([role for role in self._roles.values() if policy_arn in role.attached])

    def delete_managed_policy(self, policy_arn: str) -> None:
        with self._lock:
            self._managed.pop(policy_arn, None)
            self._changed([role for role in self._roles.values() if policy_arn in role.attached])

    def attach_role_policy(self, role_name: str, policy_arn: str) -> None:
        with self._lock:
            role = self._role(role_name)
            role.attached.add(policy_arn)
            self._changed([role])

    def detach_role_policy(self, role_name: str, policy_arn: str) -> None:
        with self._lock:
            role = self._roles.get(role_name)
            if role is not None and policy_arn in role.attached:
                role.attached.discard(policy_arn)
                self._changed([role])

    def _role(self, role_name: str) -> _Role:
        role = self._roles.get(role_name)
        if role is None:
            raise KeyError(f"The role with name {role_name} cannot be found.")
        return role

    def _changed(self, roles: Iterable[_Role]) -> None:
        since = self.clock() + self.propagation_seconds
        for role in roles:
            documents = (
                *role.inline.values(),
                *(self._managed[arn] for arn in sorted(role.attached) if arn in self._managed),
            )
            exists = self._roles.get(role.arn.rsplit("/", 1)[-1]) is role
            self._in_force.setdefault(role.arn, []).append(_InForce(since, documents, exists))

    def _in_force_at(self, role_arn: str, at: float | None) -> _InForce | None:
        now = self.clock() if at is None else at
        with self._lock:
            in_force = [entry for entry in self._in_force.get(role_arn, []) if entry.since <= now]
        return in_force[-1] if in_force else None

    def documents_for(self, role_arn: str, at: float | None = None) -> tuple[Mapping[str, Any], ...]:
        """The documents in force for a role at `at` (now when not given): the latest change whose time
        has come."""
        entry = self._in_force_at(role_arn, at)
        return entry.documents if entry else ()

    def role_exists(self, role_arn: str, at: float | None = None) -> bool:
        """Whether the role is known everywhere yet (a new role propagates like any change)."""
        entry = self._in_force_at(role_arn, at)
        return entry is not None and entry.role_exists

    def wait_for_role(self, role_arn: str, seconds: float) -> bool:
        """Whether the role comes into force within `seconds` (real time: only with the real clock)."""
        deadline = time.monotonic() + seconds
        while not self.role_exists(role_arn):
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.1)
        return True

    # Credentials and authorization --------------------------------------------------------------------

    def issue_credentials(self, role_arn: str, session_name: str) -> Session:
        """Credentials for a session of `role_arn`, as Lambda obtains for a function's environments."""
        alphabet = string.ascii_uppercase + string.digits
        session = Session(
            access_key="ASIA" + "".join(secrets.choice(alphabet) for _ in range(16)),
            secret_key=secrets.token_urlsafe(30),
            role_arn=role_arn,
            session_name=session_name,
        )
        with self._lock:
            self._sessions[session.access_key] = session
        return session

    def session(self, access_key: str) -> Session | None:
        with self._lock:
            return self._sessions.get(access_key)

    def authorize(
        self, access_key: str, action: str, resource_arn: str, context: RequestContext, region: str
    ) -> str | None:
        """None when allowed; otherwise the AccessDenied message AWS gives, naming the caller."""
        session = self.session(access_key)
        if session is None:
            caller = f"arn:{self.partition}:iam::{self.account}:user/unknown-{access_key}"
            return _denied(caller, action, resource_arn, Decision.IMPLICIT_DENY)
        full_context = {
            "aws:PrincipalArn": session.role_arn,
            "aws:PrincipalAccount": self.account,
            "aws:RequestedRegion": region,
            **context,
        }
        decision = decide(self.documents_for(session.role_arn), action, resource_arn, full_context)
        return None if decision is Decision.ALLOW else _denied(session.arn, action, resource_arn, decision)


def _denied(caller: str, action: str, resource_arn: str, decision: Decision) -> str:
    because = (
        "with an explicit deny in an identity-based policy"
        if decision is Decision.EXPLICIT_DENY
        else f"because no identity-based policy allows the {action} action"
    )
    return f"User: {caller} is not authorized to perform: {action} on resource: {resource_arn} {because}"
