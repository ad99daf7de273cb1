"""The integ test synthesized and compared with its committed snapshot: offline, no credentials."""

from __future__ import annotations

import copy

import pytest

from tests.integ.integ_retention import STACK
from tests.integ.snapshot import read, synthesize, upgrade_hazards


@pytest.fixture(scope="module")
def synthesized(tmp_path_factory):
    return synthesize(tmp_path_factory.mktemp("integ.out"))


@pytest.fixture(scope="module")
def snapshot():
    templates = read()
    assert STACK in templates, "No integ snapshot: write it with `make snapshot`."
    return templates


def test_deployed_stacks_keep_their_handler_role_and_retention_resources(synthesized, snapshot):
    hazards = upgrade_hazards(snapshot[STACK], synthesized[STACK])

    assert not hazards, "\n".join(hazards)


def test_the_integ_snapshot_is_current(synthesized, snapshot):
    assert set(synthesized) == set(snapshot)
    for name, template in synthesized.items():
        assert template == snapshot[name], (
            f"The integ snapshot of {name} is outdated (an asset hash after a handler change, say): "
            "review the difference, then rewrite it with `make snapshot`."
        )


def test_the_guard_names_a_renamed_handler_and_a_changed_service_token(snapshot):
    renamed = copy.deepcopy(snapshot[STACK])
    resources = renamed["Resources"]
    (handler,) = (
        key
        for key, value in resources.items()
        if key.startswith("KvsPoolRetentionProviderHandler") and value["Type"] == "AWS::Lambda::Function"
    )
    resources["RenamedHandler"] = resources.pop(handler)
    retention = next(
        key for key, value in resources.items() if value["Type"] == "Custom::KinesisVideoStreamPoolRetention"
    )
    resources[retention]["Properties"]["ServiceToken"] = {"Fn::GetAtt": ["RenamedHandler", "Arn"]}

    hazards = upgrade_hazards(snapshot[STACK], renamed)

    assert any(f"handler function resource {handler} is no longer" in hazard for hazard in hazards)
    assert any(f"ServiceToken of {retention} changed" in hazard for hazard in hazards)
    assert all("send every pool an Update" in hazard for hazard in hazards)
