"""Stands in for the Chime SDK Media Pipelines KVS-pool API (REST-JSON) on 127.0.0.1.

Reached by the unmodified handler through AWS_ENDPOINT_URL_CHIME_SDK_MEDIA_PIPELINES. Checks every
request's SigV4 signature against the registered credentials (`credentials`: the fixed test pair, plus any
a test or the CloudFormation stand-in adds), models the asynchronous status of pool changes and the
account's request rate (429 ThrottledClientException past it), and records every call. With an
`authorizer` (an `IamStore`'s `authorize`), every request is authorized for its caller as IAM would: the
action, the pool's ARN, and the condition keys the service documents (`aws:ResourceTag/<key>` from the
pool's tags at that moment; `aws:RequestTag/<key>` and `aws:TagKeys` for TagResource and UntagResource).

`PoolApi` is the service's model on its own, on an injectable clock: the herd simulation drives it in
virtual time without HTTP.
"""

from __future__ import annotations

import json
import re
import threading
import time
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler
from typing import Protocol
from urllib.parse import parse_qsl, unquote

from botocore.auth import SigV4Auth
from botocore.awsrequest import AWSRequest
from botocore.credentials import Credentials

from tests.standins.serving import StandInHandler, local_server, serving

ACCESS_KEY = "AKIDLOCALSTANDIN"
SECRET_KEY = "local-stand-in-secret"
ACCOUNT = "111122223333"
POOL_RESOURCE_TYPE = "media-pipeline-kinesis-video-stream-pool"
ACTIONS = {
    "GET": "chime:GetMediaPipelineKinesisVideoStreamPool",
    "PUT": "chime:UpdateMediaPipelineKinesisVideoStreamPool",
    "list-tags": "chime:ListTagsForResource",
    "tag-resource": "chime:TagResource",
    "untag-resource": "chime:UntagResource",
}
_PATH = re.compile(r"/media-pipeline-kinesis-video-stream-pools/(?P<identifier>[^/?]+)")
_AUTHORIZATION = re.compile(
    r"AWS4-HMAC-SHA256 Credential=(?P<key>[^/]+)/\d{8}/(?P<region>[^/]+)/(?P<service>[^/]+)/aws4_request, "
    r"SignedHeaders=(?P<signed>[^,]+), Signature=(?P<signature>[0-9a-f]{64})"
)


def pool_arn(name: str, region: str) -> str:
    return f"arn:aws:chime:{region}:{ACCOUNT}:{POOL_RESOURCE_TYPE}/{name}"


class Authorizer(Protocol):
    def __call__(
        self,
        access_key: str,
        action: str,
        resource_arn: str,
        context: dict[str, str | list[str]],
        region: str,
    ) -> str | None:
        """None when the caller may; otherwise the AccessDenied message."""


@dataclass
class Pool:
    name: str
    region: str = "us-east-1"
    retention: int | None = 24  # None: the configuration omits DataRetentionInHours (optional in the model)
    status: str = "ACTIVE"
    size: int = 20
    forbidden: bool = False
    tags: dict[str, str] = field(default_factory=dict)
    pool_id: str = field(default_factory=lambda: str(uuid.uuid4()))
    busy_until: float = 0.0
    settles_as: str = "ACTIVE"
    updated: datetime = field(default_factory=lambda: datetime.now(UTC))
    # Another writer: when the current transition ends, the pool has this retention instead (once), as if
    # someone else had updated it meanwhile.
    settles_with_retention: int | None = None
    # AWS's usual limit of tags a resource; a TagResource that would pass it is refused whole.
    max_tags: int = 50

    @property
    def arn(self) -> str:
        return pool_arn(self.name, self.region)

    def settle(self, now: float) -> None:
        if self.status in {"CREATING", "UPDATING"} and now >= self.busy_until:
            self.status = self.settles_as
            if self.settles_with_retention is not None:
                self.retention, self.settles_with_retention = self.settles_with_retention, None
                self.updated = datetime.now(UTC)

    def configuration(self) -> dict:
        return {
            "KinesisVideoStreamPoolConfiguration": {
                "PoolArn": self.arn,
                "PoolName": self.name,
                "PoolId": self.pool_id,
                "PoolStatus": self.status,
                "PoolSize": self.size,
                "StreamConfiguration": {
                    "Region": self.region,
                    **({} if self.retention is None else {"DataRetentionInHours": self.retention}),
                },
                "CreatedTimestamp": "2026-01-02T03:04:05.000Z",
                "UpdatedTimestamp": self.updated.strftime("%Y-%m-%dT%H:%M:%S.000Z"),
            }
        }


