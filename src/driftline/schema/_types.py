"""Column roles, column kinds, column specs and the :class:`Schema` itself."""

from __future__ import annotations

import warnings
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING, Any

from driftline.errors import SchemaError

if TYPE_CHECKING:
    from driftline.schema._infer import InferenceConfig
    from driftline.schema._table import Table

__all__ = ["ColumnKind", "ColumnRole", "ColumnSpec", "Schema", "SchemaInferenceWarning"]


class SchemaInferenceWarning(UserWarning):
    """A column kind was inferred in a way that is worth a second look.

    The message names the column, what was inferred, why, and how to
    override it (``kinds={'zip': 'numerical'}``).
    """


class ColumnKind(StrEnum):
    """What kind of values a column holds; it decides how the column is profiled.

    Examples
    --------
    >>> ColumnKind("numerical") is ColumnKind.NUMERICAL
    True
    """

    NUMERICAL = "numerical"
    CATEGORICAL = "categorical"
    BOOLEAN = "boolean"
    TEXT = "text"
    DATETIME = "datetime"


class ColumnRole(StrEnum):
    """What a column means to the model.

    Examples
    --------
    >>> [r.value for r in ColumnRole][:3]
    ['feature', 'prediction', 'score']
    """

    FEATURE = "feature"
    PREDICTION = "prediction"
    SCORE = "score"
    TARGET = "target"
    ID = "id"
    TIMESTAMP = "timestamp"
    SEGMENT = "segment"


_SINGLE_ROLES = (ColumnRole.TARGET, ColumnRole.PREDICTION, ColumnRole.ID, ColumnRole.TIMESTAMP)


def _parse_enum(enum: type[StrEnum], value: object, what: str) -> Any:
    try:
        return enum(str(value))
    except ValueError as exc:
        allowed = ", ".join(repr(m.value) for m in enum)
        raise SchemaError(f"{what}: expected one of {allowed}, got {value!r}") from exc


@dataclass(frozen=True, init=False)
class ColumnSpec:
    """One column of a :class:`Schema`: its name, role and kind.

    Parameters
    ----------
    name : str
        Column name, any string.
    role : ColumnRole
        What the column means (feature, target, ...); strings are accepted.
    kind : ColumnKind
        What values it holds (numerical, categorical, ...); strings are accepted.

    Examples
    --------
    >>> ColumnSpec("age", "feature", "numerical").kind
    <ColumnKind.NUMERICAL: 'numerical'>
    """

    name: str
    role: ColumnRole
    kind: ColumnKind

    def __init__(self, name: str, role: ColumnRole | str, kind: ColumnKind | str) -> None:
        if not isinstance(name, str):
            raise SchemaError(f"column name: expected a string, got {type(name).__name__} {name!r}")
        object.__setattr__(self, "name", name)
        object.__setattr__(self, "role", _parse_enum(ColumnRole, role, f"column {name!r}: role"))
        object.__setattr__(self, "kind", _parse_enum(ColumnKind, kind, f"column {name!r}: kind"))

    def to_dict(self) -> dict[str, str]:
        """Return a JSON-safe dict ``{'name', 'role', 'kind'}``."""
        return {"name": self.name, "role": self.role.value, "kind": self.kind.value}


