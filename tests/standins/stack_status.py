"""Stands in for the calls a single invocation of the handler or the guard makes to CloudFormation's API,
for tests that play one event at a time (no stack around it): DescribeStacks answers `status` for any
stack, DescribeStackResource the (status, physical id) of `stack_resources` by logical id
(`resource_status` and no physical id for any other: in progress, as CloudFormation reports the resource
whose event it sent), and ListStackResources the `summaries`, 100 a page with a NextToken, as the API pages
them. Stack operations use `cloudformation.py` instead. Unsigned requests are refused, as CloudFormation
does; the signature itself is not checked here.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from urllib.parse import parse_qsl
from xml.sax.saxutils import escape

from tests.standins.serving import StandInHandler, local_server, serving

PAGE = 100  # ListStackResources' page


@dataclass
class Summary:
    """One resource as ListStackResources describes it."""

    logical_id: str
    physical_id: str
    resource_type: str
    status: str = "UPDATE_COMPLETE"


@dataclass
class StackStatus:
    url: str = ""
    status: str = "DELETE_IN_PROGRESS"
    summaries: list[Summary] = field(default_factory=list)
    stack_resources: dict[str, tuple[str, str]] = field(default_factory=dict)
    resource_status: str = "UPDATE_IN_PROGRESS"
    calls: list[str] = field(default_factory=list)  # the Action of every call


def _handler_class(stand_in: StackStatus) -> type[BaseHTTPRequestHandler]:
    class Handler(StandInHandler):
        def do_POST(self) -> None:
            form = dict(parse_qsl(self.rfile.read(int(self.headers.get("Content-Length", "0"))).decode()))
            action = form.get("Action", "")
            stand_in.calls.append(action)
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
                    f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
                    "</DescribeStacksResponse>",
                )
            elif action == "DescribeStackResource":
                logical = form.get("LogicalResourceId", "")
                status, physical = stand_in.stack_resources.get(logical, (stand_in.resource_status, ""))
                self._reply(
                    200,
                    "<DescribeStackResourceResponse><DescribeStackResourceResult><StackResourceDetail>"
                    f"<StackId>{escape(form['StackName'])}</StackId><StackName>stack</StackName>"
                    f"<LogicalResourceId>{escape(logical)}</LogicalResourceId>"
                    + (f"<PhysicalResourceId>{escape(physical)}</PhysicalResourceId>" if physical else "")
                    + "<ResourceType>Custom::KvsPoolRetention</ResourceType>"
                    "<LastUpdatedTimestamp>2026-11-30T00:00:00Z</LastUpdatedTimestamp>"
                    f"<ResourceStatus>{status}</ResourceStatus>"
                    "</StackResourceDetail></DescribeStackResourceResult>"
                    f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
                    "</DescribeStackResourceResponse>",
                )
            elif action == "ListStackResources":
                start = int(form.get("NextToken", "0"))
                more = start + PAGE < len(stand_in.summaries)
                self._reply(
                    200,
                    "<ListStackResourcesResponse><ListStackResourcesResult>"
                    f"<StackResourceSummaries>{_members(stand_in.summaries[start : start + PAGE])}"
                    "</StackResourceSummaries>"
                    + (f"<NextToken>{start + PAGE}</NextToken>" if more else "")
                    + "</ListStackResourcesResult>"
                    f"<ResponseMetadata><RequestId>{uuid.uuid4()}</RequestId></ResponseMetadata>"
                    "</ListStackResourcesResponse>",
                )
            else:
                self._reply(400, "<ErrorResponse><Error><Code>InvalidAction</Code></Error></ErrorResponse>")

        def _reply(self, status: int, body: str) -> None:
            self.answer(status, body.encode(), "text/xml")

    return Handler


def _members(summaries: list[Summary]) -> str:
    return "".join(
        "<member>"
        f"<LogicalResourceId>{escape(summary.logical_id)}</LogicalResourceId>"
        f"<PhysicalResourceId>{escape(summary.physical_id)}</PhysicalResourceId>"
        f"<ResourceType>{escape(summary.resource_type)}</ResourceType>"
        "<LastUpdatedTimestamp>2026-11-30T00:00:00Z</LastUpdatedTimestamp>"
        f"<ResourceStatus>{summary.status}</ResourceStatus>"
        "</member>"
        for summary in summaries
    )


@contextmanager
def serve_stack_status() -> Iterator[StackStatus]:
    stand_in = StackStatus()
    server, stand_in.url = local_server(_handler_class(stand_in))
    with serving(server):
        yield stand_in
