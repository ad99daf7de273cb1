"""The handler's errors: each message is fit to show a person as the CloudFormation Reason, saying what is
wrong and what to do."""

from __future__ import annotations


class RetentionError(Exception):
    """A failure whose message is the Reason."""


class InvalidRequest(RetentionError):
    """The declared identifier or retention cannot be applied as given."""


class PoolNotFound(RetentionError):
    pass


class AccessDenied(RetentionError):
    def __init__(self, message: str, action: str = "") -> None:
        super().__init__(message)
        self.action = action


class PoolFailed(RetentionError):
    """The pool is, or ended, in status FAILED or DELETING."""


class PoolNotSettled(RetentionError):
    """The pool stayed busy past the time this invocation had."""


class RetentionOverwritten(RetentionError):
    """Another writer kept changing the pool's retention while this resource applied its own."""


class InvalidRecord(RetentionError):
    """The pool carries record tags this handler did not write."""


class DeclarationConflict(RetentionError):
    """Another live declaration holds the pool at another retention."""


class ServiceError(RetentionError):
    """The API kept failing or answered with an error this handler has no remedy for."""


class StaleEvent(RetentionError):
    """An event CloudFormation has moved past: acting on it would apply what nothing declares any more."""
