"""The README's list of what the deploying role needs is true of the template and of CloudFormation's own
resource schemas.

Every resource type the construct writes (with and without a VPC) is in the list, and every action the
list gives for a type is one its CloudFormation registry schema's handlers may call (the schemas as
cfn-lint packages them), so a typo or a type the construct no longer writes fails here.
"""

from __future__ import annotations

import json
import re
from functools import cache
from importlib import resources

import aws_cdk as cdk
from aws_cdk import aws_ec2 as ec2

from kvs_pool_retention import KinesisVideoStreamPoolRetention
from tests.paths import ROOT

NOT_DEPLOYED_BY_A_SCHEMA = ("Custom::", "AWS::CDK::Metadata")


def deployer_table() -> dict[str, set[str]]:
    """Each row of the README's table: its resource types, and its actions, with their service prefix."""
    readme = (ROOT / "README.md").read_text()
    section = readme.split("**What the deploying role needs.**", 1)[1].split("\n\n|", 1)[1]
    table = "|" + section.split("\n\n", 1)[0]
    rows: dict[str, set[str]] = {}
    for line in table.splitlines()[2:]:
        resources_cell, actions_cell = line.split("|")[1:3]
        actions, service = set(), ""
        # An action is `service:Action`, or `Action` of the service named last; other spans are props.
        for action in re.findall(r"`([a-z0-9-]+:[A-Z]\w+|[A-Z]\w+)`", actions_cell):
            if ":" in action:
                service, _ = action.split(":", 1)
                actions.add(action)
            else:
                actions.add(f"{service}:{action}")
        for type_name in re.findall(r"`((?:AWS|Custom)::[\w:]+)`", resources_cell):
            rows[type_name] = actions
    return rows


@cache
def schema_permissions() -> dict[str, set[str]]:
    found: dict[str, set[str]] = {}
    folder = resources.files("cfnlint.data.schemas") / "resources"
    for entry in folder.iterdir():
        if entry.name.endswith(".json"):
            schema = json.loads(entry.read_text())
            handlers = schema.get("handlers", {}).values()
            found[schema["typeName"]] = {action for handler in handlers for action in handler["permissions"]}
    return found


def written_types(tmp_path, **options) -> set[str]:
    app = cdk.App(outdir=str(tmp_path), analytics_reporting=True)
    stack = cdk.Stack(app, "Deployed", env=cdk.Environment(account="111122223333", region="eu-west-2"))
    if options.pop("with_vpc", False):
        options["vpc"] = ec2.Vpc.from_vpc_attributes(
            stack,
            "Vpc",
            vpc_id="vpc-0123456789abcdef0",
            availability_zones=["eu-west-2a"],
            private_subnet_ids=["subnet-0aaaaaaaaaaaaaaaa"],
        )
    KinesisVideoStreamPoolRetention(
        stack, "Pool", pool_identifier="meeting-audio", data_retention=cdk.Duration.hours(48), **options
    )
    template = app.synth().get_stack_by_name("Deployed").template
    return {resource["Type"] for resource in template["Resources"].values()}


def test_every_resource_type_the_construct_writes_is_listed(tmp_path):
    written = written_types(tmp_path / "default") | written_types(tmp_path / "vpc", with_vpc=True)
    listed = set(deployer_table())

    unlisted = {t for t in written - listed if not t.startswith(NOT_DEPLOYED_BY_A_SCHEMA)}
    assert not unlisted, f"the README's deployer permissions leave out {sorted(unlisted)}"
    assert "AWS::IAM::ManagedPolicy" in listed  # written only past the inline limit
    assert "Custom::KinesisVideoStreamPoolRetention" in listed


def test_every_listed_action_is_one_the_types_schema_names():
    for type_name, actions in deployer_table().items():
        if type_name.startswith("Custom::"):
            assert actions == {"lambda:InvokeFunction"}
            continue
        unknown = actions - schema_permissions()[type_name]
        if type_name in {"AWS::IAM::Role", "AWS::IAM::Policy"}:  # one row lists both
            unknown -= schema_permissions()["AWS::IAM::Role"] | schema_permissions()["AWS::IAM::Policy"]
        assert not unknown, f"{type_name}: {sorted(unknown)} are not in its schema's handler permissions"
