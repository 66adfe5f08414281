"""The :class:`Report`: drift, data quality and performance of current data against a reference."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from driftline._version import __version__
from driftline.analysis._compute import (
    ColumnResults,
    ProgressCallback,
    compute_from_profiles,
    compute_performance,
    compute_raw,
)
from driftline.analysis._conditions import Condition, SuiteResult, TestSuite
from driftline.analysis._drift import (
    DEFAULT_DRIFT_SHARE,
    DEFAULT_EXACT_LIMIT,
    apply_benjamini_hochberg,
    make_dataset_drift,
)
from driftline.analysis._inputs import ANALYSED_ROLES, build_schema, side_table
from driftline.analysis._parallel import runner
from driftline.analysis._quality import dataset_quality, duplicate_rows, table_duplicate_rows
from driftline.analysis._results import (
    ColumnDrift,
    DatasetDrift,
    PerformanceResult,
    QualityResult,
)
from driftline.errors import EmptyDataError, InputError, SchemaError

__all__ = ["REPORT_FORMAT", "Report"]

#: The ``format`` field of :meth:`Report.to_dict`; bumped when the JSON layout changes.
REPORT_FORMAT = "driftline.report/1"


def _rows_of(frame: Any) -> int:
    shape = getattr(frame, "shape", None)
    return int(shape[0]) if isinstance(shape, tuple) and shape else 0


def _side_tables(reference: Any, current: Any) -> tuple[Any, Any]:
    """The two sides as tables (``None`` for a profile); large ones converted side by side."""
    if reference is None or current is None:
        ref = None if reference is None else side_table(reference, "reference")
        return ref, None if current is None else side_table(current, "current")
    with runner(min(_rows_of(reference), _rows_of(current)), 2) as run:
        cur_future = run.submit(side_table, current, "current") if run.pool else None
        ref = side_table(reference, "reference")
        cur = cur_future.result() if cur_future else side_table(current, "current")
    return ref, cur


def _duplicates(frame: Any, table: Any) -> int:
    """Duplicate rows of ``frame``, from its table's codes when they suffice."""
    fast = table_duplicate_rows(table) if table is not None else None
    return duplicate_rows(frame) if fast is None else fast


def _no_progress(stage: str, done: int = 0, total: int = 0) -> None:
    return None


def _is_profile(obj: Any) -> bool:
    return type(obj).__name__ == "DatasetProfile" and hasattr(obj, "columns")


