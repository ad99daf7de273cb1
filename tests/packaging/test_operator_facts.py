"""What the README tells operators about the synthesized stack, checked on its template: what `cdk destroy`
leaves behind, and who may invoke the handler function."""

from __future__ import annotations

import aws_cdk as cdk

from kvs_pool_retention import KinesisVideoStreamPoolRetention


def template(tmp_path) -> dict:
    app = cdk.App(outdir=str(tmp_path))
    stack = cdk.Stack(app, "Operated")
    KinesisVideoStreamPoolRetention(
        stack, "Pool", pool_identifier="meeting-audio", data_retention=cdk.Duration.hours(48)
    )
    return app.synth().get_stack_by_name("Operated").template


def test_destroy_retains_the_handlers_log_group_and_nothing_else(tmp_path):
    resources = template(tmp_path)["Resources"].values()

    retained = {r["Type"] for r in resources if r.get("DeletionPolicy") == "Retain"}
    assert retained == {"AWS::Logs::LogGroup"}


def test_the_handler_function_is_tagged_and_has_no_resource_based_policy(tmp_path):
    resources = template(tmp_path)["Resources"].values()

    (function,) = [r for r in resources if r["Type"] == "AWS::Lambda::Function"]
    assert {"Key": "kvs-pool-retention:component", "Value": "handler"} in function["Properties"]["Tags"]
    assert "AWS::Lambda::Permission" not in {r["Type"] for r in resources}
