"""What a monitor watches: one pydantic model per signal kind, discriminated by ``kind``.

Example
-------
>>> from pydantic import TypeAdapter
>>> s = TypeAdapter(SignalSpec).validate_python({"kind": "drift", "column": "income"})
>>> s.method, s.describe()
('jensen_shannon', "drift of 'income' (jensen_shannon)")
"""

from __future__ import annotations

from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from driftline.alerts._expression import expression_names, parse_expression
from driftline.alerts._problems import FieldProblems
from driftline.errors import InputError

__all__ = [
    "QUALITY_MEASURES",
    "BusinessRateSignal",
    "DatasetDriftSignal",
    "DriftSignal",
    "ErrorRateSignal",
    "ExpressionSignal",
    "InputSignalSpec",
    "LatencySignal",
    "PerformanceSignal",
    "QualitySignal",
    "SignalSpec",
    "TrainingSignal",
    "VolumeSignal",
]

#: Data-quality measures a ``quality`` signal can watch (share of rows for ``*_rate``).
QUALITY_MEASURES = (
    "missing_rate",
    "out_of_range_rate",
    "new_category_rate",
    "mean",
    "std",
    "min",
    "max",
    "distinct_count",
)

#: Short metric names accepted for ``performance`` signals and what they stand for.
METRIC_ALIASES = {
    "mae": "mean_absolute_error",
    "rmse": "root_mean_squared_error",
    "mape": "mean_absolute_percentage_error",
    "auc": "roc_auc",
}