@dataclass
class Call:
    method: str
    identifier: str
    region: str
    body: dict
    at: float
    answered: int = 0
    caller: str | None = None  # the access key that signed it (None when called without HTTP)


@dataclass
class Fault:
    method: str
    code: str | None  # None: a bare error, without x-amzn-ErrorType and with a plain-text body
    status: int
    times: int

    def answer(self) -> tuple[int, dict | str, str | None]:
        if self.code is None:
            return self.status, HTTPStatus(self.status).phrase, None
        return self.status, {"Code": self.code, "Message": f"Injected {self.code}"}, self.code


class TokenBucket:
    """The account's request rate: `rate` requests a second, bursts of up to `burst`."""

    def __init__(self, rate: float, burst: float, clock: Callable[[], float]) -> None:
        self.rate, self.burst, self._clock = rate, burst, clock
        self._tokens, self._filled_at = burst, clock()

    def take(self) -> bool:
        now = self._clock()
        self._tokens = min(self.burst, self._tokens + (now - self._filled_at) * self.rate)
        self._filled_at = now
        if self._tokens < 1:
            return False
        self._tokens -= 1
        return True


THROTTLED = (
    429,
    {"Code": "ThrottledClientException", "Message": "Rate exceeded"},
    "ThrottledClientException",
)
Answer = tuple[int, dict | str, str | None]  # status, body (JSON, or plain text), x-amzn-ErrorType


