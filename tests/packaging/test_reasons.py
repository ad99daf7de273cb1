"""The README's Troubleshooting covers every Reason the handler can answer, and lists none it cannot.

The Reasons are read from the code, not listed here, so that a new one cannot be missed:
- every message a handler error (`RetentionError` and its subclasses, lambda/errors.py) is built with,
  anywhere in lambda/ (raised, returned, or handed on as a value such as `ApplyPlan.refusal`);
- every `"Reason"` a response body is given in lambda/ (cfn_response: a body over CloudFormation's limit);
- crhelper's own FAILED answers with a fixed text (its timer's "Execution timed out"), from the installed
  package the asset bundles.

Each message is read as a template: its literal text, with `…` where a value goes. Names resolve to the
module constants they stand for, to the messages of the errors a `try` turns into this one (`{error}` of a
ValueError), to the returns of the function that computes them, and to what a loop over a constant dict
gives them. The README gives each Reason as a code span in the first column of the Troubleshooting table,
with `…` for what varies; a span covers a Reason when it matches the Reason's beginning.
"""

from __future__ import annotations

import ast
import importlib.util
import itertools
import re
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from tests.paths import ROOT

LAMBDA = ROOT / "lambda"
WILD = "…"
# A Reason needs this much fixed text for a person to recognize it in the README, and a README pattern this
# much to stand for one Reason rather than many.
MIN_LITERAL_CHARS = 15
MAX_ALTERNATIVES = 64


def troubleshooting_patterns(readme: str) -> list[str]:
    """The code spans in the first column of the Troubleshooting section's table."""
    section = readme.split("\n## Troubleshooting\n", 1)[1].split("\n## ", 1)[0]
    patterns = []
    for line in section.splitlines():
        cells = line.split("|")
        if line.startswith("|") and len(cells) > 2 and not set(cells[1].strip()) <= set("-: "):
            patterns += re.findall(r"`([^`]+)`", cells[1])
    return patterns


def covers(pattern: str, reason: str) -> bool:
    """Whether a README pattern matches a Reason template's beginning (`…` in either stands for a value)."""
    regex = ".*?".join(re.escape(part) for part in pattern.split(WILD))
    return re.match(regex, reason, flags=re.DOTALL) is not None


def literal_chars(text: str) -> int:
    return len(text.replace(WILD, "").strip(" .:;,()'\""))


# --- reading the code ------------------------------------------------------------------------------------