@dataclass(frozen=True)
class Schema:
    """The columns of a data set with their roles and kinds.

    Build it by hand, or with :meth:`Schema.infer` from a frame. Every column
    that is not declared with another role is a feature.

    Parameters
    ----------
    columns : tuple of ColumnSpec
        The columns, in frame order. Names must be unique, and at most one
        column may be the target, the prediction, the id or the timestamp.

    Raises
    ------
    SchemaError
        On duplicate names or a second target/prediction/id/timestamp.

    Examples
    --------
    >>> s = Schema((ColumnSpec("x", "feature", "numerical"), ColumnSpec("y", "target", "boolean")))
    >>> s.names, s.target.name, [c.name for c in s.features]
    (('x', 'y'), 'y', ['x'])
    >>> Schema.from_dict(s.to_dict()) == s
    True
    """

    columns: tuple[ColumnSpec, ...]

    def __post_init__(self) -> None:
        cols = tuple(self.columns)
        for c in cols:
            if not isinstance(c, ColumnSpec):
                raise SchemaError(f"columns: expected ColumnSpec items, got {type(c).__name__}")
        object.__setattr__(self, "columns", cols)
        seen: set[str] = set()
        for c in cols:
            if c.name in seen:
                raise SchemaError(f"columns: duplicate column name {c.name!r}")
            seen.add(c.name)
        for role in _SINGLE_ROLES:
            named = [c.name for c in cols if c.role is role]
            if len(named) > 1:
                raise SchemaError(
                    f"columns: expected at most one {role.value} column, got {len(named)} ({named})"
                )

    # -- accessors ---------------------------------------------------------------------------
    @property
    def names(self) -> tuple[str, ...]:
        """Column names in order."""
        return tuple(c.name for c in self.columns)

    @property
    def features(self) -> tuple[ColumnSpec, ...]:
        """The feature columns."""
        return self.by_role(ColumnRole.FEATURE)

    def by_role(self, role: ColumnRole | str) -> tuple[ColumnSpec, ...]:
        """Return the columns with ``role`` (a :class:`ColumnRole` or its value)."""
        r = _parse_enum(ColumnRole, role, "role")
        return tuple(c for c in self.columns if c.role is r)

    def get(self, name: str) -> ColumnSpec | None:
        """Return the spec of column ``name``, or ``None`` when there is none."""
        for c in self.columns:
            if c.name == name:
                return c
        return None

    def __getitem__(self, name: str) -> ColumnSpec:
        spec = self.get(name)
        if spec is None:
            raise KeyError(name)
        return spec

    def __contains__(self, name: object) -> bool:
        return any(c.name == name for c in self.columns)

    def __iter__(self) -> Iterator[ColumnSpec]:
        return iter(self.columns)

    def __len__(self) -> int:
        return len(self.columns)

    @property
    def target(self) -> ColumnSpec | None:
        """The target (label) column, or ``None``."""
        found = self.by_role(ColumnRole.TARGET)
        return found[0] if found else None

    @property
    def prediction(self) -> ColumnSpec | None:
        """The prediction column, or ``None``."""
        found = self.by_role(ColumnRole.PREDICTION)
        return found[0] if found else None

    @property
    def scores(self) -> tuple[ColumnSpec, ...]:
        """The score (predicted probability) columns, in order."""
        return self.by_role(ColumnRole.SCORE)

    # -- serialisation -----------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Return a JSON-safe dict; :meth:`from_dict` restores it exactly."""
        return {"columns": [c.to_dict() for c in self.columns]}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Schema:
        """Rebuild a schema from :meth:`to_dict` output.

        Raises
        ------
        SchemaError
            When ``data`` lacks ``columns`` or a column lacks a field.
        """
        try:
            cols = data["columns"]
            return cls(tuple(ColumnSpec(c["name"], c["role"], c["kind"]) for c in cols))
        except (KeyError, TypeError) as exc:
            raise SchemaError(
                f"schema dict: expected {{'columns': [{{'name', 'role', 'kind'}}, ...]}}, "
                f"missing or bad field {exc}"
            ) from exc

    # -- inference ---------------------------------------------------------------------------
    @classmethod
    def infer(
        cls,
        frame: Any,
        *,
        target: str | None = None,
        prediction: str | None = None,
        scores: Sequence[str] = (),
        id: str | None = None,
        timestamp: str | None = None,
        segments: Sequence[str] = (),
        kinds: Mapping[str, str] | None = None,
        roles: Mapping[str, str] | None = None,
        config: InferenceConfig | None = None,
    ) -> Schema:
        """Infer a schema from a frame; roles are declared, kinds inferred unless declared.

        Every column not given another role is a feature. Kinds follow
        :class:`~driftline.schema.InferenceConfig` (floats are numerical;
        integers are numerical unless they have few distinct values; bools and
        two-valued ``{0, 1}`` / ``{'yes', 'no'}`` columns are boolean; strings
        are categorical, or text when long and mostly unique; datetimes and
        ISO-8601 strings are datetime). Every inference that is not obvious is
        reported with a :class:`SchemaInferenceWarning` that says how to
        override it. No column is dropped.

        Parameters
        ----------
        frame : DataFrame-like
            Anything :func:`~driftline.schema.as_table` accepts.
        target, prediction, id, timestamp : str, optional
            Name of the column with that role.
        scores, segments : sequence of str
            Names of score (probability) columns and segment columns.
        kinds : mapping of str to str, optional
            Declared kinds, e.g. ``{'zip': 'categorical'}``; not inferred.
        roles : mapping of str to str, optional
            Further declared roles, e.g. ``{'region': 'segment'}``.
        config : InferenceConfig, optional
            Thresholds of the inference; defaults to ``InferenceConfig()``.

        Raises
        ------
        SchemaError
            When a declared column is not in the frame, or a column gets two roles.
        EmptyDataError
            When the frame has no rows.

        Examples
        --------
        >>> s = Schema.infer({"x": [0.5, 1.5, 2.5], "y": [True, False, True]}, target="y")
        >>> [(c.name, c.role.value, c.kind.value) for c in s]
        [('x', 'feature', 'numerical'), ('y', 'target', 'boolean')]
        """
        from driftline.schema._table import as_table

        table = as_table(frame)
        declared = _declared_roles(
            table,
            (
                (target, ColumnRole.TARGET, "target"),
                (prediction, ColumnRole.PREDICTION, "prediction"),
                *((s, ColumnRole.SCORE, "scores") for s in _names(scores, "scores")),
                (id, ColumnRole.ID, "id"),
                (timestamp, ColumnRole.TIMESTAMP, "timestamp"),
                *((s, ColumnRole.SEGMENT, "segments") for s in _names(segments, "segments")),
                *((name, role, "roles") for name, role in (roles or {}).items()),
            ),
        )
        declared_kinds = _declared_kinds(table, kinds)
        return cls(tuple(_column_specs(table, declared, declared_kinds, config)))


