"""Reading a cloud assembly: every stack artifact (nested assemblies and nested stacks at any depth) and
the pools their templates declare, with where each is (see the package's docstring for the rules)."""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from kvs_pool_retention.handler.retention_rules import (
    DATA_RETENTION_IN_HOURS,
    POOL_IDENTIFIER,
    parse_pool_identifier,
)
from kvs_pool_retention.resource_type import RESOURCE_TYPE

STACK_ARTIFACT = "aws:cloudformation:stack"

NESTED_ASSEMBLY_ARTIFACT = "cdk:cloud-assembly"

ASSET_MANIFEST_ARTIFACT = "cdk:asset-manifest"

NESTED_STACK_TYPE = "AWS::CloudFormation::Stack"

DEPLOY_TIME = "declared by a deploy-time value; check it after deployment"

TEMPLATE_ELSEWHERE = (
    "nested stack whose template is not in the assembly (TemplateURL {url}); any pools it declares "
    "are not checked"
)

_UNKNOWN = {"unknown-account", "unknown-region"}  # an environment-agnostic stack's placeholders


class AssemblyError(ValueError):
    """The cloud assembly cannot be read as one: the message says which file and what is wrong."""


class UnknownStack(LookupError):
    """`--stack` names no stack of the assembly: the message lists those it has."""


@dataclass(frozen=True)
class DeclaredStack:
    """One stack artifact, wherever in the assembly's tree of nested assemblies it is."""

    name: str  # the display path: `Prod/Retention`
    artifact_id: str
    stack_name: str  # CloudFormation's
    directory: Path  # the (nested) cloud assembly holding it: file names in it are relative to this
    template: Path
    account: str | None  # None: environment-agnostic
    region: str | None
    # Of the cloud assembly holding the stack, to find its nested stacks' templates and name them:
    file_assets: Mapping[str, Path] = field(default_factory=dict, repr=False)  # asset id (a hash) → file
    construct_paths: Mapping[str, str] = field(default_factory=dict, repr=False)  # template file → path


@dataclass(frozen=True)
class DeclaredPool:
    stack: str
    identifier: str
    hours: int | None  # None when the template holds a deploy-time value for the pool or its hours
    region: str | None  # None: the caller's default region
    account: str | None = None  # the account the pool is in, when the template says
    unreadable: str = ""  # why it cannot be checked, known before any call


def stacks(assembly: Path) -> list[DeclaredStack]:
    """Every stack artifact of the cloud assembly and of its nested assemblies, by name."""
    found = _assembly_stacks(assembly, stage=None, seen=set())
    return sorted(found, key=lambda stack: stack.name)


def _assembly_stacks(directory: Path, stage: str | None, seen: set[Path]) -> list[DeclaredStack]:
    seen.add(directory.resolve())
    manifest = _read_json(directory / "manifest.json")
    artifacts = manifest.get("artifacts", {})
    if not isinstance(artifacts, dict):
        raise AssemblyError(f"{directory / 'manifest.json'} has no artifacts object.")
    file_assets = _file_assets(directory, artifacts)
    found = []
    for artifact_id, artifact in artifacts.items():
        properties = artifact.get("properties", {})
        if artifact.get("type") == STACK_ARTIFACT:
            found.append(_stack(directory, stage, artifact_id, artifact, file_assets))
        elif artifact.get("type") == NESTED_ASSEMBLY_ARTIFACT:
            nested = directory / str(properties.get("directoryName", ""))
            if nested.resolve() in seen:
                raise AssemblyError(f"{directory / 'manifest.json'}: {artifact_id} points at {nested} again.")
            path = artifact.get("displayName") or properties.get("displayName")
            path = path or (f"{stage}/{artifact_id}" if stage else artifact_id)
            found.extend(_assembly_stacks(nested, str(path), seen))
    return found


def _stack(
    directory: Path,
    stage: str | None,
    artifact_id: str,
    artifact: dict[str, Any],
    file_assets: Mapping[str, Path],
) -> DeclaredStack:
    properties = artifact.get("properties", {})
    if not isinstance(properties.get("templateFile"), str):
        raise AssemblyError(f"{directory / 'manifest.json'}: stack {artifact_id} names no templateFile.")
    account, region = _environment(str(artifact.get("environment", "")))
    return DeclaredStack(
        name=str(artifact.get("displayName") or (f"{stage}/{artifact_id}" if stage else artifact_id)),
        artifact_id=artifact_id,
        stack_name=str(properties.get("stackName") or artifact_id),
        directory=directory,
        template=directory / properties["templateFile"],
        account=account,
        region=region,
        file_assets=file_assets,
        construct_paths={
            str(entry.get("data")): path.lstrip("/")
            for path, entries in _metadata(directory, artifact).items()
            for entry in entries
            if entry.get("type") == "aws:cdk:templateFile"
        },
    )


def _environment(environment: str) -> tuple[str | None, str | None]:
    """`aws://<account>/<region>`, either part possibly an environment-agnostic placeholder."""
    account, _, region = environment.removeprefix("aws://").partition("/")
    return (
        account if account and account not in _UNKNOWN else None,
        region if region and region not in _UNKNOWN else None,
    )


