"""Early checks of the names an SDK object is created with (the only place the SDK raises)."""

from __future__ import annotations

import re

from driftline.errors import InputError

__all__ = ["check_name"]

MAX_NAME_LENGTH = 200
"""Same as ``driftline.store.payloads.MAX_NAME_LENGTH`` (not imported: pydantic is slow to load)."""

_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:/@+=-]*$")
"""The wire pattern of project, model and version names (see ``driftline.store.payloads``)."""


def check_name(what: str, value: object) -> str:
    """Return ``value`` when it is a valid project/model/version name, else raise :class:`InputError`.

    Example
    -------
    >>> check_name("model", "ranker-v2")
    'ranker-v2'
    >>> check_name("model", "my model")
    Traceback (most recent call last):
    ...
    driftline.errors.InputError: model: expected a name of letters, digits and _.:/@+=- starting with a letter or digit (at most 200 characters), got 'my model'
    """
    if not isinstance(value, str) or len(value) > MAX_NAME_LENGTH or not _NAME.match(value):
        raise InputError(
            f"{what}: expected a name of letters, digits and _.:/@+=- starting with a letter "
            f"or digit (at most {MAX_NAME_LENGTH} characters), got {value!r}"
        )
    return value
