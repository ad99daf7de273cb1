"""The example app: cdk.json's pools out of the box, and pools given with -c through the pinned CLI."""

from __future__ import annotations

import json
import os
import subprocess

import aws_cdk as cdk
import pytest
from aws_cdk.assertions import Annotations, Match, Template

import app as example_app
from tests.paths import ROOT


def test_the_shipped_default_synthesizes_with_an_arn_and_status_output_per_pool():
    context = json.loads((ROOT / "cdk.json").read_text())["context"]
    stack = example_app.build(cdk.App(context=context))
    template = Template.from_stack(stack)

    pools = context["pools"]
    template.resource_count_is("Custom::KinesisVideoStreamPoolRetention", len(pools))
    outputs = template.to_json()["Outputs"]
    for index in range(len(pools)):
        assert outputs[f"Pool{index}Arn"]["Value"]["Fn::GetAtt"][1] == "PoolArn"
        assert outputs[f"Pool{index}Status"]["Value"]["Fn::GetAtt"][1] == "PoolStatus"


def many(count: int) -> list[dict]:
    return [{"identifier": f"pool-{index:03d}", "retentionHours": 24} for index in range(count)]


def test_a_hundred_pools_get_two_hundred_outputs_cloudformations_limit():
    stack = example_app.build(cdk.App(context={"pools": many(100)}))

    assert len(Template.from_stack(stack).to_json()["Outputs"]) == 200
    Annotations.from_stack(stack).has_no_warning("*", Match.any_value())


def test_past_a_hundred_pools_the_rest_get_no_outputs_and_synthesis_says_so():
    stack = example_app.build(cdk.App(context={"pools": many(101)}))

    template = Template.from_stack(stack)
    outputs = template.to_json()["Outputs"]
    assert len(outputs) == 200
    assert "Pool99Arn" in outputs
    assert "Pool100Arn" not in outputs
    template.resource_count_is("Custom::KinesisVideoStreamPoolRetention", 101)
    Annotations.from_stack(stack).has_warning(
        "/KvsPoolRetention", Match.string_like_regexp("Only the first 100 of 101 pools have PoolArn")
    )


def test_malformed_pools_context_is_refused_with_the_expected_shape():
    with pytest.raises(ValueError, match=r'context "pools" must be a list of \{"identifier"'):
        example_app.build(cdk.App(context={"pools": [{"identifier": "p"}]}))


@pytest.mark.cli
def test_cdk_synth_takes_pools_from_the_command_line(cdk_cli, tmp_path):
    pools = [{"identifier": "from-cli", "retentionHours": 72}]
    subprocess.run(
        [cdk_cli, "synth", "--quiet", "--output", str(tmp_path), "-c", f"pools={json.dumps(pools)}"],
        cwd=ROOT,
        check=True,
        capture_output=True,
        env={**os.environ, "PATH": f"{ROOT / 'node_modules' / '.bin'}:{os.environ['PATH']}"},
    )

    template = json.loads((tmp_path / "KvsPoolRetention.template.json").read_text())
    (resource,) = (
        r for r in template["Resources"].values() if r["Type"] == "Custom::KinesisVideoStreamPoolRetention"
    )
    assert resource["Properties"]["PoolIdentifier"] == "from-cli"
    assert resource["Properties"]["DataRetentionInHours"] == 72
