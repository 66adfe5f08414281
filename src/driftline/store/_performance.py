"""Mergeable performance counts of the labelled predictions of one window.

When a label joins a prediction (whichever arrives first) the pair updates the
counts of the window that holds the prediction's time. The counts are small,
JSON-serialisable and mergeable, so windows of any size are merged from
buckets: a confusion matrix (capped at :data:`MAX_CLASSES` cells), sums for
regression errors, score histograms per class for ROC AUC and a log-loss sum
for binary scores, and the label delay.

Example
-------
>>> c = PerformanceCounts()
>>> c.update(labels=[1, 0, 1], predictions=[1, 0, 0], scores=[0.9, 0.2, 0.4], delays=[5.0, 5.0, 8.0])
>>> c.metrics()["accuracy"]
0.6666666666666666
>>> PerformanceCounts.from_dict(c.to_dict()) == c
True
"""

from __future__ import annotations

import json
import math
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

__all__ = ["MAX_CLASSES", "SCORE_BINS", "PerformanceCounts"]

MAX_CLASSES = 100
"""Most distinct (label, prediction) cells kept in a confusion matrix; beyond it
classification metrics are not reported (``confusion_overflow`` is set)."""
SCORE_BINS = 1000
"""Equal-width bins on [0, 1] of the per-class score histograms; ROC AUC from
them is exact up to ties within a bin of width 1/SCORE_BINS."""
LOG_LOSS_EPS = 1e-15
"""Scores are clipped to [eps, 1 - eps] before the log loss, as scikit-learn does."""


def _discrete(v: Any) -> bool:
    return isinstance(v, str | bool | int) and not isinstance(v, float)


def _number(v: Any) -> bool:
    return isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)


def _binary(v: Any) -> int | None:
    if v is True or (v == 1 and _number(v)):
        return 1
    if v is False or (v == 0 and _number(v)):
        return 0
    return None


def _positive_score(score: Any) -> float | None:
    if isinstance(score, list):
        if len(score) == 2 and _number(score[1]):
            score = score[1]
        else:
            return None
    if _number(score) and 0.0 <= score <= 1.0:
        return float(score)
    return None