@dataclass
class Code:
    """The handler's modules, parsed, with what the templates' names resolve to."""

    trees: dict[str, ast.Module]
    constants: dict[str, ast.expr] = field(default_factory=dict)
    functions: dict[str, ast.FunctionDef] = field(default_factory=dict)
    fields: dict[str, list[tuple[str, list[str]]]] = field(default_factory=dict)  # attr -> (class, fields)
    parents: dict[ast.AST, ast.AST] = field(default_factory=dict)

    @classmethod
    def read(cls, folder: Path) -> Code:
        code = cls(
            {path.stem: ast.parse(path.read_text(), str(path)) for path in sorted(folder.glob("*.py"))}
        )
        for tree in code.trees.values():
            for node in ast.walk(tree):
                for child in ast.iter_child_nodes(node):
                    code.parents[child] = node
            for statement in tree.body:
                if isinstance(statement, ast.Assign) and len(statement.targets) == 1:
                    target = statement.targets[0]
                    if isinstance(target, ast.Name):
                        code.constants[target.id] = statement.value
                elif isinstance(statement, ast.AnnAssign) and isinstance(statement.target, ast.Name):
                    if statement.value is not None:
                        code.constants[statement.target.id] = statement.value
                elif isinstance(statement, ast.FunctionDef):
                    code.functions[statement.name] = statement
                elif isinstance(statement, ast.ClassDef):
                    names = [
                        item.target.id
                        for item in statement.body
                        if isinstance(item, ast.AnnAssign) and isinstance(item.target, ast.Name)
                    ]
                    for name in names:
                        code.fields.setdefault(name, []).append((statement.name, names))
                    for item in statement.body:
                        if isinstance(item, ast.FunctionDef):
                            code.functions.setdefault(item.name, item)
        return code

    def error_classes(self) -> set[str]:
        """RetentionError and every class of lambda/ derived from it."""
        found = {"RetentionError"}
        classes = [
            node for tree in self.trees.values() for node in ast.walk(tree) if isinstance(node, ast.ClassDef)
        ]
        while True:
            more = {
                node.name
                for node in classes
                if any(isinstance(base, ast.Name) and base.id in found for base in node.bases)
            }
            if more <= found:
                return found
            found |= more

    # A template is a tuple of parts: literal text, or WILD for a value.
    def render(self, node: ast.expr, depth: int = 0) -> list[tuple[str, ...]]:
        """The templates `node` may evaluate to (none for None: no Reason)."""
        if depth > 8:
            return [(WILD,)]
        if isinstance(node, ast.Constant):
            if node.value is None:
                return []
            return [(str(node.value),)]
        if isinstance(node, ast.JoinedStr):
            parts: list[list[tuple[str, ...]]] = []
            for value in node.values:
                if isinstance(value, ast.FormattedValue):
                    plain = value.conversion == -1 and value.format_spec is None
                    parts.append(self.render(value.value, depth + 1) if plain else [(WILD,)])
                else:
                    parts.append(self.render(value, depth + 1))
            return self._joined(parts)
        if isinstance(node, ast.BinOp) and isinstance(node.op, ast.Add):
            return self._joined([self.render(node.left, depth + 1), self.render(node.right, depth + 1)])
        if isinstance(node, ast.IfExp):
            return self.render(node.body, depth + 1) + self.render(node.orelse, depth + 1)
        if isinstance(node, ast.Name):
            return self._name(node, depth)
        if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in self.functions:
            returns = [n for n in ast.walk(self.functions[node.func.id]) if isinstance(n, ast.Return)]
            return [t for r in returns if r.value is not None for t in self.render(r.value, depth + 1)]
        return [(WILD,)]

    def _joined(self, parts: list[list[tuple[str, ...]]]) -> list[tuple[str, ...]]:
        if any(not alternatives for alternatives in parts):
            return []
        choices = itertools.islice(itertools.product(*parts), MAX_ALTERNATIVES)
        return [tuple(itertools.chain(*choice)) for choice in choices]

    def _name(self, node: ast.Name, depth: int) -> list[tuple[str, ...]]:
        bound = self._bound_by_except(node)
        if bound is not None:
            return bound
        looped = self._bound_by_loop(node, depth)
        if looped is not None:
            return looped
        value = self.constants.get(node.id)
        if value is not None and isinstance(value, ast.Constant | ast.JoinedStr | ast.BinOp):
            return self.render(value, depth + 1)
        return [(WILD,)]

    def _enclosing(self, node: ast.AST) -> Iterator[ast.AST]:
        while node in self.parents:
            node = self.parents[node]
            yield node

    def _bound_by_except(self, node: ast.Name) -> list[tuple[str, ...]] | None:
        """`{error}` in `except ValueError as error`: the messages the try's called functions raise."""
        for outer in self._enclosing(node):
            if isinstance(outer, ast.ExceptHandler) and outer.name == node.id:
                kind = outer.type.id if isinstance(outer.type, ast.Name) else ""
                if kind not in {"ValueError", "DamagedRecord"}:
                    return [(WILD,)]
                attempt = self.parents[outer]
                assert isinstance(attempt, ast.Try)
                called = {
                    call.func.id
                    for statement in attempt.body
                    for call in ast.walk(statement)
                    if isinstance(call, ast.Call) and isinstance(call.func, ast.Name)
                }
                messages = [
                    template
                    for name in sorted(called & set(self.functions))
                    for raised in ast.walk(self.functions[name])
                    if isinstance(raised, ast.Raise)
                    and isinstance(raised.exc, ast.Call)
                    and isinstance(raised.exc.func, ast.Name)
                    and raised.exc.func.id == kind
                    and raised.exc.args
                    for template in self.render(raised.exc.args[0])
                ]
                return messages or [(WILD,)]
        return None

    def _bound_by_loop(self, node: ast.Name, depth: int) -> list[tuple[str, ...]] | None:
        """`for name, form in CONSTANT_DICT.items()`: the dict's keys, or its values."""
        for outer in self._enclosing(node):
            if not isinstance(outer, ast.For) or not isinstance(outer.target, ast.Tuple):
                continue
            names = [n.id if isinstance(n, ast.Name) else "" for n in outer.target.elts]
            source = outer.iter
            if node.id not in names or not (
                isinstance(source, ast.Call)
                and isinstance(source.func, ast.Attribute)
                and source.func.attr == "items"
                and isinstance(source.func.value, ast.Name)
            ):
                continue
            table = self.constants.get(source.func.value.id)
            if not isinstance(table, ast.Dict):
                return [(WILD,)]
            items = table.keys if names.index(node.id) == 0 else table.values
            return [t for item in items if item is not None for t in self.render(item, depth + 1)][
                :MAX_ALTERNATIVES
            ]
        return None

    def handed_on(self, node: ast.Attribute) -> list[tuple[str, ...]]:
        """A whole message held in a field (`plan.refusal`): what every construction of a class with that
        field passes for it."""
        depth = 0
        templates = []
        for class_name, names in self.fields.get(node.attr, []):
            position = names.index(node.attr)
            for tree in self.trees.values():
                for call in ast.walk(tree):
                    if not (isinstance(call, ast.Call) and isinstance(call.func, ast.Name)):
                        continue
                    if call.func.id != class_name:
                        continue
                    given = [k.value for k in call.keywords if k.arg == node.attr]
                    if position < len(call.args):
                        given.append(call.args[position])
                    for value in given:
                        templates += self.render(value, depth + 1)
        return templates or [(WILD,)]


