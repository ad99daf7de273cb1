"""The guardrails enterprise pipelines run on every synth: AWS Control Tower proactive controls (cdklabs'
CfnGuardValidator, its bundled rules), cdk-nag AwsSolutions, and checkov (offline), on a hardened app (the
handler in a VPC, logging to the user's KMS-encrypted log group) and on a default one.

Counted on the construct's own resources: the test app's VPC and key are imported, not created.
"""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import aws_cdk as cdk
import pytest
from aws_cdk import aws_ec2 as ec2
from aws_cdk import aws_kms as kms
from aws_cdk import aws_logs as logs
from cdk_nag import AwsSolutionsChecks
from cdklabs.cdk_validator_cfnguard import CfnGuardValidator

from kvs_pool_retention import KinesisVideoStreamPoolRetention
from tests.paths import ROOT

CHECKOV = ROOT / ".venv" / "checkov" / "bin" / "checkov"
CHECKOV_OFFLINE = ("--skip-download", "--compact", "--output", "json")
KEY_ARN = "arn:aws:kms:eu-west-2:111122223333:key/0f3c2a1b-0000-4000-8000-000000000001"


def hardening(stack: cdk.Stack) -> dict:
    """What an organisation that requires a VPC and encrypted logs passes: its VPC, its log group."""
    vpc = ec2.Vpc.from_vpc_attributes(
        stack,
        "Vpc",
        vpc_id="vpc-0123456789abcdef0",
        availability_zones=["eu-west-2a", "eu-west-2b"],
        private_subnet_ids=["subnet-0aaaaaaaaaaaaaaaa", "subnet-0bbbbbbbbbbbbbbbb"],
    )
    log_group = logs.LogGroup(
        stack,
        "HandlerLogs",
        encryption_key=kms.Key.from_key_arn(stack, "LogKey", KEY_ARN),
        retention=logs.RetentionDays.ONE_YEAR,
    )
    return {"vpc": vpc, "log_group": log_group}


def synthesize(outdir: Path, *, hardened: bool) -> Exception | None:
    """Synthesize the app under both synth-time plugins; return the validation failure, if any."""
    app = cdk.App(outdir=str(outdir))
    cdk.Validations.of(app).add_plugins(CfnGuardValidator(), AwsSolutionsChecks(app))
    stack = cdk.Stack(app, "Guarded", env=cdk.Environment(account="111122223333", region="eu-west-2"))
    options = hardening(stack) if hardened else {}
    for index, pool in enumerate(("meeting-audio", "support-audio")):
        KinesisVideoStreamPoolRetention(
            stack, f"Pool{index}", pool_identifier=pool, data_retention=cdk.Duration.hours(48), **options
        )
    try:
        app.synth()
    except RuntimeError as failure:  # jsii's form of ValidationFailed
        return failure
    return None


def plugin_findings(outdir: Path) -> set[tuple[str, str]]:
    """(control, construct path) for every violation any plugin reported."""
    report = json.loads((outdir / "validation-report.json").read_text())
    return {
        (
            violation["description"].split("]")[0].lstrip("[") or violation["ruleName"],
            construct["constructPath"],
        )
        for plugin in report["pluginReports"]
        for violation in plugin["violations"]
        for construct in violation["violatingConstructs"]
    }


def checkov(template: Path) -> dict:
    if not CHECKOV.exists():
        pytest.fail("checkov is missing: run `make setup`, which installs it in .venv/checkov.")
    done = subprocess.run(
        [str(CHECKOV), "--file", str(template), "--framework", "cloudformation", *CHECKOV_OFFLINE],
        # Offline: no mapping download from its platform, no API key.
        env={**os.environ, "BC_SKIP_MAPPING": "TRUE", "BC_API_KEY": ""},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode in (0, 1), done.stderr
    return json.loads(done.stdout)["results"]


@pytest.fixture(scope="module")
def hardened(tmp_path_factory) -> Path:
    outdir = tmp_path_factory.mktemp("hardened")
    assert synthesize(outdir, hardened=True) is None
    return outdir


@pytest.fixture(scope="module")
def default(tmp_path_factory) -> tuple[Path, Exception | None]:
    outdir = tmp_path_factory.mktemp("default")
    return outdir, synthesize(outdir, hardened=False)


def test_hardened_app_passes_control_tower_controls_and_cdk_nag(hardened):
    assert plugin_findings(hardened) == set()


def test_default_app_fails_only_the_two_controls_the_options_clear(default):
    outdir, failure = default

    assert failure is not None
    assert plugin_findings(outdir) == {
        ("CT.CLOUDWATCH.PR.3", "Guarded/KvsPoolRetentionProvider/Logs/Resource"),
        ("CT.LAMBDA.PR.3", "Guarded/KvsPoolRetentionProvider/Handler/Resource"),
    }


def test_hardened_template_has_no_checkov_failure_and_says_why_it_skips(hardened):
    results = checkov(hardened / "Guarded.template.json")

    assert [check["check_id"] for check in results["failed_checks"]] == []
    skipped = {
        check["check_id"]: check["check_result"]["suppress_comment"] for check in results["skipped_checks"]
    }
    assert set(skipped) == {"CKV_AWS_115", "CKV_AWS_116"}
    assert "dead-letter queue" in skipped["CKV_AWS_116"]
    assert "reserved concurrency" in skipped["CKV_AWS_115"].lower()


def test_default_template_fails_only_the_two_checkov_checks_the_options_clear(default):
    outdir, _ = default

    results = checkov(outdir / "Guarded.template.json")

    assert sorted((check["check_id"], check["resource"]) for check in results["failed_checks"]) == [
        ("CKV_AWS_117", "AWS::Lambda::Function.KvsPoolRetentionProviderHandler67D9E5ED"),
        ("CKV_AWS_158", "AWS::Logs::LogGroup.KvsPoolRetentionProviderLogs8FF1A635"),
    ]