@dataclass
class PerformanceCounts:
    """Running performance counts; ``update`` with joined pairs, ``merge`` windows."""

    n: int = 0
    delay_sum: float = 0.0
    delay_max: float = 0.0
    n_classified: int = 0
    confusion: dict[str, int] = field(default_factory=dict)
    confusion_overflow: bool = False
    n_regression: int = 0
    sum_err: float = 0.0
    sum_abs_err: float = 0.0
    sum_sq_err: float = 0.0
    sum_y: float = 0.0
    sum_y2: float = 0.0
    n_scored: int = 0
    log_loss_sum: float = 0.0
    pos_hist: dict[int, int] = field(default_factory=dict)
    neg_hist: dict[int, int] = field(default_factory=dict)

    def update(
        self,
        *,
        labels: Sequence[Any],
        predictions: Sequence[Any],
        scores: Sequence[Any] | None,
        delays: Sequence[float],
    ) -> None:
        """Add joined pairs: a label, its prediction, its score (or None) and delay (s)."""
        for i, (y, p) in enumerate(zip(labels, predictions, strict=True)):
            self.n += 1
            d = max(float(delays[i]), 0.0)
            self.delay_sum += d
            self.delay_max = max(self.delay_max, d)
            if _discrete(y) and _discrete(p):
                self.n_classified += 1
                key = json.dumps([y, p])
                if key in self.confusion or len(self.confusion) < MAX_CLASSES:
                    self.confusion[key] = self.confusion.get(key, 0) + 1
                else:
                    self.confusion_overflow = True
            elif _number(y) and _number(p):
                self.n_regression += 1
                e = float(p) - float(y)
                self.sum_err += e
                self.sum_abs_err += abs(e)
                self.sum_sq_err += e * e
                self.sum_y += float(y)
                self.sum_y2 += float(y) * float(y)
            s = _positive_score(scores[i]) if scores is not None else None
            b = _binary(y)
            if s is not None and b is not None:
                self.n_scored += 1
                q = min(max(s, LOG_LOSS_EPS), 1.0 - LOG_LOSS_EPS)
                self.log_loss_sum -= math.log(q) if b else math.log(1.0 - q)
                k = min(int(s * SCORE_BINS), SCORE_BINS - 1)
                hist = self.pos_hist if b else self.neg_hist
                hist[k] = hist.get(k, 0) + 1

    def merge(self, other: PerformanceCounts) -> PerformanceCounts:
        """Return the counts of both windows together (neither is changed)."""
        out = PerformanceCounts.from_dict(self.to_dict())
        out.n += other.n
        out.delay_sum += other.delay_sum
        out.delay_max = max(out.delay_max, other.delay_max)
        out.n_classified += other.n_classified
        out.confusion_overflow = out.confusion_overflow or other.confusion_overflow
        for cell, v in other.confusion.items():
            if cell in out.confusion or len(out.confusion) < MAX_CLASSES:
                out.confusion[cell] = out.confusion.get(cell, 0) + v
            else:
                out.confusion_overflow = True
        for name in ("n_regression", "n_scored"):
            setattr(out, name, getattr(out, name) + getattr(other, name))
        for name in ("sum_err", "sum_abs_err", "sum_sq_err", "sum_y", "sum_y2", "log_loss_sum"):
            setattr(out, name, getattr(out, name) + getattr(other, name))
        for mine, theirs in ((out.pos_hist, other.pos_hist), (out.neg_hist, other.neg_hist)):
            for k, v in theirs.items():
                mine[k] = mine.get(k, 0) + v
        return out

    def to_dict(self) -> dict[str, Any]:
        """A JSON-safe dict; :meth:`from_dict` restores it exactly."""
        return {
            "n": self.n,
            "delay_sum": self.delay_sum,
            "delay_max": self.delay_max,
            "n_classified": self.n_classified,
            "confusion": dict(self.confusion),
            "confusion_overflow": self.confusion_overflow,
            "n_regression": self.n_regression,
            "sum_err": self.sum_err,
            "sum_abs_err": self.sum_abs_err,
            "sum_sq_err": self.sum_sq_err,
            "sum_y": self.sum_y,
            "sum_y2": self.sum_y2,
            "n_scored": self.n_scored,
            "log_loss_sum": self.log_loss_sum,
            "pos_hist": {str(k): v for k, v in self.pos_hist.items()},
            "neg_hist": {str(k): v for k, v in self.neg_hist.items()},
        }

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> PerformanceCounts:
        """Rebuild counts from :meth:`to_dict` output."""
        d = dict(data)
        d["confusion"] = dict(d.get("confusion", {}))
        d["pos_hist"] = {int(k): int(v) for k, v in d.get("pos_hist", {}).items()}
        d["neg_hist"] = {int(k): int(v) for k, v in d.get("neg_hist", {}).items()}
        return cls(**d)

    # -- read out ---------------------------------------------------------------------------
    @property
    def mean_delay(self) -> float | None:
        """Mean seconds between a prediction and its label; ``None`` without labels."""
        return self.delay_sum / self.n if self.n else None

    def metrics(self) -> dict[str, float]:
        """Realised metrics of the joined pairs; a metric without data is left out.

        Classification: ``accuracy`` and ``precision``, ``recall``, ``f1`` (for the
        positive class 1/True when labels are binary, macro-averaged otherwise);
        binary scores: ``roc_auc`` and ``log_loss``; regression: ``mae``,
        ``rmse``, ``bias`` (mean of prediction - label) and ``r2``. Higher is
        better except for ``log_loss``, ``mae`` and ``rmse`` (lower is better).
        """
        out: dict[str, float] = {}
        if self.n_classified and not self.confusion_overflow:
            out.update(self._classification())
        if self.n_regression:
            n = self.n_regression
            out["mae"] = self.sum_abs_err / n
            out["rmse"] = math.sqrt(self.sum_sq_err / n)
            out["bias"] = self.sum_err / n
            ss_tot = self.sum_y2 - self.sum_y * self.sum_y / n
            if ss_tot > 0:
                out["r2"] = 1.0 - self.sum_sq_err / ss_tot
        if self.n_scored:
            out["log_loss"] = self.log_loss_sum / self.n_scored
            auc = self._roc_auc()
            if auc is not None:
                out["roc_auc"] = auc
        return out

    def _classification(self) -> dict[str, float]:
        cells = [(json.loads(k), v) for k, v in self.confusion.items()]
        total = sum(v for _, v in cells)
        binary = all(_binary(y) is not None and _binary(p) is not None for (y, p), _ in cells)
        if binary:
            tp = sum(v for (y, p), v in cells if _binary(y) == 1 and _binary(p) == 1)
            pp = sum(v for (_, p), v in cells if _binary(p) == 1)
            ap = sum(v for (y, _), v in cells if _binary(y) == 1)
            correct = sum(v for (y, p), v in cells if _binary(y) == _binary(p))
            prec = tp / pp if pp else 0.0
            rec = tp / ap if ap else 0.0
            f1 = 2 * prec * rec / (prec + rec) if prec + rec else 0.0
            return {"accuracy": correct / total, "precision": prec, "recall": rec, "f1": f1}
        key = json.dumps
        correct = sum(v for (y, p), v in cells if key(y) == key(p))
        classes = sorted({key(y) for (y, _), _ in cells} | {key(p) for (_, p), _ in cells})
        precs, recs, f1s = [], [], []
        for c in classes:
            tp = sum(v for (y, p), v in cells if key(y) == c and key(p) == c)
            pp = sum(v for (_, p), v in cells if key(p) == c)
            ap = sum(v for (y, _), v in cells if key(y) == c)
            prec = tp / pp if pp else 0.0
            rec = tp / ap if ap else 0.0
            precs.append(prec)
            recs.append(rec)
            f1s.append(2 * prec * rec / (prec + rec) if prec + rec else 0.0)
        return {
            "accuracy": correct / total,
            "precision": sum(precs) / len(classes),
            "recall": sum(recs) / len(classes),
            "f1": sum(f1s) / len(classes),
        }

    def _roc_auc(self) -> float | None:
        n_pos = sum(self.pos_hist.values())
        n_neg = sum(self.neg_hist.values())
        if not n_pos or not n_neg:
            return None
        below = 0  # negatives in lower bins
        wins = 0.0
        for k in range(SCORE_BINS):
            pos = self.pos_hist.get(k, 0)
            neg = self.neg_hist.get(k, 0)
            wins += pos * below + 0.5 * pos * neg
            below += neg
        return wins / (n_pos * n_neg)