class PoolApi:
    """The service's state: pools by name, queued faults, the request rate, and every call made."""

    def __init__(self, clock: Callable[[], float] = time.monotonic) -> None:
        self.pools: dict[str, Pool] = {}
        self.calls: list[Call] = []
        self.faults: list[Fault] = []
        self.transition_seconds = 0.0
        self.url = ""
        self.clock = clock
        self.rate: TokenBucket | None = None
        self.credentials: dict[str, str] = {ACCESS_KEY: SECRET_KEY}  # access key -> secret key
        self.authorizer: Authorizer | None = None  # None: every signed request is allowed
        self._lock = threading.Lock()

    def limit_rate(self, per_second: float) -> None:
        """Admit `per_second` requests a second across every caller (burst as large), 429 past it."""
        self.rate = TokenBucket(per_second, per_second, self.clock)

    def add_pool(self, name: str, **attributes: object) -> Pool:
        pool = Pool(name=name, **attributes)  # type: ignore[arg-type]
        self.pools[name] = pool
        return pool

    def fail(self, method: str, code: str | None = None, status: int = 429, times: int = 1) -> None:
        """Answer the next `times` calls of `method` (GET, PUT, list-tags, tag-resource, untag-resource)
        with this error; without a `code`, as a proxy or the service's front door might: no
        x-amzn-ErrorType and a plain-text body."""
        self.faults.append(Fault(method, code, status, times))

    def calls_of(self, method: str) -> list[Call]:
        return [call for call in self.calls if call.method == method]

    def handle_tags(
        self, method: str, query: dict[str, str], region: str, body: dict, *, caller: str | None = None
    ) -> Answer:
        """GET /tags?arn=, POST /tags?operation=tag-resource|untag-resource."""
        operation = "list-tags" if method == "GET" else query.get("operation", "")
        arn = (query.get("arn") if method == "GET" else body.get("ResourceARN")) or ""
        with self._lock:
            call = Call(operation, arn, region, body, self.clock(), caller=caller)
            self.calls.append(call)
            stopped = self._admitted(call, arn, self._tagged_pool(arn))
            answer = stopped or self._tag_answer(operation, arn, body)
            call.answered = answer[0]
            return answer

    def _tagged_pool(self, arn: str) -> Pool | None:
        return next((pool for pool in self.pools.values() if pool.arn == arn), None)

    def _admitted(self, call: Call, resource_arn: str, pool: Pool | None) -> Answer | None:
        """Throttling, then authorization, then injected faults: an answer that stops the call, or None."""
        if self.rate is not None and not self.rate.take():
            return THROTTLED
        denial = self._denial(call, resource_arn, pool)
        if denial is not None:
            return 403, {"Code": "AccessDeniedException", "Message": denial}, "AccessDeniedException"
        for fault in self.faults:
            if fault.method == call.method and fault.times > 0:
                fault.times -= 1
                return fault.answer()
        return None

    def _denial(self, call: Call, resource_arn: str, pool: Pool | None) -> str | None:
        if self.authorizer is None or call.caller is None or call.method not in ACTIONS:
            return None
        context: dict[str, str | list[str]] = {
            f"aws:ResourceTag/{key}": value for key, value in (pool.tags if pool else {}).items()
        }
        if call.method == "tag-resource":
            tags = call.body.get("Tags", [])
            context["aws:TagKeys"] = [tag["Key"] for tag in tags]
            context.update({f"aws:RequestTag/{tag['Key']}": tag["Value"] for tag in tags})
        elif call.method == "untag-resource":
            context["aws:TagKeys"] = list(call.body.get("TagKeys", []))
        return self.authorizer(call.caller, ACTIONS[call.method], resource_arn, context, call.region)

    def _tag_answer(self, operation: str, arn: str, body: dict) -> Answer:
        pool = self._tagged_pool(arn)
        if pool is None:
            return (
                404,
                {"Code": "NotFoundException", "Message": f"Resource {arn} not found"},
                "NotFoundException",
            )
        if operation == "list-tags":
            return 200, {"Tags": [{"Key": key, "Value": value} for key, value in pool.tags.items()]}, None
        if operation == "tag-resource":
            added = {tag["Key"]: tag["Value"] for tag in body["Tags"]}
            if len(pool.tags | added) > pool.max_tags:
                return (
                    400,
                    {
                        "Code": "BadRequestException",
                        "Message": f"A resource can have at most {pool.max_tags} tags",
                    },
                    "BadRequestException",
                )
            pool.tags.update(added)
            return 204, {}, None
        if operation == "untag-resource":
            for key in body["TagKeys"]:
                pool.tags.pop(key, None)
            return 204, {}, None
        return (
            400,
            {"Code": "BadRequestException", "Message": f"Unknown operation {operation}"},
            "BadRequestException",
        )

    def handle(
        self, method: str, identifier: str, region: str, body: dict, *, caller: str | None = None
    ) -> Answer:
        """GET or PUT /media-pipeline-kinesis-video-stream-pools/{identifier}. `caller` is the access key
        that signed the request: authorized when there is an authorizer."""
        with self._lock:
            call = Call(method, identifier, region, body, self.clock(), caller=caller)
            self.calls.append(call)
            pool = self._pool(identifier)
            # A pool that does not exist is authorized by the ARN its identifier names, as IAM does.
            named = identifier if identifier.startswith("arn:") else pool_arn(identifier, region)
            arn = pool.arn if pool else named
            answer = self._admitted(call, arn, pool) or self._answer(method, identifier, body)
            call.answered = answer[0]
            return answer

    def _pool(self, identifier: str) -> Pool | None:
        name = identifier.rsplit("/", 1)[-1] if identifier.startswith("arn:") else identifier
        pool = self.pools.get(name)
        if pool is None or (identifier.startswith("arn:") and identifier != pool.arn):
            return None
        return pool

    def _answer(self, method: str, identifier: str, body: dict) -> Answer:
        pool = self._pool(identifier)
        if pool is None:
            return (
                404,
                {"Code": "NotFoundException", "Message": f"Pool {identifier} not found"},
                "NotFoundException",
            )
        if pool.forbidden:
            return 403, {"Code": "ForbiddenException", "Message": "Not authorized"}, "ForbiddenException"
        pool.settle(self.clock())
        if method == "GET":
            return 200, pool.configuration(), None
        if pool.status != "ACTIVE":
            return (
                409,
                {"Code": "ConflictException", "Message": f"Pool is {pool.status}"},
                "ConflictException",
            )
        hours = body.get("StreamConfiguration", {}).get("DataRetentionInHours")
        if not isinstance(hours, int) or hours < 1:
            return 400, {"Code": "BadRequestException", "Message": "Invalid retention"}, "BadRequestException"
        pool.retention = hours
        pool.status = "UPDATING"
        pool.busy_until = self.clock() + self.transition_seconds
        pool.updated = datetime.now(UTC)
        return 200, pool.configuration(), None