def _declared_roles(
    table: Table, declarations: Iterable[tuple[str | None, ColumnRole | str, str]]
) -> dict[str, ColumnRole]:
    """The role of each declared column, from ``(name or None, role, argument)`` in order."""
    declared: dict[str, ColumnRole] = {}
    for name, role, what in declarations:
        if name is None:
            continue
        r = _parse_enum(ColumnRole, role, f"{what}: role of {name!r}")
        if name not in table:
            raise SchemaError(
                f"{what}: column {name!r} is not in the frame (columns: {_preview(table.names)})"
            )
        if name in declared and declared[name] is not r:
            raise SchemaError(
                f"{what}: column {name!r} is declared both {declared[name].value} and {r.value}"
            )
        declared[name] = r
    return declared


def _declared_kinds(table: Table, kinds: Mapping[str, str] | None) -> dict[str, ColumnKind]:
    """The declared kinds of :meth:`Schema.infer`, checked against ``table``."""
    declared_kinds: dict[str, ColumnKind] = {}
    for name, kind in (kinds or {}).items():
        if name not in table:
            raise SchemaError(
                f"kinds: column {name!r} is not in the frame (columns: {_preview(table.names)})"
            )
        declared_kinds[name] = _parse_enum(ColumnKind, kind, f"kinds: kind of {name!r}")
    return declared_kinds


def _column_specs(
    table: Table,
    declared: Mapping[str, ColumnRole],
    declared_kinds: Mapping[str, ColumnKind],
    config: InferenceConfig | None,
) -> list[ColumnSpec]:
    """One spec per column of ``table``: declared kinds kept, the others inferred.

    Warns (for the caller of :meth:`Schema.infer`) where an inference is worth a look.
    """
    from driftline.schema._infer import InferenceConfig as _Config
    from driftline.schema._infer import infer_kind

    cfg = config if config is not None else _Config()
    specs = []
    for name in table.names:
        role = declared.get(name, ColumnRole.FEATURE)
        if name in declared_kinds:
            kind = declared_kinds[name]
        else:
            kind, why = infer_kind(table, name, cfg)
            if why is not None and role is not ColumnRole.ID:
                warnings.warn(
                    f"column {name!r}: inferred {kind.value} because {why}; "
                    f"if that is wrong, declare it, e.g. "
                    f"kinds={{{name!r}: {_ALTERNATIVE[kind].value!r}}}",
                    SchemaInferenceWarning,
                    stacklevel=3,
                )
        specs.append(ColumnSpec(name, role, kind))
    return specs


_ALTERNATIVE = {
    ColumnKind.NUMERICAL: ColumnKind.CATEGORICAL,
    ColumnKind.CATEGORICAL: ColumnKind.NUMERICAL,
    ColumnKind.BOOLEAN: ColumnKind.CATEGORICAL,
    ColumnKind.TEXT: ColumnKind.CATEGORICAL,
    ColumnKind.DATETIME: ColumnKind.CATEGORICAL,
}


def _names(value: Sequence[str], what: str) -> tuple[str, ...]:
    if isinstance(value, str):
        return (value,)
    return tuple(value)


def _preview(names: Sequence[str], limit: int = 8) -> str:
    shown = ", ".join(repr(n) for n in names[:limit])
    return shown + (", ..." if len(names) > limit else "")
