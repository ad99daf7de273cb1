"""The IAM evaluator the stand-ins authorize with: IAM's documented evaluation, edge cases included."""

from __future__ import annotations

import pytest

from tests.fakes import FakeClock
from tests.standins.iam import Decision, IamStore, PolicyNotModelled, decide, evaluate

POOL = "arn:aws:chime:us-east-1:111122223333:media-pipeline-kinesis-video-stream-pool/meeting-audio"
OTHER_POOL = POOL.replace("meeting-audio", "support-audio")
GET = "chime:GetMediaPipelineKinesisVideoStreamPool"
UPDATE = "chime:UpdateMediaPipelineKinesisVideoStreamPool"
TAG = "chime:TagResource"


def allow(
    action: object = GET, resource: object = POOL, condition: dict | None = None, effect: str = "Allow"
) -> dict:
    statement = {"Effect": effect, "Action": action, "Resource": resource}
    if condition is not None:
        statement["Condition"] = condition
    return {"Version": "2012-10-17", "Statement": [statement]}


def deny(action: object = GET, resource: object = POOL, condition: dict | None = None) -> dict:
    return allow(action, resource, condition, effect="Deny")


# Actions and resources --------------------------------------------------------------------------------------


def test_nothing_is_allowed_without_a_policy():
    assert decide([], GET, POOL, {}) is Decision.IMPLICIT_DENY


@pytest.mark.parametrize(
    ("action", "allowed"),
    [
        ("chime:GetMediaPipelineKinesisVideoStreamPool", True),
        ("CHIME:getmediapipelinekinesisvideostreampool", True),  # actions are case-insensitive
        ("chime:Get*", True),
        ("chime:?etMediaPipelineKinesisVideoStreamPool", True),
        ("chime:*", True),
        ("chime:Update*", False),
        (["chime:UpdateMediaPipelineKinesisVideoStreamPool", "chime:GetMedia*"], True),
        ("chime:GetMediaPipelineKinesisVideoStreamPoo", False),
    ],
)
def test_action_patterns(action, allowed):
    assert evaluate([allow(action=action)], GET, POOL, {}) is allowed


def test_not_action_allows_everything_but_the_named_actions():
    document = {"Statement": {"Effect": "Allow", "NotAction": "chime:Update*", "Resource": "*"}}

    assert evaluate([document], GET, POOL, {})
    assert not evaluate([document], UPDATE, POOL, {})


@pytest.mark.parametrize(
    ("resource", "allowed"),
    [
        (POOL, True),
        ("*", True),
        ("arn:aws:chime:us-east-1:111122223333:media-pipeline-kinesis-video-stream-pool/*", True),
        ("arn:aws:chime:us-east-1:111122223333:media-pipeline-kinesis-video-stream-pool/meeting-?udio", True),
        ("arn:aws:chime:*:111122223333:media-pipeline-kinesis-video-stream-pool/meeting-audio", True),
        (POOL.replace("meeting-audio", "Meeting-Audio"), False),  # resources are case-sensitive
        (OTHER_POOL, False),
        ([OTHER_POOL, POOL], True),
    ],
)
def test_resource_patterns(resource, allowed):
    assert evaluate([allow(resource=resource)], GET, POOL, {}) is allowed


def test_an_explicit_deny_in_any_document_wins_over_every_allow():
    documents = [allow(action="chime:*", resource="*"), deny(resource=POOL)]

    assert decide(documents, GET, POOL, {}) is Decision.EXPLICIT_DENY
    assert decide(documents, GET, OTHER_POOL, {}) is Decision.ALLOW
    assert not evaluate(documents, GET, POOL, {})


# Conditions -------------------------------------------------------------------------------------------------


def holds(condition: dict, context: dict) -> bool:
    return evaluate([allow(condition=condition)], GET, POOL, context)


TEAM = "aws:ResourceTag/team"


