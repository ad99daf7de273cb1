"""How long CloudFormation still waits: from the pre-signed ResponseURL (both forms) and ServiceTimeout."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from response_window import seconds_left

from tests.fakes import cloudformation_event

SIGNED = datetime(2026, 11, 29, 12, 0, 0, tzinfo=UTC).timestamp()
BUCKET = "https://cloudformation-custom-resource-response-useast1.s3.amazonaws.com/arn%3Aaws%3Acloudformation"


def sigv4_url(expires: int = 7200) -> str:
    return (
        f"{BUCKET}?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Date=20261129T120000Z&X-Amz-SignedHeaders=host"
        f"&X-Amz-Expires={expires}&X-Amz-Credential=AKIA%2F20261129%2Fus-east-1%2Fs3%2Faws4_request"
        "&X-Amz-Signature=0123abcd"
    )


def event(url: str, service_timeout: str | None = "900") -> dict:
    properties = {"PoolIdentifier": "meeting-audio", "DataRetentionInHours": "48"}
    built = cloudformation_event("Create", properties, ResponseURL=url)
    if service_timeout is None:
        del built["ResourceProperties"]["ServiceTimeout"]
    else:
        built["ResourceProperties"]["ServiceTimeout"] = service_timeout
    return built


@pytest.mark.parametrize(("after", "left"), [(0, 900), (600, 300), (900, 0), (1500, -600)])
def test_sigv4_url_the_service_timeout_since_signing_bounds_the_wait(after, left):
    assert seconds_left(event(sigv4_url()), SIGNED + after) == left


def test_sigv4_url_without_a_service_timeout_waits_cloudformations_default_hour():
    assert seconds_left(event(sigv4_url(), service_timeout=None), SIGNED + 3000) == 600


def test_sigv4_url_that_expires_before_the_service_timeout_bounds_the_wait():
    assert seconds_left(event(sigv4_url(expires=300), service_timeout="3600"), SIGNED + 360) == -60


def test_older_url_form_its_expiry_bounds_the_wait():
    url = f"{BUCKET}?AWSAccessKeyId=AKIA&Expires={int(SIGNED) + 7200}&Signature=abc%3D"

    assert seconds_left(event(url), SIGNED + 7000) == 200
    assert seconds_left(event(url), SIGNED + 7300) == -100


@pytest.mark.parametrize(
    "url",
    [
        f"{BUCKET}?X-Amz-Signature=SECRET-SIGNATURE",
        f"{BUCKET}?X-Amz-Date=yesterday&X-Amz-Expires=7200",
        f"{BUCKET}?Expires=soon",
        "",
    ],
)
def test_url_without_readable_times_says_nothing(url):
    assert seconds_left(event(url), SIGNED + 10**6) is None
