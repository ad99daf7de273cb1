"""CloudFormation's intrinsic functions, resolved against one stack's facts at the moment of resolution.

Resolves `Ref` (pseudo parameters, template parameters, resources' physical ids, `AWS::NoValue`),
`Fn::GetAtt` (both forms), `Fn::Join`, `Fn::Select`, `Fn::Split`, `Fn::Sub` (both forms, `${!Literal}`
escapes), `Fn::If` and the condition functions (`Fn::Equals`, `Fn::Not`, `Fn::And`, `Fn::Or`,
`Condition`, and `Fn::Contains` for Rules), `Fn::FindInMap`, `Fn::GetAZs`, `Fn::Base64`,
`Fn::ImportValue`. Policy documents, custom resource properties and outputs all go through here, so a
policy's `Fn::Join` of `AWS::Partition` becomes the same ARN the API stand-ins authorize against.

Not modelled (raises `TemplateError`): `Fn::Cidr`, `Fn::Transform` and the language-extension functions
(`Fn::ForEach`, `Fn::Length`, `Fn::ToJsonString`).
"""

from __future__ import annotations

import base64
import re
from collections.abc import Mapping
from typing import Any, Protocol

PSEUDO_PARAMETERS = (
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
    "AWS::NoValue",
)
CONDITION_FUNCTIONS = ("Fn::And", "Fn::Equals", "Fn::If", "Fn::Not", "Fn::Or", "Condition", "Fn::Contains")
_SUB_VARIABLE = re.compile(r"\$\{([^}]*)\}")


class TemplateError(ValueError):
    """What CloudFormation would refuse or fail on, in its words where known."""


class _NoValue:
    """`Ref: AWS::NoValue`: removes the property or list element that holds it."""


NO_VALUE = _NoValue()


class StackFacts(Protocol):
    """What resolution needs to know about a stack right now."""

    def ref(self, name: str) -> Any:
        """A pseudo parameter's, parameter's or resource's value; TemplateError when unknown."""

    def get_att(self, logical_id: str, attribute: str) -> Any: ...

    def condition(self, name: str) -> bool: ...

    def find_in_map(self, map_name: str, top_key: str, second_key: str) -> Any: ...

    def import_value(self, export_name: str) -> Any: ...


def resolve(value: Any, facts: StackFacts) -> Any:
    """`value` with every intrinsic function replaced by what it evaluates to now."""
    resolved = _resolve(value, facts)
    return None if resolved is NO_VALUE else resolved


def _resolve(value: Any, facts: StackFacts) -> Any:
    if isinstance(value, list):
        items = [_resolve(item, facts) for item in value]
        return [item for item in items if item is not NO_VALUE]
    if not isinstance(value, dict):
        return value
    if len(value) == 1:
        ((name, argument),) = value.items()
        if name == "Ref" or name.startswith("Fn::") or name == "Condition":
            return _function(name, argument, facts)
    resolved = {key: _resolve(item, facts) for key, item in value.items()}
    return {key: item for key, item in resolved.items() if item is not NO_VALUE}


def _function(name: str, argument: Any, facts: StackFacts) -> Any:
    if name == "Ref":
        return NO_VALUE if argument == "AWS::NoValue" else facts.ref(str(argument))
    if name == "Fn::GetAtt":
        logical_id, attribute = _get_att_target(argument)
        return facts.get_att(logical_id, _resolve(attribute, facts))
    if name == "Fn::Join":
        delimiter, items = argument
        return str(delimiter).join(_string(item) for item in _list(_resolve(items, facts), name))
    if name == "Fn::Select":
        index, items = argument
        chosen = _list(_resolve(items, facts), name)
        position = int(_resolve(index, facts))
        if not 0 <= position < len(chosen):
            raise TemplateError(f"Template error: Fn::Select cannot select nonexistent value at {position}")
        return chosen[position]
    if name == "Fn::Split":
        delimiter, text = argument
        return _string(_resolve(text, facts)).split(str(delimiter))
    if name == "Fn::Sub":
        return _sub(argument, facts)
    if name == "Fn::If":
        condition, when_true, when_false = argument
        return _resolve(when_true if facts.condition(str(condition)) else when_false, facts)
    if name in CONDITION_FUNCTIONS:
        return evaluate_condition({name: argument}, facts)
    if name == "Fn::FindInMap":
        map_name, top_key, second_key = (_string(_resolve(part, facts)) for part in argument)
        return facts.find_in_map(map_name, top_key, second_key)
    if name == "Fn::GetAZs":
        region = _string(_resolve(argument, facts)) or facts.ref("AWS::Region")
        return [f"{region}{zone}" for zone in "abc"]
    if name == "Fn::Base64":
        return base64.b64encode(_string(_resolve(argument, facts)).encode()).decode()
    if name == "Fn::ImportValue":
        return facts.import_value(_string(_resolve(argument, facts)))
    raise TemplateError(f"Template format error: {name} is not modelled by the stand-in")


