"""Stands in for the two CloudFormation calls the retention guard makes on its own stack, over HTTP in the
query protocol botocore's `cloudformation` client speaks: DescribeStacks (the stack's `status`) and
ListStackResources (the `resources`, 100 a page with a NextToken, as the API pages them). Unsigned
requests are refused, as CloudFormation does; the signature itself is not checked here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from tests.standins.serving import StandInHandler, serving

PAGE = 100


@dataclass
class Summary:
    logical_id: str
    physical_id: str
    resource_type: str
    status: str = "UPDATE_COMPLETE"


@dataclass
class OwnStack:
    url: str = ""
    status: str = "UPDATE_COMPLETE"
    resources: list[Summary] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)  # the Action of every call


def _members(summaries: list[Summary]) -> str:
    return "".join(
        "<member>"
        f"<LogicalResourceId>{escape(s.logical_id)}</LogicalResourceId>"
        f"<PhysicalResourceId>{escape(s.physical_id)}</PhysicalResourceId>"
        f"<ResourceType>{escape(s.resource_type)}</ResourceType>"
        "<LastUpdatedTimestamp>2026-11-30T00:00:00Z</LastUpdatedTimestamp>"
        f"<ResourceStatus>{s.status}</ResourceStatus>"
        "</member>"
        for s in summaries
    )


def _handler_class(stand_in: OwnStack) -> type[BaseHTTPRequestHandler]:
    class Handler(StandInHandler):
        def do_POST(self) -> None:
            form = dict(parse_qsl(self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()))
            action = form.get("Action", "")
            stand_in.calls.append(action)
            metadata = f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
            if "Authorization" not in self.headers:
                self._reply(
                    403,
                    "<ErrorResponse><Error><Code>MissingAuthenticationToken</Code></Error></ErrorResponse>",
                )
            elif action == "DescribeStacks":
                self._reply(
                    200,
                    "<DescribeStacksResponse><DescribeStacksResult><Stacks><member>"
                    f"<StackId>{escape(form['StackName'])}</StackId><StackName>stack</StackName>"
                    "<CreationTime>2026-11-30T00:00:00Z</CreationTime>"
                    f"<StackStatus>{stand_in.status}</StackStatus></member></Stacks></DescribeStacksResult>"
                    f"{metadata}</DescribeStacksResponse>",
                )
            elif action == "ListStackResources":
                start = int(form.get("NextToken", "0"))
                page = stand_in.resources[start : start + PAGE]
                more = start + PAGE < len(stand_in.resources)
                self._reply(
                    200,
                    "<ListStackResourcesResponse><ListStackResourcesResult>"
                    f"<StackResourceSummaries>{_members(page)}</StackResourceSummaries>"
                    + (f"<NextToken>{start + PAGE}</NextToken>" if more else "")
                    + f"</ListStackResourcesResult>{metadata}</ListStackResourcesResponse>",
                )
            else:
                self._reply(400, "<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>")

        def _reply(self, status: int, body: str) -> None:
            self.answer(status, body.encode(), "text/xml")

    return Handler


@contextmanager
def serve_own_stack() -> Iterator[OwnStack]:
    stand_in = OwnStack()
    server = ThreadingHTTPServer(("127.0.0.1", 0), _handler_class(stand_in))
    stand_in.url = f"http://127.0.0.1:{server.server_address[1]}"
    with serving(server):
        yield stand_in