@pytest.mark.parametrize(
    ("condition", "context", "expected"),
    [
        ({"StringEquals": {TEAM: "media"}}, {TEAM: "media"}, True),
        ({"StringEquals": {TEAM: "media"}}, {TEAM: "Media"}, False),  # values are case-sensitive
        ({"StringEquals": {"AWS:RESOURCETAG/TEAM": "media"}}, {TEAM: "media"}, True),  # key names are not
        ({"StringEquals": {TEAM: ["audio", "media"]}}, {TEAM: "media"}, True),  # values OR
        ({"StringEqualsIgnoreCase": {TEAM: "MEDIA"}}, {TEAM: "media"}, True),
        ({"StringLike": {TEAM: "med*"}}, {TEAM: "media"}, True),
        ({"StringLike": {TEAM: "m?dia"}}, {TEAM: "media"}, True),
        ({"StringLike": {TEAM: "med"}}, {TEAM: "media"}, False),
        ({"StringNotEquals": {TEAM: "media"}}, {TEAM: "audio"}, True),
        ({"StringNotEquals": {TEAM: ["audio", "media"]}}, {TEAM: "audio"}, False),  # negated values NOR
        ({"StringNotLike": {TEAM: "med*"}}, {TEAM: "media"}, False),
        (
            {"StringEquals": {TEAM: "media", "aws:ResourceTag/env": "prod"}},
            {TEAM: "media"},
            False,
        ),  # keys AND
        (
            {"StringEquals": {TEAM: "media"}, "StringLike": {"aws:ResourceTag/env": "p*"}},
            {TEAM: "media", "aws:ResourceTag/env": "prod"},
            True,
        ),
        (
            {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::*:role/handler-*"}},
            {"aws:PrincipalArn": "arn:aws:iam::1:role/handler-x"},
            True,
        ),
        (
            {"ArnLike": {"aws:PrincipalArn": "arn:aws:iam::1:*"}},
            {"aws:PrincipalArn": "arn:aws:iam::1:role/x"},
            True,
        ),
        ({"Bool": {"aws:SecureTransport": "true"}}, {"aws:SecureTransport": "true"}, True),
    ],
)
def test_condition_operators(condition, context, expected):
    assert holds(condition, context) is expected


@pytest.mark.parametrize(
    ("condition", "expected"),
    [
        ({"StringEquals": {TEAM: "media"}}, False),  # a key the request lacks matches nothing...
        ({"StringLike": {TEAM: "*"}}, False),
        ({"StringNotEquals": {TEAM: "media"}}, True),  # ...so a negated operator holds (IAM documents this)
        ({"StringNotLike": {TEAM: "med*"}}, True),
        ({"StringEqualsIfExists": {TEAM: "media"}}, True),
        ({"Null": {TEAM: "true"}}, True),
        ({"Null": {TEAM: "false"}}, False),
        ({"ForAllValues:StringEquals": {"aws:TagKeys": ["team"]}}, True),  # vacuously true
        ({"ForAnyValue:StringEquals": {"aws:TagKeys": ["team"]}}, False),
    ],
)
def test_a_key_absent_from_the_request(condition, expected):
    assert holds(condition, {}) is expected


def test_null_tells_a_present_key():
    assert holds({"Null": {TEAM: "false"}}, {TEAM: "media"})
    assert holds({"Null": {TEAM: False}}, {TEAM: "media"})  # JSON booleans are accepted as values
    assert not holds({"Null": {TEAM: "true"}}, {TEAM: "media"})


KEYS = "aws:TagKeys"


@pytest.mark.parametrize(
    ("condition", "tag_keys", "expected"),
    [
        ({"ForAllValues:StringEquals": {KEYS: ["team", "env"]}}, ["team"], True),
        ({"ForAllValues:StringEquals": {KEYS: ["team", "env"]}}, ["team", "env"], True),
        ({"ForAllValues:StringEquals": {KEYS: ["team", "env"]}}, ["team", "owner"], False),
        ({"ForAllValues:StringEquals": {KEYS: ["team"]}}, [], True),  # empty is as absent
        ({"ForAllValues:StringLike": {KEYS: ["kvs-pool-retention:*"]}}, ["kvs-pool-retention:a"], True),
        ({"ForAnyValue:StringEquals": {KEYS: ["team"]}}, ["owner", "team"], True),
        ({"ForAnyValue:StringEquals": {KEYS: ["team"]}}, ["owner"], False),
        ({"ForAnyValue:StringEquals": {KEYS: ["team"]}}, [], False),
        ({"ForAllValues:StringNotEquals": {KEYS: ["team", "env"]}}, ["owner", "cost"], True),  # none of them
        ({"ForAllValues:StringNotEquals": {KEYS: ["team", "env"]}}, ["owner", "team"], False),
        ({"ForAnyValue:StringNotLike": {KEYS: ["kvs-*"]}}, ["kvs-a", "team"], True),  # one outside
        ({"ForAnyValue:StringNotLike": {KEYS: ["kvs-*"]}}, ["kvs-a"], False),
        ({"StringEquals": {KEYS: "team"}}, ["team"], False),  # a multivalued key needs a set operator
        ({"Null": {KEYS: "true"}}, [], True),
        ({"Null": {KEYS: "false"}}, ["team"], True),
    ],
)
def test_set_operators_on_a_multivalued_key(condition, tag_keys, expected):
    assert holds(condition, {KEYS: tag_keys}) is expected


def test_a_deny_on_a_tag_key_prefix_guards_tagging_only_when_keys_are_sent():
    documents = [
        allow(action=TAG, resource="*"),
        deny(action=TAG, resource="*", condition={"ForAnyValue:StringLike": {KEYS: ["aws:*"]}}),
    ]

    assert decide(documents, TAG, POOL, {KEYS: ["aws:owner"]}) is Decision.EXPLICIT_DENY
    assert decide(documents, TAG, POOL, {KEYS: ["team"]}) is Decision.ALLOW


def test_policy_variables_fill_in_from_the_request():
    document = allow(
        resource="arn:aws:chime:us-east-1:111122223333:media-pipeline-kinesis-video-stream-pool/${aws:ResourceTag/pool}"
    )

    assert evaluate([document], GET, POOL, {"aws:ResourceTag/pool": "meeting-audio"})
    assert not evaluate([document], GET, POOL, {"aws:ResourceTag/pool": "other"})
    assert not evaluate([document], GET, POOL, {})  # the variable's key is absent: nothing matches


def test_a_variable_value_is_literal_not_a_wildcard():
    document = allow(condition={"StringEquals": {TEAM: "${aws:ResourceTag/owner}"}})

    assert evaluate([document], GET, POOL, {TEAM: "a*", "aws:ResourceTag/owner": "a*"})
    assert not evaluate([document], GET, POOL, {TEAM: "ab", "aws:ResourceTag/owner": "a*"})


@pytest.mark.parametrize(
    "statement",
    [
        {"Effect": "Allow", "Action": GET, "Resource": POOL, "Condition": {"NumericLessThan": {"x": "1"}}},
        {"Effect": "Allow", "Action": GET, "Resource": POOL, "Principal": "*"},
        {"Effect": "Allow", "Action": GET},
        {"Effect": "Maybe", "Action": GET, "Resource": POOL},
    ],
    ids=["numeric-operator", "principal", "no-resource", "bad-effect"],
)
def test_grammar_not_modelled_is_refused_rather_than_guessed(statement):
    with pytest.raises(PolicyNotModelled):
        evaluate([{"Statement": [statement]}], GET, POOL, {})


# The account's store ----------------------------------------------------------------------------------------


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def iam(clock: FakeClock) -> IamStore:
    return IamStore("111122223333", clock=clock)


def test_a_denied_session_is_told_in_aws_words(iam):
    role = iam.put_role("retention-handler")
    iam.put_role_policy("retention-handler", "pools", allow(resource=OTHER_POOL))
    session = iam.issue_credentials(role, "retention-function")

    message = iam.authorize(session.access_key, GET, POOL, {}, "us-east-1")

    assert message == (
        "User: arn:aws:sts::111122223333:assumed-role/retention-handler/retention-function is not authorized "
        f"to perform: {GET} on resource: {POOL} because no identity-based policy allows the {GET} action"
    )
    assert iam.authorize(session.access_key, GET, OTHER_POOL, {}, "us-east-1") is None


def test_an_explicit_deny_is_named_as_such(iam):
    role = iam.put_role("retention-handler")
    iam.put_role_policy("retention-handler", "pools", allow(resource="*"))
    iam.put_role_policy("retention-handler", "guard", deny())
    session = iam.issue_credentials(role, "retention-function")

    message = iam.authorize(session.access_key, GET, POOL, {}, "us-east-1")

    assert message is not None
    assert message.endswith("with an explicit deny in an identity-based policy")


def test_the_request_context_names_the_principal_and_region(iam):
    role = iam.put_role("retention-handler")
    condition = {
        "StringEquals": {"aws:RequestedRegion": "eu-west-2"},
        "ArnEquals": {"aws:PrincipalArn": role},
    }
    iam.put_role_policy("retention-handler", "pools", allow(condition=condition))
    session = iam.issue_credentials(role, "retention-function")

    assert iam.authorize(session.access_key, GET, POOL, {}, "eu-west-2") is None
    assert iam.authorize(session.access_key, GET, POOL, {}, "us-east-1") is not None


def test_managed_policies_count_while_attached(iam):
    role = iam.put_role("retention-handler")
    managed = "arn:aws:iam::111122223333:policy/pool-access"
    iam.put_managed_policy(managed, allow())
    session = iam.issue_credentials(role, "retention-function")

    iam.attach_role_policy("retention-handler", managed)
    assert iam.authorize(session.access_key, GET, POOL, {}, "us-east-1") is None

    iam.detach_role_policy("retention-handler", managed)
    assert iam.authorize(session.access_key, GET, POOL, {}, "us-east-1") is not None


def test_a_deleted_role_is_allowed_nothing(iam):
    role = iam.put_role("retention-handler")
    iam.put_role_policy("retention-handler", "pools", allow())
    session = iam.issue_credentials(role, "retention-function")

    iam.delete_role("retention-handler")

    assert iam.authorize(session.access_key, GET, POOL, {}, "us-east-1") is not None
    assert not iam.role_exists(role)


def test_a_grant_takes_effect_only_after_propagation(iam, clock):
    iam.propagation_seconds = 5.0
    role = iam.put_role("retention-handler")
    session = iam.issue_credentials(role, "retention-function")
    iam.put_role_policy("retention-handler", "pools", allow())

    clock.now = 4.9
    refused = iam.authorize(session.access_key, GET, POOL, {}, "us-east-1")
    clock.now = 5.0
    granted = iam.authorize(session.access_key, GET, POOL, {}, "us-east-1")

    assert refused is not None
    assert granted is None


def test_a_revocation_propagates_too(iam, clock):
    role = iam.put_role("retention-handler")
    session = iam.issue_credentials(role, "retention-function")
    iam.put_role_policy("retention-handler", "pools", allow())
    iam.propagation_seconds = 3.0
    clock.now = 10.0

    iam.delete_role_policy("retention-handler", "pools")

    clock.now = 12.0
    assert iam.authorize(session.access_key, GET, POOL, {}, "us-east-1") is None
    clock.now = 13.0
    assert iam.authorize(session.access_key, GET, POOL, {}, "us-east-1") is not None


def test_an_unknown_access_key_is_refused(iam):
    assert iam.authorize("AKIDNOBODY", GET, POOL, {}, "us-east-1") is not None
