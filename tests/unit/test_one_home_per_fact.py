"""The contract between the construct and the handler (`lambda/retention_rules.py`) is written once: no
other module of `constructs/` or `lambda/` spells one of its facts (the record's tag keys, the IAM actions,
the resource properties, the pool ARN's resource type, the hour limits) as a literal. A module that needs a
fact imports it; a literal here would drift from the contract unseen."""

from __future__ import annotations

import ast
import re

import pytest
import retention_rules as contract

from tests.paths import ROOT

FACTS: dict[str, object] = {
    name: getattr(contract, name)
    for name in (
        "POOL_RESOURCE_TYPE",
        "ORIGINAL_TAG",
        "GET_POOL",
        "UPDATE_POOL",
        "LIST_TAGS",
        "TAG_POOL",
        "UNTAG_POOL",
        "DESCRIBE_STACK_RESOURCE",
        "DESCRIBE_STACKS",
        "POOL_IDENTIFIER",
        "DATA_RETENTION_IN_HOURS",
        "RESTORE_ON_DELETE",
        "RECORD_VERSION_PROPERTY",
        "STACK_KEY",
        "MAX_RETENTION_HOURS",
    )
}
# A tag key under the record's prefix (the product's name followed by a space, in a description, is not one).
TAG_KEY = re.compile(re.escape(contract.TAG_PREFIX) + r"\S")
# The same word as a fact, naming something else: the service API's field, and the resource's attribute
# that mirrors it.
OTHER_MEANINGS = {
    ("lambda/pool_api.py", "DataRetentionInHours"): "StreamConfiguration's field in the service's API",
    ("lambda/index.py", "DataRetentionInHours"): "the resource's attribute, as the API names the field",
    ("constructs/kvs_pool_retention/retention.py", "DataRetentionInHours"): "the attribute it reads",
}
SOURCES = sorted(
    path.relative_to(ROOT).as_posix()
    for path in [*(ROOT / "constructs").rglob("*.py"), *(ROOT / "lambda").rglob("*.py")]
    if path.name != "retention_rules.py"
)


def literals(source: str) -> list[tuple[int, object]]:
    """Every constant of a module but its docstrings, with its line."""
    tree = ast.parse(source)
    docstrings = {
        id(node.body[0].value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Module | ast.ClassDef | ast.FunctionDef | ast.AsyncFunctionDef)
        and node.body
        and isinstance(node.body[0], ast.Expr)
        and isinstance(node.body[0].value, ast.Constant)
    }
    return [
        (node.lineno, node.value)
        for node in ast.walk(tree)
        if isinstance(node, ast.Constant) and id(node) not in docstrings
    ]


def facts_written_in(path: str, source: str) -> list[str]:
    found = []
    for line, value in literals(source):
        for name, fact in FACTS.items():
            if isinstance(fact, str) and isinstance(value, str) and fact in value:
                if (path, fact) not in OTHER_MEANINGS:
                    found.append(f"{path}:{line} writes {name} ({fact!r})")
            elif isinstance(fact, int) and value == fact and not isinstance(value, bool):
                found.append(f"{path}:{line} writes {name} ({fact})")
        if isinstance(value, str) and TAG_KEY.search(value):
            found.append(f"{path}:{line} writes a tag key under TAG_PREFIX ({value!r})")
    return found


@pytest.mark.parametrize("path", SOURCES)
def test_no_module_writes_a_fact_of_the_contract(path):
    assert facts_written_in(path, (ROOT / path).read_text()) == []


@pytest.mark.parametrize(
    "source",
    [
        'ACTIONS = ["chime:UpdateMediaPipelineKinesisVideoStreamPool"]',
        'key = "kvs-pool-retention:original-retention-hours"',
        'condition = f"aws:ResourceTag/kvs-pool-retention:stack-{key}"',
        "LIMIT = 87_600",
        'props = {"RestoreOnDelete": "true"}',
    ],
)
def test_a_fact_written_again_is_found(source):
    assert facts_written_in("constructs/kvs_pool_retention/example.py", source) != []


def test_a_description_that_names_the_product_is_not_a_tag_key():
    assert (
        facts_written_in("x.py", 'DESCRIPTION = "kvs-pool-retention: keeps pools at their retention"') == []
    )