class _Signal(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    @property
    def sample_noun(self) -> str:
        """What ``n`` of a point counts, for "only 40 predictions, need 100"."""
        return "predictions"

    def describe(self) -> str:
        """A short human name of the signal, used in reasons."""
        raise NotImplementedError  # pragma: no cover

    @property
    def needs_labels(self) -> bool:
        """Whether the signal is computed from labels (label coverage applies)."""
        return False


class DriftSignal(_Signal):
    """Drift of one column against the reference; higher is more drift (or lower p-value).

    ``method`` is a registered drift method (``driftline.stats.drift.available_methods()``).
    """

    kind: Literal["drift"] = "drift"
    column: str = Field(min_length=1)
    method: str = "jensen_shannon"

    @field_validator("method")
    @classmethod
    def _known_method(cls, v: str) -> str:
        from driftline.stats.drift import available_methods

        if v not in available_methods():
            raise ValueError(f"expected one of {', '.join(available_methods())}, got {v!r}")
        return v

    def describe(self) -> str:
        return f"drift of {self.column!r} ({self.method})"


class DatasetDriftSignal(_Signal):
    """Share of the (listed, else all) feature columns that drifted, in [0, 1]; lower is better."""

    kind: Literal["dataset_drift"] = "dataset_drift"
    columns: list[str] | None = None
    method: str | None = None

    @field_validator("method")
    @classmethod
    def _known_method(cls, v: str | None) -> str | None:
        return None if v is None else DriftSignal._known_method(v)

    def describe(self) -> str:
        return "share of drifted columns"


class QualitySignal(_Signal):
    """A data-quality measure of one column, or of the whole row set when ``column`` is unset."""

    kind: Literal["quality"] = "quality"
    measure: Literal[
        "missing_rate",
        "out_of_range_rate",
        "new_category_rate",
        "mean",
        "std",
        "min",
        "max",
        "distinct_count",
    ]
    column: str | None = None

    def describe(self) -> str:
        where = f"of {self.column!r}" if self.column else "over all columns"
        return f"{self.measure.replace('_', ' ')} {where}"


class PerformanceSignal(_Signal):
    """A model metric per window: realised from joined labels, or estimated without them.

    ``metric`` is a name from ``driftline.stats.metrics.available_metrics()``; ``mae``,
    ``rmse``, ``mape`` and ``auc`` are accepted and stored under their full names.
    """

    kind: Literal["performance"] = "performance"
    metric: str
    estimated: bool = False

    @field_validator("metric")
    @classmethod
    def _known_metric(cls, v: str) -> str:
        from driftline.stats.metrics import available_metrics

        v = METRIC_ALIASES.get(v, v)
        if v not in available_metrics():
            raise ValueError(f"expected one of {', '.join(available_metrics())}, got {v!r}")
        return v

    @property
    def sample_noun(self) -> str:
        return "predictions" if self.estimated else "labelled predictions"

    @property
    def needs_labels(self) -> bool:
        return not self.estimated

    def describe(self) -> str:
        return f"{'estimated ' if self.estimated else ''}{self.metric}"


class LatencySignal(_Signal):
    """A latency quantile in seconds per window (``quantile`` in (0, 1), e.g. 0.99); lower is better."""

    kind: Literal["latency"] = "latency"
    quantile: float = Field(default=0.99, gt=0.0, lt=1.0)

    def describe(self) -> str:
        return f"latency p{self.quantile * 100:g}"


class ErrorRateSignal(_Signal):
    """Share of predictions logged with an error, in [0, 1]; lower is better."""

    kind: Literal["error_rate"] = "error_rate"

    def describe(self) -> str:
        return "error rate"


class VolumeSignal(_Signal):
    """Number of predictions per window (both a drop and a surge can matter)."""

    kind: Literal["volume"] = "volume"

    def describe(self) -> str:
        return "volume"


class BusinessRateSignal(_Signal):
    """Business events (e.g. ``click``) joined to predictions, per prediction, in a window."""

    kind: Literal["business_rate"] = "business_rate"
    event: str = Field(min_length=1)

    def describe(self) -> str:
        return f"{self.event!r} rate"


class TrainingSignal(_Signal):
    """A metric logged by training runs (``metric`` key), for the runs that ``run``/``tags`` select.

    ``run`` is a run name (``None``: every run of the project); ``tags`` must all match.
    ``aggregate`` folds the steps inside a window into one value.
    """

    kind: Literal["training"] = "training"
    metric: str = Field(min_length=1)
    run: str | None = None
    tags: dict[str, str] = Field(default_factory=dict)
    aggregate: Literal["last", "min", "max", "mean"] = "last"

    @property
    def sample_noun(self) -> str:
        return "steps"

    def describe(self) -> str:
        who = f" of run {self.run!r}" if self.run else ""
        return f"training {self.metric!r}{who}"


InputSignalSpec = Annotated[
    DriftSignal
    | DatasetDriftSignal
    | QualitySignal
    | PerformanceSignal
    | LatencySignal
    | ErrorRateSignal
    | VolumeSignal
    | BusinessRateSignal
    | TrainingSignal,
    Field(discriminator="kind"),
]


class ExpressionSignal(_Signal):
    """An arithmetic expression over named input signals, computed per window.

    Allowed: numbers, the input names, ``+ - * /``, unary minus and ``abs``,
    ``min``, ``max``. The expression is parsed with :mod:`ast`, never ``eval``-ed.
    A window's ``n`` is the smallest ``n`` of its inputs; division by zero gives
    no value for that window.
    """

    kind: Literal["expression"] = "expression"
    expr: str
    inputs: dict[str, InputSignalSpec]

    @model_validator(mode="after")
    def _names_are_inputs(self) -> ExpressionSignal:
        try:
            tree = parse_expression(self.expr, None)
        except InputError as exc:
            raise FieldProblems([(("expr",), str(exc))]) from exc
        unknown = sorted(expression_names(tree) - set(self.inputs))
        if unknown:
            raise FieldProblems(
                [
                    (
                        ("expr",),
                        f"names {', '.join(map(repr, unknown))}, which are not in inputs "
                        f"({', '.join(sorted(self.inputs)) or 'none'})",
                    )
                ]
            )
        return self

    def describe(self) -> str:
        return f"{self.expr!r}"


SignalSpec = Annotated[
    DriftSignal
    | DatasetDriftSignal
    | QualitySignal
    | PerformanceSignal
    | LatencySignal
    | ErrorRateSignal
    | VolumeSignal
    | BusinessRateSignal
    | TrainingSignal
    | ExpressionSignal,
    Field(discriminator="kind"),
]