def text(template: tuple[str, ...]) -> str:
    return re.sub(f"{WILD}+", WILD, "".join(template))


def handler_reasons(code: Code) -> dict[str, str]:
    """Every Reason template of lambda/, with where it is built."""
    errors = code.error_classes()
    found: dict[str, str] = {}
    for module, tree in code.trees.items():
        for node in ast.walk(tree):
            message: ast.expr | None = None
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.func.id in errors:
                message = node.args[0] if node.args else None
            elif isinstance(node, ast.Dict):
                for key, value in zip(node.keys, node.values, strict=True):
                    if isinstance(key, ast.Constant) and key.value == "Reason":
                        message = value
            if message is None:
                continue
            templates = (
                code.handed_on(message) if isinstance(message, ast.Attribute) else code.render(message)
            )
            for template in templates:
                found.setdefault(text(template), f"lambda/{module}.py:{node.lineno}")
    return found


def crhelper_reasons() -> dict[str, str]:
    """crhelper's own FAILED answers with a fixed text: `self._send(FAILED, "...")`."""
    spec = importlib.util.find_spec("crhelper")
    assert spec is not None
    assert spec.submodule_search_locations
    source = Path(next(iter(spec.submodule_search_locations))) / "resource_helper.py"
    found = {}
    for node in ast.walk(ast.parse(source.read_text())):
        if (
            isinstance(node, ast.Call)
            and isinstance(node.func, ast.Attribute)
            and node.func.attr == "_send"
            and len(node.args) >= 2
            and isinstance(node.args[1], ast.Constant)
            and isinstance(node.args[1].value, str)
        ):
            found[node.args[1].value] = f"crhelper/resource_helper.py:{node.lineno}"
    return found


CODE = Code.read(LAMBDA)
REASONS = {**handler_reasons(CODE), **crhelper_reasons()}
PATTERNS = troubleshooting_patterns((ROOT / "README.md").read_text())


def test_the_scan_finds_the_reasons_it_must():
    """The scan itself: a sample of Reasons from each place they are built, read as a person sees them."""
    expected = [
        "Execution timed out",  # crhelper's timer
        "The handler's response was … bytes, over CloudFormation's 4096.",  # cfn_response
        "PoolIdentifier must be a pool name",  # index, through retention_rules' ValueError
        "DataRetentionInHours is missing: set it to whole hours from 1 to 87600.",  # a loop over a dict
        "Pool … is declared at … h by …; this resource declares … h.",  # decision, through ApplyPlan
        "Could not … …: the API kept throttling until time ran out",  # calls
        "The service rejected the request for pool …: ….",  # pool_api
    ]
    for beginning in expected:
        assert any(reason.startswith(beginning) for reason in REASONS), beginning


@pytest.mark.parametrize("reason", sorted(REASONS), ids=lambda reason: reason[:60])
def test_every_reason_is_readable_and_in_troubleshooting(reason):
    where = REASONS[reason]
    assert literal_chars(reason) >= MIN_LITERAL_CHARS, (
        f"{where}: the Reason {reason!r} has too little fixed text to be recognized; say what is wrong in "
        "words (or teach this scan where its text comes from)"
    )
    assert any(covers(pattern, reason) for pattern in PATTERNS), (
        f"{where}: the Reason {reason!r} is missing from the README's Troubleshooting table: add a row whose "
        "first column gives its beginning as a code span, with … for what varies"
    )


@pytest.mark.parametrize("pattern", PATTERNS)
def test_every_troubleshooting_row_is_a_reason_the_handler_can_answer(pattern):
    assert literal_chars(pattern) >= MIN_LITERAL_CHARS, f"{pattern!r} is too short to stand for one Reason"
    assert any(covers(pattern, reason) for reason in REASONS), (
        f"README Troubleshooting lists {pattern!r}, which no Reason of the handler begins with"
    )