def _metadata(directory: Path, artifact: dict[str, Any]) -> dict[str, list[dict[str, Any]]]:
    """An artifact's metadata by construct path: inline in the manifest, or in its own file."""
    metadata = dict(artifact.get("metadata", {}))
    if artifact.get("additionalMetadataFile"):
        for path, entries in _read_json(directory / artifact["additionalMetadataFile"]).items():
            metadata[path] = [*metadata.get(path, []), *entries]
    return metadata


def _file_assets(directory: Path, artifacts: dict[str, Any]) -> dict[str, Path]:
    """The assembly's file assets by id (their content hash). Ids are content, so one map serves every
    stack of the assembly."""
    assets = {}
    for artifact in artifacts.values():
        if artifact.get("type") == ASSET_MANIFEST_ARTIFACT:
            manifest = _read_json(directory / artifact.get("properties", {}).get("file", ""))
            for asset_id, asset in manifest.get("files", {}).items():
                source = asset.get("source", {})
                if source.get("packaging", "file") == "file" and isinstance(source.get("path"), str):
                    assets[asset_id] = directory / source["path"]
        elif artifact.get("type") == STACK_ARTIFACT:  # the legacy synthesizer's assets
            for entries in _metadata(directory, artifact).values():
                for entry in entries:
                    data = entry.get("data")
                    if (
                        entry.get("type") == "aws:cdk:asset"
                        and isinstance(data, dict)
                        and data.get("packaging") == "file"
                    ):
                        assets[str(data["id"])] = directory / str(data["path"])
    return assets


def select(found: list[DeclaredStack], name: str | None) -> list[DeclaredStack]:
    """The stacks `--stack` names (all of them without it): by display path, artifact id or stack name."""
    if name is None:
        return found
    chosen = [stack for stack in found if name in (stack.name, stack.artifact_id, stack.stack_name)]
    if not chosen:
        listed = ", ".join(
            stack.name if stack.stack_name == stack.name else f"{stack.name} (stack name {stack.stack_name})"
            for stack in found
        )
        raise UnknownStack(f"No stack named {name}. The assembly's stacks: {listed or 'none'}.")
    return chosen


def declared_pools(chosen: list[DeclaredStack]) -> list[DeclaredPool]:
    """Every KinesisVideoStreamPoolRetention in these stacks' templates and their nested stacks'."""
    pools = []
    for stack in chosen:
        pools.extend(_template_pools(stack, stack.name, stack.template, seen={stack.template}))
    return pools


def _template_pools(
    stack: DeclaredStack, name: str, template_file: Path, seen: set[Path]
) -> list[DeclaredPool]:
    template = _read_json(template_file)
    pools = []
    for logical_id, resource in template.get("Resources", {}).items():
        if resource.get("Type") == RESOURCE_TYPE:
            pools.append(_declared(name, resource.get("Properties", {}), stack))
        elif resource.get("Type") == NESTED_STACK_TYPE:
            nested = _nested_template(stack, resource)
            nested_name = (nested and stack.construct_paths.get(nested.name)) or f"{name}/{logical_id}"
            if nested is None:
                url = json.dumps(resource.get("Properties", {}).get("TemplateURL"))
                problem = TEMPLATE_ELSEWHERE.format(url=url)
                pools.append(DeclaredPool(nested_name, "-", None, None, unreadable=problem))
            elif nested not in seen:
                pools.extend(_template_pools(stack, nested_name, nested, seen | {nested}))
    return pools


def _nested_template(stack: DeclaredStack, resource: dict[str, Any]) -> Path | None:
    """The nested stack's template file in the assembly, or None when it is not one of the assembly's."""
    asset_path = resource.get("Metadata", {}).get("aws:asset:path")
    if isinstance(asset_path, str):
        return stack.directory / asset_path
    # The URL holds the asset's hash: in the object key (default synthesizers), or in the names of the
    # parameters that carry the key (legacy synthesizer, also when passed down to a nested stack). Only
    # templates CDK wrote (`<id>.nested.template.json`) are candidates, not other file assets.
    url = json.dumps(resource.get("Properties", {}).get("TemplateURL"))
    matches = {
        path
        for asset_id, path in stack.file_assets.items()
        if asset_id in url and path.name.endswith(".template.json")
    }
    return matches.pop() if len(matches) == 1 else None


def _declared(stack_name: str, properties: dict[str, Any], stack: DeclaredStack) -> DeclaredPool:
    identifier = properties.get(POOL_IDENTIFIER)
    hours = properties.get(DATA_RETENTION_IN_HOURS)
    declared_hours = int(hours) if isinstance(hours, int | str) and str(hours).isdigit() else None
    if not isinstance(identifier, str):
        return DeclaredPool(stack_name, json.dumps(identifier), declared_hours, None, unreadable=DEPLOY_TIME)
    try:
        arn = parse_pool_identifier(identifier)
    except ValueError:
        region, account = None, None
    else:
        region, account = arn.region, arn.account
    pool = DeclaredPool(
        stack_name, identifier, declared_hours, region or stack.region, account or stack.account
    )
    return pool if declared_hours is not None else replace(pool, unreadable=DEPLOY_TIME)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError as error:
        raise AssemblyError(f"{path} is not JSON: {error}") from None
