"""The drift check's reading of a cloud assembly: nested stacks as each synthesizer writes them, and
assemblies it cannot read. No pool API: the pools are what the templates declare."""

from __future__ import annotations

import json

import aws_cdk as cdk
import pytest

from kvs_pool_retention import KinesisVideoStreamPoolRetention
from kvs_pool_retention.drift import (
    UNREADABLE,
    DeclaredPool,
    declared_pools,
    main,
    select,
    stacks,
)


def _nested_twice(app: cdk.App, stack_id: str, synthesizer: cdk.IStackSynthesizer | None = None) -> None:
    """A pool in a nested stack in a nested stack."""
    stack = cdk.Stack(app, stack_id, synthesizer=synthesizer)
    inner = cdk.NestedStack(cdk.NestedStack(stack, "Outer"), "Inner")
    KinesisVideoStreamPoolRetention(
        inner, "Pool", pool_identifier=f"{stack_id.lower()}-pool", data_retention=cdk.Duration.hours(48)
    )


@pytest.fixture(scope="module")
def assembly(tmp_path_factory):
    """As `app.synth()` writes it (no asset metadata on resources), with the default and the legacy
    synthesizer, and a nested stack of one's own whose template is elsewhere."""
    outdir = tmp_path_factory.mktemp("drift-nested.out")
    app = cdk.App(outdir=str(outdir))
    _nested_twice(app, "Default")
    _nested_twice(app, "Legacy", cdk.LegacyStackSynthesizer())
    elsewhere = cdk.Stack(app, "Elsewhere")
    cdk.CfnStack(elsewhere, "Shared", template_url="https://example.com/shared.template.json")
    app.synth()
    return outdir


@pytest.fixture(scope="module")
def cli_assembly(tmp_path_factory):
    """As the CDK CLI has the app write it: asset metadata on the nested stacks' resources."""
    outdir = tmp_path_factory.mktemp("drift-nested-cli.out")
    app = cdk.App(outdir=str(outdir), context={"aws:cdk:enable-asset-metadata": True})
    _nested_twice(app, "Cli")
    app.synth()
    return outdir


@pytest.mark.parametrize("stack", ["Default", "Legacy"])
def test_a_nested_stacks_nested_stack_is_read_and_named_by_its_construct_path(assembly, stack):
    assert declared_pools(select(stacks(assembly), stack)) == [
        DeclaredPool(f"{stack}/Outer/Inner", f"{stack.lower()}-pool", 48, region=None, account=None)
    ]


def test_a_nested_stack_is_found_by_the_asset_metadata_the_cli_writes(cli_assembly):
    assert declared_pools(stacks(cli_assembly)) == [
        DeclaredPool("Cli/Outer/Inner", "cli-pool", 48, region=None, account=None)
    ]


def test_a_nested_stack_whose_template_is_not_in_the_assembly_is_unreadable(assembly):
    (pool,) = declared_pools(select(stacks(assembly), "Elsewhere"))

    assert pool.stack == "Elsewhere/Shared"
    assert pool.unreadable == (
        'nested stack whose template is not in the assembly (TemplateURL "https://example.com/shared.'
        'template.json"); any pools it declares are not checked'
    )


def _write(path, content) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(content if isinstance(content, str) else json.dumps(content))


@pytest.mark.parametrize(
    ("files", "message"),
    [
        ({"manifest.json": "{not json"}, "manifest.json is not JSON"),
        (
            {
                "manifest.json": {
                    "artifacts": {
                        "assembly-Prod": {
                            "type": "cdk:cloud-assembly",
                            "properties": {"directoryName": "assembly-Prod", "displayName": "Prod"},
                        }
                    }
                }
            },
            "assembly-Prod/manifest.json",
        ),
        (
            {"manifest.json": {"artifacts": {"Retention": {"type": "aws:cloudformation:stack"}}}},
            "stack Retention names no templateFile",
        ),
    ],
    ids=["not-json", "stage-folder-missing", "no-template"],
)
def test_an_assembly_that_cannot_be_read_exits_2_saying_why(tmp_path, capsys, files, message):
    for name, content in files.items():
        _write(tmp_path / name, content)

    status = main(["drift", "--app", str(tmp_path)])

    assert status == UNREADABLE
    error = capsys.readouterr().err
    assert error.startswith(f"Cannot read the cloud assembly {tmp_path}: ")
    assert message in error