def signed_by(headers: dict[str, str]) -> tuple[str, str]:
    """The access key and region a SigV4-signed request names (its signature checked already)."""
    match = _AUTHORIZATION.fullmatch(headers["authorization"])
    assert match is not None
    return match["key"], match["region"]


def signature_problem(
    method: str,
    path: str,
    headers: dict[str, str],
    body: bytes,
    host: str,
    credentials: dict[str, str] | None = None,
    service: str = "chime",
) -> str | None:
    """Recompute the request's SigV4 signature with the secret of the access key it names (among
    `credentials`, the fixed test pair by default); say what is wrong, if anything."""
    known = {ACCESS_KEY: SECRET_KEY} if credentials is None else credentials
    match = _AUTHORIZATION.fullmatch(headers.get("authorization", ""))
    if not match:
        return "missing or malformed SigV4 Authorization header"
    if match["key"] not in known or match["service"] != service:
        return f"signed for {match['key']}/{match['service']}, not a known access key for {service}"
    secret = known[match["key"]]
    signed = {name: headers[name] for name in match["signed"].split(";") if name in headers}
    request = AWSRequest(method=method, url=f"http://{host}{path}", data=body, headers=signed)
    # Recomputed at the request's own time: add_auth would sign at the stand-in's clock, which a request
    # that crosses a second boundary on a busy machine no longer matches.
    request.context["timestamp"] = headers.get("x-amz-date", "")
    signer = SigV4Auth(Credentials(match["key"], secret), service, match["region"])
    expected = signer.signature(signer.string_to_sign(request, signer.canonical_request(request)), request)
    if expected != match["signature"]:
        return "signature does not match"
    return None


def _handler_class(api: PoolApi) -> type[BaseHTTPRequestHandler]:
    class Handler(StandInHandler):
        def do_GET(self) -> None:
            self._serve("GET")

        def do_PUT(self) -> None:
            self._serve("PUT")

        def do_POST(self) -> None:
            self._serve("POST")

        def _serve(self, method: str) -> None:
            body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
            headers = {name.lower(): value for name, value in self.headers.items()}
            problem = signature_problem(
                method, self.path, headers, body, headers.get("host", ""), dict(api.credentials)
            )
            if problem:
                self._reply(
                    403,
                    {"Code": "UnauthorizedClientException", "Message": problem},
                    "UnauthorizedClientException",
                )
                return
            path, _, query = self.path.partition("?")
            caller, region = signed_by(headers)
            payload = json.loads(body or b"{}")
            if path == "/tags":
                self._reply(*api.handle_tags(method, dict(parse_qsl(query)), region, payload, caller=caller))
                return
            match = _PATH.fullmatch(path)
            if not match or method == "POST":
                self._reply(404, {"Message": "No such route"}, "NotFoundException")
                return
            self._reply(*api.handle(method, unquote(match["identifier"]), region, payload, caller=caller))

        def _reply(self, status: int, answer: dict | str, error: str | None) -> None:
            plain = isinstance(answer, str)
            payload = answer.encode() if isinstance(answer, str) else json.dumps(answer).encode()
            headers = {"x-amzn-ErrorType": error} if error else {}
            self.answer(status, payload, "text/plain" if plain else "application/json", **headers)

    return Handler


@contextmanager
def serve_pool_api() -> Iterator[PoolApi]:
    api = PoolApi()
    server, api.url = local_server(_handler_class(api))
    with serving(server):
        yield api
