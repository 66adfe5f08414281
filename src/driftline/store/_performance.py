"""Mergeable performance counts of the labelled predictions of one window.

When a label joins a prediction (whichever arrives first) the pair updates the
counts of the window that holds the prediction's time. The counts wrap the
mergeable summaries of :mod:`driftline.stats.metrics` so that windows report
the same metrics, computed the same way, as reports do: pairs of discrete
values (strings, booleans, integers) go to a
:class:`~driftline.stats.metrics.ClassificationCounts`, pairs of numbers to a
:class:`~driftline.stats.metrics.RegressionCounts`; the label delay is summed
alongside.

Example
-------
>>> c = PerformanceCounts()
>>> c.update(labels=[1, 0, 1], predictions=[1, 0, 0], scores=[0.9, 0.2, 0.4], delays=[5.0, 5.0, 8.0])
>>> c.metrics()["accuracy"], c.mean_delay
(0.6666666666666666, 6.0)
>>> PerformanceCounts.from_dict(c.to_dict()) == c
True
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from driftline.errors import InputError

__all__ = ["MAX_CLASSES", "PerformanceCounts"]

MAX_CLASSES = 100
"""Most distinct labels counted as classes in one window; integer labels beyond
it are counted as regression targets, other labels are skipped."""


def _discrete(v: Any) -> bool:
    return isinstance(v, str | bool | int)


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _positive_score(score: Any) -> float | None:
    """The positive-class probability of a scalar score or a two-class score list."""
    if isinstance(score, list):
        if len(score) != 2:
            return None
        score = score[1]
    if _number(score) and 0.0 <= score <= 1.0:
        return float(score)
    return None


class PerformanceCounts:
    """Running performance counts; ``update`` with joined pairs, ``merge`` windows.

    Attributes
    ----------
    n : int
        Joined pairs counted.
    n_skipped : int
        Pairs that fit neither classification nor regression (a missing or
        non-numeric value on one side, a mix of label types, too many classes).
    """

    def __init__(self) -> None:
        self.n = 0
        self.n_skipped = 0
        self.delay_sum = 0.0
        self.delay_max = 0.0
        self.classification: Any = None  # ClassificationCounts
        self.regression: Any = None  # RegressionCounts

    # -- update ------------------------------------------------------------------------------
    def update(
        self,
        *,
        labels: Sequence[Any],
        predictions: Sequence[Any],
        scores: Sequence[Any] | None,
        delays: Sequence[float],
    ) -> None:
        """Add joined pairs: a label, its prediction, its score (or None) and delay (s)."""
        n = len(labels)
        if n == 0:
            return
        self.n += n
        d = np.maximum(np.asarray(delays, dtype=np.float64), 0.0)
        self.delay_sum += float(d.sum())
        self.delay_max = max(self.delay_max, float(d.max()))
        cls_rows: list[int] = []
        reg_rows: list[int] = []
        for i in range(n):
            y, p = labels[i], predictions[i]
            if _discrete(y) and _discrete(p):
                cls_rows.append(i)
            elif _number(y) and _number(p):
                reg_rows.append(i)
            else:
                self.n_skipped += 1
        if cls_rows:
            known = set(self.classification.labels) if self.classification is not None else set()
            seen = known | {labels[i] for i in cls_rows} | {predictions[i] for i in cls_rows}
            if len(seen) > MAX_CLASSES:
                ints = [i for i in cls_rows if _number(labels[i]) and _number(predictions[i])]
                self.n_skipped += len(cls_rows) - len(ints)
                reg_rows = sorted(reg_rows + ints)
            else:
                self._classify(cls_rows, labels, predictions, scores)
        if reg_rows:
            from driftline.stats.metrics import RegressionCounts

            if self.regression is None:
                self.regression = RegressionCounts()
            y_true = np.array([labels[i] for i in reg_rows], dtype=np.float64)
            y_pred = np.array([predictions[i] for i in reg_rows], dtype=np.float64)
            self.regression.update(y_true, y_pred)

    def _classify(
        self,
        rows: list[int],
        labels: Sequence[Any],
        predictions: Sequence[Any],
        scores: Sequence[Any] | None,
    ) -> None:
        from driftline.stats.metrics import ClassificationCounts

        if self.classification is None:
            self.classification = ClassificationCounts()
        pos = [_positive_score(scores[i]) if scores is not None else None for i in rows]
        scored = [i for i, s in zip(rows, pos, strict=True) if s is not None]
        unscored = [i for i, s in zip(rows, pos, strict=True) if s is None]
        for part, part_scores in (
            (scored, [s for s in pos if s is not None]),
            (unscored, None),
        ):
            if not part:
                continue
            y = [labels[i] for i in part]
            p = [predictions[i] for i in part]
            try:
                if part_scores is None:
                    self.classification.update(y, p)
                else:
                    self.classification.update(y, p, scores=np.asarray(part_scores))
            except InputError:  # e.g. labels of a type the window has not seen
                self.n_skipped += len(part)

    # -- merge and serialisation -----------------------------------------------------------------
    def merge(self, other: PerformanceCounts) -> PerformanceCounts:
        """Return the counts of both windows together (neither is changed)."""
        out = PerformanceCounts.from_dict(self.to_dict())
        out.n += other.n
        out.n_skipped += other.n_skipped
        out.delay_sum += other.delay_sum
        out.delay_max = max(out.delay_max, other.delay_max)
        for name in ("classification", "regression"):
            mine, theirs = getattr(out, name), getattr(other, name)
            if theirs is None:
                continue
            if mine is None:
                setattr(out, name, type(theirs).from_dict(theirs.to_dict()))
                continue
            try:
                setattr(out, name, mine.merge(theirs))
            except InputError:  # labels that cannot share one confusion matrix
                out.n_skipped += int(theirs.n)
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; :meth:`from_dict` restores it exactly."""
        return {
            "n": self.n,
            "n_skipped": self.n_skipped,
            "delay_sum": self.delay_sum,
            "delay_max": self.delay_max,
            "classification": None
            if self.classification is None
            else self.classification.to_dict(),
            "regression": None if self.regression is None else self.regression.to_dict(),
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PerformanceCounts:
        """Rebuild counts from :meth:`to_dict` output."""
        from driftline.stats.metrics import ClassificationCounts, RegressionCounts

        out = cls()
        out.n = int(data["n"])
        out.n_skipped = int(data["n_skipped"])
        out.delay_sum = float(data["delay_sum"])
        out.delay_max = float(data["delay_max"])
        if data.get("classification") is not None:
            out.classification = ClassificationCounts.from_dict(data["classification"])
        if data.get("regression") is not None:
            out.regression = RegressionCounts.from_dict(data["regression"])
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PerformanceCounts):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"PerformanceCounts(n={self.n}, n_skipped={self.n_skipped})"

    # -- read out ---------------------------------------------------------------------------
    @property
    def mean_delay(self) -> float | None:
        """Mean seconds between a prediction and its label; ``None`` without labels."""
        return self.delay_sum / self.n if self.n else None

    def metrics(self) -> dict[str, float]:
        """Realised metrics of the joined pairs; a metric that cannot be computed is left out.

        The names are those of :mod:`driftline.stats.metrics`: ``accuracy``,
        ``precision``/``recall``/``f1`` (binary, positive class) and their
        ``_micro``/``_macro``/``_weighted`` averages, ``roc_auc``,
        ``average_precision``, ``log_loss``, ``brier_score_loss`` (classification);
        ``mean_absolute_error``, ``root_mean_squared_error``, ``r2``,
        ``mean_error`` ... (regression). ``*_score``-like metrics are better
        when higher, ``*_error`` and ``*_loss`` when lower.
        """
        out: dict[str, float] = {}
        for counts in (self.classification, self.regression):
            if counts is None or counts.n == 0:
                continue
            for name, value in counts.metrics().items():
                if value is not None and math.isfinite(value):
                    out[name] = float(value)
        return out
