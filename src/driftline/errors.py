"""The one exception tree of driftline.

Every error driftline raises on purpose derives from :class:`DriftlineError`.
Errors caused by bad input also derive from :class:`ValueError`, so code that
already catches ``ValueError`` keeps working. Third-party errors are translated
at the boundary with ``raise ... from exc``.

::

    DriftlineError
     ├── InputError (ValueError)            bad argument or bad data from the caller
     │    ├── SchemaError                   a column role or kind that does not fit the data
     │    ├── EmptyDataError                no rows, or no usable column
     │    └── IncompatibleProfilesError     profiles that cannot be merged or compared
     ├── InsufficientDataError              too few values to compute a statistic
     ├── ConfigError (ValueError)           settings or environment variables that do not parse
     ├── StoreError                         the database failed or holds unexpected data
     │    └── NotFoundError (LookupError)   a project, model, run... that does not exist
     ├── CheckpointError                    a checkpoint file that is missing, corrupt or outside its root
     ├── AuthError                          missing or invalid credentials
     │    └── PermissionDeniedError         valid credentials without the needed role
     ├── TransportError                     the SDK could not reach the server
     └── DeliveryError                      a notification channel could not deliver

Example
-------
>>> from driftline.errors import DriftlineError, InputError
>>> issubclass(InputError, ValueError) and issubclass(InputError, DriftlineError)
True
"""

from __future__ import annotations

__all__ = [
    "AuthError",
    "CheckpointError",
    "ConfigError",
    "DeliveryError",
    "DriftlineError",
    "EmptyDataError",
    "IncompatibleProfilesError",
    "InputError",
    "InsufficientDataError",
    "NotFoundError",
    "PermissionDeniedError",
    "SchemaError",
    "StoreError",
    "TransportError",
]


class DriftlineError(Exception):
    """Root of every error that driftline raises on purpose."""


class InputError(DriftlineError, ValueError):
    """A bad argument or bad data from the caller; the message names the field."""


class SchemaError(InputError):
    """A declared or inferred column role or kind that does not fit the data."""


class EmptyDataError(InputError):
    """A frame with no rows, or with no column that can be used."""


class IncompatibleProfilesError(InputError):
    """Two profiles that cannot be merged or compared (different kinds or bins)."""


class InsufficientDataError(DriftlineError):
    """Too few values to compute a statistic; never reported as ``0.0``."""


class ConfigError(DriftlineError, ValueError):
    """A setting or environment variable that does not parse."""


class StoreError(DriftlineError):
    """The database failed, or holds data driftline did not expect."""


class NotFoundError(StoreError, LookupError):
    """A project, model, version, run or other object that does not exist."""


class CheckpointError(DriftlineError):
    """A checkpoint or manifest that is missing, corrupt, or points outside its root."""


class AuthError(DriftlineError):
    """Missing or invalid credentials."""


class PermissionDeniedError(AuthError):
    """Valid credentials that lack the role needed for the operation."""


class TransportError(DriftlineError):
    """The SDK could not deliver data to the server."""


class DeliveryError(DriftlineError):
    """A notification channel could not deliver a notification.

    ``retryable`` is ``True`` for connection errors, timeouts, 5xx and 429
    (with ``retry_after`` seconds when the receiver said so), ``False`` for
    errors a retry cannot fix (4xx, a blocked address, bad credentials).
    """

    def __init__(self, message: str, *, retryable: bool, retry_after: float | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