class Report:
    """Drift, data quality and performance of ``current`` against ``reference``.

    Computed lazily, once, on first access to a result. Drift is exact on the raw
    values when both sides have at most ``exact_limit`` rows, and computed from
    profiles otherwise (see :mod:`driftline.analysis._drift`); each column's
    result says which (``computed_on``).

    Parameters
    ----------
    reference, current : DataFrame-like or DatasetProfile
        pandas / polars DataFrames, pyarrow Tables, numpy arrays, dicts of
        columns, or :class:`~driftline.profile.DatasetProfile` s (then checks
        that need raw rows, such as duplicates and out-of-range counts, are
        reported as not computable).
    schema : Schema, optional
        Column roles and kinds; inferred from the reference when not given
        (inference notes are kept in :attr:`notes`, not raised as warnings).
    target, prediction : str, optional
        Names of the target (true label / value) and prediction columns.
    scores : sequence of str, optional
        Score (probability) columns: one for a binary model (probability of the
        positive class), or one per class in sorted label order.
    categorical, numerical : sequence of str, optional
        Columns to treat as categorical / numerical whatever their type.
    column_mapping : mapping, optional
        The same settings in one mapping (keys ``target``, ``prediction``,
        ``scores``, ``categorical``, ``numerical``), as in other tools.
    methods : str or mapping of str to str, optional
        Drift method for every column (``"psi"``), or per column
        (``{"age": "psi"}``); default per kind and size (``default_method``).
    thresholds : float or mapping of str to float, optional
        Drift threshold for every column or per column; default the method's.
        Distances drift at ``statistic >= threshold``, tests at adjusted
        ``p < threshold``.
    drift_share : float
        The dataset drifts when at least this share of the feature columns
        drifted (default 0.5).
    exact_limit : int
        Rows per side up to which drift is exact on raw values (default 100,000).
    progress : callable, optional
        Called as ``progress(stage, done, total)`` while computing.
    title : str
        Title of the HTML report.

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> ref = {"a": rng.normal(0, 1, 500), "b": rng.normal(0, 1, 500)}
    >>> cur = {"a": rng.normal(0, 1, 500), "b": rng.normal(2, 1, 500)}
    >>> report = Report(ref, cur)
    >>> [(d.column, d.method, d.status) for d in report.drift]
    [('a', 'ks', 'no_drift'), ('b', 'ks', 'drift')]
    >>> report.dataset_drift.drifted
    True
    """

    _schema: Any
    _n_ref: int
    _n_cur: int
    _dataset_drift: DatasetDrift
    _quality: QualityResult
    _performance: PerformanceResult

    def __init__(
        self,
        reference: Any,
        current: Any,
        schema: Any = None,
        *,
        target: str | None = None,
        prediction: str | None = None,
        scores: Sequence[str] | None = None,
        categorical: Sequence[str] | None = None,
        numerical: Sequence[str] | None = None,
        column_mapping: Mapping[str, Any] | None = None,
        methods: str | Mapping[str, str] | None = None,
        thresholds: float | Mapping[str, float] | None = None,
        drift_share: float = DEFAULT_DRIFT_SHARE,
        exact_limit: int = DEFAULT_EXACT_LIMIT,
        progress: ProgressCallback | None = None,
        title: str = "driftline report",
    ) -> None:
        if column_mapping is not None:
            allowed = {"target", "prediction", "scores", "categorical", "numerical"}
            unknown = sorted(set(column_mapping) - allowed)
            if unknown:
                raise InputError(
                    f"column_mapping: unknown keys {unknown}; expected some of {sorted(allowed)}"
                )
            target = column_mapping.get("target", target)
            prediction = column_mapping.get("prediction", prediction)
            scores = column_mapping.get("scores", scores)
            categorical = column_mapping.get("categorical", categorical)
            numerical = column_mapping.get("numerical", numerical)
        if (
            isinstance(drift_share, bool)
            or not isinstance(drift_share, int | float)
            or not (0.0 <= drift_share <= 1.0)
        ):
            raise InputError(f"drift_share: expected a number in [0, 1], got {drift_share!r}")
        if isinstance(exact_limit, bool) or not isinstance(exact_limit, int) or exact_limit < 0:
            raise InputError(f"exact_limit: expected a non-negative integer, got {exact_limit!r}")
        if methods is not None and not isinstance(methods, str | Mapping):
            raise InputError(
                f"methods: expected a method name or a mapping of column to method name, "
                f"got {type(methods).__name__}"
            )
        from driftline.stats.drift import get_method

        for name in [methods] if isinstance(methods, str) else list((methods or {}).values()):
            get_method(name)  # raises InputError naming the valid methods
        if thresholds is not None and not isinstance(thresholds, int | float | Mapping):
            raise InputError(
                f"thresholds: expected a number or a mapping of column to number, "
                f"got {type(thresholds).__name__}"
            )
        self._reference = reference
        self._current = current
        self._schema_arg = schema
        self._roles = {"target": target, "prediction": prediction}
        self._scores = [scores] if isinstance(scores, str) else list(scores or [])
        self._categorical = categorical
        self._numerical = numerical
        self.methods = methods
        self.thresholds = thresholds
        self.drift_share = float(drift_share)
        self.exact_limit = int(exact_limit)
        self.title = title
        self._progress: ProgressCallback = progress or _no_progress
        self._done = False
        self._suite: SuiteResult | None = None
        self.notes: list[str] = []
        self._drift: list[ColumnDrift] = []
        self._charts: list[dict[str, Any]] = []

    # -- results ------------------------------------------------------------------------
    def compute(self) -> Report:
        """Compute every result now (otherwise done on first access); returns ``self``."""
        if not self._done:
            self._compute()
            self._done = True
        return self

    @property
    def schema(self) -> Any:
        """The schema used (given, or inferred from the reference)."""
        return self.compute()._schema

    @property
    def drift(self) -> list[ColumnDrift]:
        """Per-column drift, features first then prediction/score/target, in schema order."""
        return list(self.compute()._drift)

    @property
    def dataset_drift(self) -> DatasetDrift:
        """The dataset-level verdict over the feature columns."""
        return self.compute()._dataset_drift

    @property
    def quality(self) -> QualityResult:
        """Data quality of the current data against the reference."""
        return self.compute()._quality

    @property
    def performance(self) -> PerformanceResult:
        """Model performance on both sides (needs target and prediction columns)."""
        return self.compute()._performance

    def column(self, name: str) -> ColumnDrift:
        """The drift result of column ``name``."""
        for d in self.drift:
            if d.column == name:
                return d
        raise InputError(f"column: {name!r} is not in the report")

    def check(self, conditions: Sequence[Condition]) -> SuiteResult:
        """Run conditions on this report; the result also shows at the top of the HTML."""
        self._suite = TestSuite(self, conditions).result
        return self._suite

    # -- output --------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """The whole report as plain JSON types (layout :data:`REPORT_FORMAT`)."""
        self.compute()
        return {
            "format": REPORT_FORMAT,
            "driftline_version": __version__,
            "title": self.title,
            "summary": {
                "n_rows_reference": self._n_ref,
                "n_rows_current": self._n_cur,
                "n_columns": len(self._drift),
                "n_drifted": sum(d.status == "drift" for d in self._drift),
                "n_quality_issues": self._quality.n_issues,
                "dataset_drift": self._dataset_drift.drifted,
            },
            "settings": {
                "methods": dict(self.methods)
                if isinstance(self.methods, Mapping)
                else self.methods,
                "thresholds": (
                    dict(self.thresholds)
                    if isinstance(self.thresholds, Mapping)
                    else self.thresholds
                ),
                "drift_share": self.drift_share,
                "exact_limit": self.exact_limit,
            },
            "schema": self._schema.to_dict(),
            "notes": list(self.notes),
            "dataset_drift": self._dataset_drift.to_dict(),
            "drift": [d.to_dict() for d in self._drift],
            "quality": self._quality.to_dict(),
            "performance": self._performance.to_dict(),
            "tests": self._suite.to_dict() if self._suite is not None else None,
        }

    def to_json(self, path: str | Path | None = None, *, indent: int | None = 2) -> str:
        """The report as JSON text; also written to ``path`` when given."""
        text = json.dumps(self.to_dict(), indent=indent, ensure_ascii=False, allow_nan=False)
        if path is not None:
            Path(path).write_text(text, encoding="utf-8")
        return text

    def html(self) -> str:
        """The report as one self-contained HTML page (opens offline)."""
        return self._render_html(self._suite)

    def save_html(self, path: str | Path) -> None:
        """Write :meth:`html` to ``path``."""
        Path(path).write_text(self.html(), encoding="utf-8")

    def _repr_html_(self) -> str:
        return self.html()

    def _render_html(self, suite: SuiteResult | None) -> str:
        from driftline.analysis._html import render_report

        self.compute()
        return render_report(self, suite, self._charts)

    def __repr__(self) -> str:
        if not self._done:
            return f"Report(title={self.title!r}, not computed)"
        dd = self._dataset_drift
        return f"Report({len(self._drift)} columns, {dd.n_drifted} drifted, dataset drift={dd.drifted})"

    # -- computation ---------------------------------------------------------------------
    def _compute(self) -> None:
        progress = self._progress
        ref_is_prof, cur_is_prof = _is_profile(self._reference), _is_profile(self._current)
        ref_table, cur_table = _side_tables(
            None if ref_is_prof else self._reference, None if cur_is_prof else self._current
        )
        self._schema = self._resolve_schema(ref_table)
        ref_names = (
            tuple(ref_table.names)
            if ref_table is not None
            else self._profile_names(self._reference)
        )
        cur_names = (
            tuple(cur_table.names) if cur_table is not None else self._profile_names(self._current)
        )
        self._n_ref = ref_table.n_rows if ref_table is not None else int(self._reference.n_rows)
        self._n_cur = cur_table.n_rows if cur_table is not None else int(self._current.n_rows)
        specs = self._analysed_specs(ref_names, cur_names)
        frames = (
            self._frame_for_duplicates(self._reference, ref_table),
            self._frame_for_duplicates(self._current, cur_table),
        )
        cols, duplicates = self._columns_and_duplicates(specs, ref_table, cur_table, frames)
        self._drift, self._charts = cols.drift, cols.charts
        progress("benjamini-hochberg", 0, 0)
        self._drift = apply_benjamini_hochberg(self._drift)
        self._dataset_drift = make_dataset_drift(self._drift, self.drift_share)
        self._quality = QualityResult(
            dataset=dataset_quality(
                self._n_ref,
                self._n_cur,
                frames[0],
                frames[1],
                tuple(n for n in ref_names if n not in cur_names),
                tuple(n for n in cur_names if n not in ref_names),
                duplicates=duplicates,
            ),
            columns=cols.quality,
        )
        progress("performance", 0, 0)
        self._performance = compute_performance(
            self._schema, ref_table, cur_table, cols.reference_profile, cols.current_profile
        )

    def _analysed_specs(self, ref_names: tuple[str, ...], cur_names: tuple[str, ...]) -> list[Any]:
        """The schema's analysed columns that both sides have, in :data:`ANALYSED_ROLES` order."""
        missing = [c.name for c in self._schema if c.name not in ref_names]
        if missing:
            raise SchemaError(f"schema: columns {missing} are not in the reference")
        specs = [c for c in self._schema if c.role.value in ANALYSED_ROLES and c.name in cur_names]
        if not specs:
            raise EmptyDataError(
                "reference and current: no common column to compare "
                f"(reference: {list(ref_names)[:8]}, current: {list(cur_names)[:8]})"
            )
        order = {r: i for i, r in enumerate(ANALYSED_ROLES)}
        specs.sort(key=lambda c: order[c.role.value])
        return specs

    def _columns_and_duplicates(
        self, specs: list[Any], ref_table: Any, cur_table: Any, frames: tuple[Any, Any]
    ) -> tuple[ColumnResults, tuple[int | None, int | None]]:
        """Per-column results (exact when both sides are raw and small) and duplicate rows."""
        raw = ref_table is not None and cur_table is not None
        exact = raw and max(self._n_ref, self._n_cur) <= self.exact_limit
        with runner(0 if exact else max(self._n_ref, self._n_cur), len(specs)) as run:
            # duplicates first: the longest single tasks, they overlap the per-column work
            dup_futures = [
                None if f is None else run.submit(_duplicates, f, t)
                for f, t in zip(frames, (ref_table, cur_table), strict=True)
            ]
            if exact:
                cols = compute_raw(
                    specs,
                    ref_table,
                    cur_table,
                    methods=self.methods,
                    thresholds=self.thresholds,
                    progress=self._progress,
                )
            else:
                cols = compute_from_profiles(
                    specs,
                    self._schema,
                    self._reference,
                    self._current,
                    ref_table,
                    cur_table,
                    methods=self.methods,
                    thresholds=self.thresholds,
                    progress=self._progress,
                    run=run,
                )
            dup_ref, dup_cur = (None if f is None else f.result() for f in dup_futures)
        return cols, (dup_ref, dup_cur)

    @staticmethod
    def _profile_names(prof: Any) -> tuple[str, ...]:
        return tuple(prof.columns)

    @staticmethod
    def _frame_for_duplicates(frame: Any, table: Any) -> Any:
        if table is None:
            return None
        if type(frame).__module__.split(".")[0] == "pandas":
            return frame
        return table

    def _resolve_schema(self, ref_table: Any) -> Any:
        if self._schema_arg is not None:
            return self._schema_arg
        if ref_table is None:
            schema = getattr(self._reference, "schema", None)
            if schema is None:
                raise InputError("schema: a reference profile without a schema needs schema=...")
            return schema
        return build_schema(
            ref_table,
            target=self._roles["target"],
            prediction=self._roles["prediction"],
            scores=self._scores,
            categorical=self._categorical,
            numerical=self._numerical,
            notes=self.notes,
        )