def evaluate_condition(expression: Any, facts: StackFacts) -> bool:
    """A condition function (Conditions section, `Fn::If`, Rules) to a boolean."""
    if isinstance(expression, bool):
        return expression
    if isinstance(expression, str):
        return expression.lower() == "true"
    ((name, argument),) = expression.items()
    if name == "Condition":
        return facts.condition(str(argument))
    if name == "Fn::Equals":
        left, right = (_resolve(side, facts) for side in argument)
        return _string(left) == _string(right)
    if name == "Fn::Not":
        return not evaluate_condition(argument[0], facts)
    if name == "Fn::And":
        return all(evaluate_condition(part, facts) for part in argument)
    if name == "Fn::Or":
        return any(evaluate_condition(part, facts) for part in argument)
    if name == "Fn::Contains":
        items, wanted = argument
        return _string(_resolve(wanted, facts)) in [_string(item) for item in _resolve(items, facts)]
    raise TemplateError(f"Template format error: {name} is not a condition function")


def _get_att_target(argument: Any) -> tuple[str, Any]:
    if isinstance(argument, str):
        logical_id, _, attribute = argument.partition(".")
        return logical_id, attribute
    logical_id, attribute = argument
    return str(logical_id), attribute


def _sub(argument: Any, facts: StackFacts) -> str:
    if isinstance(argument, str):
        text, variables = argument, {}
    else:
        text, variables = argument[0], {key: _resolve(value, facts) for key, value in argument[1].items()}

    def value_of(match: re.Match[str]) -> str:
        name = match[1]
        if name.startswith("!"):
            return "${" + name[1:] + "}"
        name = name.strip()
        if name in variables:
            return _string(variables[name])
        if "." in name and not name.startswith("AWS::"):
            logical_id, attribute = name.split(".", 1)
            return _string(facts.get_att(logical_id, attribute))
        return _string(facts.ref(name))

    return _SUB_VARIABLE.sub(value_of, str(text))


def _list(value: Any, function: str) -> list[Any]:
    if not isinstance(value, list):
        raise TemplateError(f"Template error: every {function} object requires a list, got {value!r}")
    return value


def _string(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ",".join(_string(item) for item in value)
    return str(value)


def references(value: Any) -> set[str]:
    """Every name `value` refers to through Ref, Fn::GetAtt and Fn::Sub: resources, parameters and pseudo
    parameters alike (the caller keeps the resources); what CloudFormation orders resources by."""
    found: set[str] = set()
    if isinstance(value, list):
        for item in value:
            found |= references(item)
    elif isinstance(value, dict):
        for name, argument in value.items():
            if name == "Ref" and isinstance(argument, str):
                found.add(argument)
            elif name == "Fn::GetAtt":
                found.add(_get_att_target(argument)[0])
                found |= references(argument)
            elif name == "Fn::Sub":
                text = argument if isinstance(argument, str) else argument[0]
                own = set(argument[1]) if isinstance(argument, list) and len(argument) > 1 else set()
                for match in _SUB_VARIABLE.finditer(str(text)):
                    if not match[1].startswith("!"):
                        target = match[1].strip()
                        target = target if target.startswith("AWS::") else target.split(".", 1)[0]
                        if target not in own:
                            found.add(target)
                found |= references(argument if isinstance(argument, str) else argument[1:])
            else:
                found |= references(argument)
    return found


def stringify(value: Any) -> Any:
    """Properties as a custom resource receives them: every scalar a string, booleans as true/false."""
    if isinstance(value, Mapping):
        return {key: stringify(item) for key, item in value.items()}
    if isinstance(value, list):
        return [stringify(item) for item in value]
    if value is None:
        return value
    return _string(value)
