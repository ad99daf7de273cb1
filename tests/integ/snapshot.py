"""The integ test's committed snapshot (its synthesized templates) and the upgrade guard over it.

A library upgrade that renames the handler function, its role or a retention resource, or changes a
retention resource's ServiceToken, sends every pool of every deployed stack an Update (or a Delete and a
Create) on that stack's next deployment. The guard names such a change and why it hurts; any other
difference (an asset hash after a handler change) only makes the snapshot outdated. Both are accepted by
rewriting the snapshot: `make snapshot` (python -m tests.integ.snapshot).
"""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path
from typing import Any

import aws_cdk as cdk

from kvs_pool_retention.resource_type import RESOURCE_TYPE
from tests.integ.integ_retention import build

SNAPSHOT = Path(__file__).with_name("integ_retention.py.snapshot")
GUARDED_TYPES = {
    "AWS::Lambda::Function": "handler function",
    "AWS::IAM::Role": "role",
    RESOURCE_TYPE: "retention",
}
HAZARD = (
    "Stacks already deployed would, on their next deployment, replace it and send every pool an Update "
    "(or a Delete and a Create). If that is intended, accept it with `make snapshot` and say so in the "
    "release notes."
)


def synthesize(outdir: Path) -> dict[str, dict[str, Any]]:
    app = cdk.App(outdir=str(outdir))
    build(app)
    return {stack.stack_name: _without_salt(stack.template) for stack in app.synth().stacks}


def _without_salt(template: dict[str, Any]) -> dict[str, Any]:
    """integ_tests_alpha gives each assertion a `salt` (the synth's time) so that it runs on every
    deployment: not part of what the snapshot compares."""
    for resource in template.get("Resources", {}).values():
        if resource["Type"].startswith("Custom::DeployAssert@"):
            resource["Properties"].pop("salt", None)
    return template


def read() -> dict[str, dict[str, Any]]:
    return {
        path.name.removesuffix(".template.json"): json.loads(path.read_text())
        for path in SNAPSHOT.glob("*.json")
    }


def write(templates: dict[str, dict[str, Any]]) -> None:
    shutil.rmtree(SNAPSHOT, ignore_errors=True)
    SNAPSHOT.mkdir()
    for name, template in templates.items():
        (SNAPSHOT / f"{name}.template.json").write_text(json.dumps(template, indent=1, sort_keys=True) + "\n")


def upgrade_hazards(before: dict[str, Any], after: dict[str, Any]) -> list[str]:
    """What would make deployed stacks touch their pools: guarded resources gone, ServiceTokens changed."""
    hazards = []
    was, now = before["Resources"], after["Resources"]
    for logical_id, resource in was.items():
        kind = GUARDED_TYPES.get(resource["Type"])
        if kind is None:
            continue
        if now.get(logical_id, {}).get("Type") != resource["Type"]:
            hazards.append(f"The {kind} resource {logical_id} is no longer in the template. {HAZARD}")
            continue
        token_was = resource["Properties"].get("ServiceToken")
        token_now = now[logical_id]["Properties"].get("ServiceToken")
        if kind == "retention" and token_now != token_was:
            hazards.append(
                f"The ServiceToken of {logical_id} changed from {json.dumps(token_was)} to "
                f"{json.dumps(token_now)}. {HAZARD}"
            )
    return hazards


def main() -> None:
    with tempfile.TemporaryDirectory(prefix="kvs-integ-") as outdir:
        write(synthesize(Path(outdir)))
    print(f"Snapshot rewritten: {SNAPSHOT}")


if __name__ == "__main__":
    main()
