"""Delivering the response over real HTTPS to a local stand-in of the pre-signed URL."""

from __future__ import annotations

import json
import logging

import cfn_response
import pytest

BODY = {
    "Status": "SUCCESS",
    "Reason": "",
    "PhysicalResourceId": "arn:aws:chime:us-east-1:111122223333:media-pipeline-kinesis-video-stream-pool/p",
    "StackId": "stack",
    "RequestId": "request",
    "LogicalResourceId": "Pool",
    "NoEcho": False,
    "Data": {"PoolSize": 20},
}


@pytest.fixture
def sleeps() -> list[float]:
    return []


def deliver(endpoint, sleeps: list[float]) -> bool:
    return cfn_response.deliver(endpoint.url, BODY, sleep=sleeps.append)


def test_a_response_is_put_once_to_the_presigned_url(response_endpoint, sleeps):
    assert deliver(response_endpoint, sleeps) is True

    assert response_endpoint.bodies == [BODY]
    assert response_endpoint.paths == ["/cloudformation-response/stack?X-Amz-Signature=SECRET-SIGNATURE"]
    assert sleeps == []


def test_a_503_is_retried_instead_of_counted_as_delivered(response_endpoint, sleeps):
    response_endpoint.answers = [503, 503]

    assert deliver(response_endpoint, sleeps) is True

    assert response_endpoint.attempts == 3
    assert response_endpoint.bodies == [BODY]
    assert len(sleeps) == 2


def test_a_dropped_connection_is_retried(response_endpoint, sleeps):
    response_endpoint.answers = [None]

    assert deliver(response_endpoint, sleeps) is True

    assert response_endpoint.bodies == [BODY]


def test_delivery_gives_up_after_a_bounded_number_of_attempts(response_endpoint, sleeps):
    response_endpoint.answers = [503] * 10

    assert deliver(response_endpoint, sleeps) is False

    assert response_endpoint.attempts == cfn_response.DELIVERY_ATTEMPTS
    assert sum(sleeps) < 15


def test_a_refused_url_is_not_retried(response_endpoint, sleeps):
    response_endpoint.answers = [403]

    assert deliver(response_endpoint, sleeps) is False

    assert response_endpoint.attempts == 1


def test_delivery_logs_never_contain_the_url(response_endpoint, sleeps, caplog):
    caplog.set_level(logging.DEBUG)
    response_endpoint.answers = [503]

    deliver(response_endpoint, sleeps)

    assert "SECRET-SIGNATURE" not in caplog.text
    assert "localhost" not in caplog.text


def test_an_oversized_response_becomes_a_failed_that_says_why():
    body = {**BODY, "Data": {"Blob": "x" * 5000}}

    encoded = cfn_response.encode_body(body)

    assert len(encoded) <= cfn_response.MAX_BODY_BYTES
    sent = json.loads(encoded)
    assert sent["Status"] == "FAILED"
    assert sent["Reason"].startswith("The handler's response was")


def test_a_long_reason_keeps_its_beginning():
    reason = "Pool p was not found in region us-east-1: " + "detail " * 80

    short = cfn_response.shorten_reason(reason)

    assert len(short) == cfn_response.MAX_REASON_CHARS
    assert short.startswith("Pool p was not found in region us-east-1: ")
