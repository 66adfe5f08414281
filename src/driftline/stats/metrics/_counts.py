"""Mergeable classification counts: a confusion matrix, score histograms and running sums."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

import numpy as np
from numpy.typing import ArrayLike, NDArray

from driftline.errors import IncompatibleProfilesError, InputError, InsufficientDataError
from driftline.stats.metrics._classification import accuracy_from_confusion, prf_from_confusion
from driftline.stats.metrics._probabilistic import check_n_bins, ece_from_bins
from driftline.stats.metrics._ranking import (
    ap_from_tied_counts,
    auc_from_tied_counts,
    auc_tie_bound,
)
from driftline.stats.metrics._score_bins import (
    ScoreMode,
    ScoreSummary,
    calibration_fine_bins,
    one_vs_rest_bins,
    summarise_binary,
    summarise_multiclass,
)
from driftline.stats.metrics._validation import (
    _preview,
    _to_python,
    as_label_array,
    as_probabilities,
    check_length,
    check_not_empty,
    check_same_kind,
    default_pos_label,
    encode_to,
    is_string_kind,
)

ECE_BINS = 10
"""Bins of the ``expected_calibration_error`` reported by :meth:`ClassificationCounts.metrics`."""

_FORMAT = "driftline.classification_counts/1"


def _labels_array(labels: Sequence[object]) -> NDArray[Any]:
    return np.asarray(list(labels)) if labels else np.asarray([], dtype=np.int64)


def _check_scalar_label(value: object, name: str) -> None:
    if not isinstance(value, str | int | float | bool | np.generic):
        raise InputError(f"{name}: expected an int, bool, float or str label, got {value!r}")


class ClassificationCounts:
    """Mergeable summary of labelled predictions that yields classification metrics.

    It holds a confusion matrix (exact accuracy, precision, recall, F1), running
    sums of per-row log loss and Brier terms (exact), and histograms of scores on
    ``n_score_bins`` equal-width bins of [0, 1] (ROC AUC, average precision and
    calibration error). ``merge(counts(a), counts(b))`` equals ``counts(a ∪ b)``
    up to floating-point summation order.

    Approximations from binning: scores in one bin are treated as tied. For ROC
    AUC this moves the value by at most ``sum_b P_b N_b / (2 P N)`` (positives
    and negatives sharing a bin; see :meth:`auc_error_bound`), below 0.01 with the
    default 200 bins on continuous scores. Average precision has no such
    worst-case bound; its error is of the same order on continuous scores (tested
    below 0.01 with 200 bins). The calibration error with :data:`ECE_BINS` bins
    is exact when ``n_score_bins`` is a multiple of it (except for scores lying
    exactly on a bin edge); otherwise it is reported as None.

    Parameters
    ----------
    labels : sequence, optional
        The allowed labels; a label outside them is an error. Their order is the
        column order of 2-d scores. Default: discovered from the data, and 2-d
        score columns follow the sorted labels (``predict_proba``'s order).
    n_score_bins : int, default 200
        Histogram bins for scores.
    pos_label : object, optional
        Positive class of binary metrics and of 1-d scores. Default: the greater
        of two labels, or 1 while only one numeric label has been seen.

    Examples
    --------
    >>> a = ClassificationCounts()
    >>> a.update([0, 1, 1, 0], [0, 1, 0, 0], scores=[0.2, 0.9, 0.4, 0.1])
    >>> b = ClassificationCounts()
    >>> b.update([1, 0], [1, 1], scores=[0.8, 0.6])
    >>> m = a.merge(b).metrics()
    >>> m["accuracy"], m["precision"], m["roc_auc"]
    (0.6666666666666666, 0.6666666666666666, 0.8888888888888888)
    """

    def __init__(
        self,
        labels: Sequence[object] | None = None,
        n_score_bins: int = 200,
        pos_label: object | None = None,
    ) -> None:
        check_n_bins(n_score_bins, "n_score_bins")
        if pos_label is not None:
            _check_scalar_label(pos_label, "pos_label")
        self._n_bins = int(n_score_bins)
        self._pos_label_arg = _to_python(pos_label)
        self._labels_arg: list[object] | None = None
        self._labels: list[object] = []
        if labels is not None:
            arr = as_label_array(np.asarray(list(labels)), "labels")
            if arr.size == 0 or np.unique(arr).size != arr.size:
                raise InputError(f"labels: expected distinct labels, got {_preview(arr)}")
            self._labels_arg = [_to_python(v) for v in arr]
            self._labels = sorted(self._labels_arg)  # type: ignore[type-var]
        k = len(self._labels)
        self._matrix = np.zeros((k, k), dtype=np.int64)
        self._mode: ScoreMode | None = None
        self._pos_label: object | None = None
        self._n_scored = 0
        self._log_loss_sum = 0.0
        self._brier_sum = 0.0
        self._hist = np.zeros((0, self._n_bins), dtype=np.int64)
        self._prob_sum = np.zeros((0, self._n_bins), dtype=np.float64)

    # ------------------------------------------------------------------ state
    @property
    def n(self) -> int:
        """Number of rows counted."""
        return int(self._matrix.sum())

    @property
    def n_scored(self) -> int:
        """Number of rows that came with scores (score-based metrics use only these)."""
        return self._n_scored

    @property
    def labels(self) -> list[object]:
        """Labels seen or allowed, sorted; rows and columns of :meth:`confusion_matrix`."""
        return list(self._labels)

    def confusion_matrix(self) -> tuple[NDArray[np.int64], NDArray[Any]]:
        """The confusion matrix (true labels as rows) and its sorted labels."""
        return self._matrix.copy(), _labels_array(self._labels)

    def _columns(self) -> list[object]:
        """Labels in the column order of 2-d scores."""
        return list(self._labels_arg) if self._labels_arg is not None else list(self._labels)

    # ----------------------------------------------------------------- update
    def update(self, y_true: ArrayLike, y_pred: ArrayLike, scores: ArrayLike | None = None) -> None:
        """Add a batch of rows.

        Parameters
        ----------
        y_true, y_pred : array-like of shape (n,)
            True and predicted labels.
        scores : array-like of shape (n,) or (n, k), optional
            1-d: probability of the positive class (binary). 2-d: one probability
            column per label, in the order of ``labels`` (sorted labels when not
            given). Rows without scores do not enter the score-based metrics.

        Raises
        ------
        InputError
            Bad shapes or lengths, a label outside the given ``labels``, labels of
            another kind than before, scores outside [0, 1], a third label after
            1-d scores, or a new label after 2-d scores. The object is unchanged.
        """
        t = as_label_array(y_true, "y_true")
        p = as_label_array(y_pred, "y_pred")
        check_length(t.shape[0], p, "y_pred", "y_true")
        check_same_kind(t, p, "y_true", "y_pred")
        known = _labels_array(self._labels)
        if known.size:
            check_same_kind(known, t if t.size else p, "the labels seen so far", "y_true/y_pred")
        if t.shape[0] == 0:
            if scores is not None:
                as_probabilities(scores, "scores", 0)
            return
        t_idx, t_found = encode_to(t, known)
        p_idx, p_found = encode_to(p, known)
        labels, matrix = self._labels, self._matrix
        if not (t_found.all() and p_found.all()):
            new = np.unique(np.concatenate([t[~t_found], p[~p_found]]))
            if self._labels_arg is not None:
                raise InputError(
                    f"y_true/y_pred: expected only the given labels {_preview(known)}, "
                    f"got {_preview(new)}"
                )
            labels = sorted(self._labels + [_to_python(v) for v in new])  # type: ignore[type-var]
            matrix = self._grown_matrix(labels)
            t_idx, _ = encode_to(t, _labels_array(labels))
            p_idx, _ = encode_to(p, _labels_array(labels))
        k = len(labels)
        self._check_growth(labels)
        pending = None if scores is None else self._score_update(t, t_idx, labels, scores)
        matrix = matrix + np.bincount(t_idx * k + p_idx, minlength=k * k).reshape(k, k)
        self._labels, self._matrix = labels, matrix
        if pending is not None:
            self._apply(*pending)

    def _grown_matrix(self, labels: list[object]) -> NDArray[np.int64]:
        k = len(labels)
        pos, _ = encode_to(_labels_array(self._labels), _labels_array(labels))
        matrix = np.zeros((k, k), dtype=np.int64)
        matrix[np.ix_(pos, pos)] = self._matrix
        return matrix

    def _check_growth(self, labels: list[object]) -> None:
        if len(labels) == len(self._labels):
            return
        if self._mode == "multiclass":
            raise InputError(
                f"y_true/y_pred: new labels after 2-d scores over {self._labels!r}; "
                "pass labels= up front"
            )
        if self._mode == "binary" and len(labels) > 2:
            raise InputError(f"y_true/y_pred: a third label after 1-d (binary) scores: {labels!r}")

    def _binary_pos(self, labels: list[object]) -> object:
        arr = _labels_array(labels)
        pos = self._pos_label if self._pos_label is not None else self._pos_label_arg
        if pos is not None and arr.size and isinstance(pos, str) != is_string_kind(arr):
            raise InputError(
                f"pos_label: expected a label of the same kind as {labels!r}, got {pos!r}"
            )
        return default_pos_label(arr, pos, "1-d scores")

    def _score_update(
        self, t: NDArray[Any], t_idx: NDArray[np.intp], labels: list[object], scores: ArrayLike
    ) -> tuple[ScoreMode, object, ScoreSummary]:
        s = as_probabilities(scores, "scores", t.shape[0])
        if s.ndim == 1:
            if self._mode == "multiclass":
                raise InputError("scores: expected 2-d scores as in earlier updates, got 1-d")
            pos = self._binary_pos(labels)
            is_pos = np.asarray(t == pos, dtype=bool)
            return "binary", pos, summarise_binary(s, is_pos, self._n_bins)
        if self._mode == "binary":
            raise InputError("scores: expected 1-d scores as in earlier updates, got 2-d")
        columns = list(self._labels_arg) if self._labels_arg is not None else labels
        if s.shape[1] != len(columns):
            raise InputError(
                f"scores: expected one column per label {columns!r}, got {s.shape[1]} columns"
            )
        # reorder the columns to the sorted labels, so every array is indexed alike
        order, _ = encode_to(_labels_array(labels), _labels_array(columns))
        return "multiclass", None, summarise_multiclass(s[:, order], t_idx, self._n_bins)

    def _apply(self, mode: ScoreMode, pos: object, summary: ScoreSummary) -> None:
        if self._mode is None:
            self._hist, self._prob_sum = summary.hist, summary.prob_sum
        else:
            self._hist = self._hist + summary.hist
            self._prob_sum = self._prob_sum + summary.prob_sum
        self._mode, self._pos_label = mode, pos
        self._log_loss_sum += summary.log_loss_sum
        self._brier_sum += summary.brier_sum
        self._n_scored += summary.n

    # ------------------------------------------------------------------ merge
    def merge(self, other: ClassificationCounts) -> ClassificationCounts:
        """Return a new summary of the rows of both; labels are unioned.

        Raises
        ------
        IncompatibleProfilesError
            Different ``n_score_bins``, label kinds, positive classes or score
            kinds (1-d against 2-d), or 2-d scores over different labels.
        """
        if not isinstance(other, ClassificationCounts):
            raise IncompatibleProfilesError(
                f"other: expected ClassificationCounts, got {type(other).__name__}"
            )
        if self._n_bins != other._n_bins:
            raise IncompatibleProfilesError(
                f"other: expected n_score_bins={self._n_bins}, got {other._n_bins}"
            )
        mine, theirs = _labels_array(self._labels), _labels_array(other._labels)
        if mine.size and theirs.size and is_string_kind(mine) != is_string_kind(theirs):
            raise IncompatibleProfilesError(
                f"other: expected labels like {self._labels!r}, got {other._labels!r}"
            )
        pos_arg = _same("pos_label", self._pos_label_arg, other._pos_label_arg)
        pos = _same("resolved positive class", self._pos_label, other._pos_label)
        mode = _same("score kind", self._mode, other._mode)
        if self._mode == other._mode == "multiclass" and self._columns() != other._columns():
            raise IncompatibleProfilesError(
                f"other: 2-d scores over {other._columns()!r}, expected {self._columns()!r}"
            )
        given = None
        if mode == "multiclass":
            given = (self if self._mode == "multiclass" else other)._labels_arg
        elif self._labels_arg is not None or other._labels_arg is not None:
            given = list(self._labels_arg or [])
            for v in (other._labels_arg or []) + self._labels + other._labels:
                if v not in given:
                    given.append(v)
        out = ClassificationCounts(given, self._n_bins, pos_arg)
        out._labels = sorted(set(self._labels) | set(other._labels))  # type: ignore[type-var]
        out._check_mode_labels(self, other)
        out._matrix = self._grown_into(out._labels) + other._grown_into(out._labels)
        out._mode, out._pos_label = mode, pos
        for part in (self, other):
            if part._mode is not None:
                out._hist = out._hist + part._hist if out._hist.size else part._hist.copy()
                out._prob_sum = (
                    out._prob_sum + part._prob_sum if out._prob_sum.size else part._prob_sum.copy()
                )
        out._n_scored = self._n_scored + other._n_scored
        out._log_loss_sum = self._log_loss_sum + other._log_loss_sum
        out._brier_sum = self._brier_sum + other._brier_sum
        return out

    def _check_mode_labels(self, a: ClassificationCounts, b: ClassificationCounts) -> None:
        for part in (a, b):
            if part._mode == "multiclass" and part._labels != self._labels:
                raise IncompatibleProfilesError(
                    f"other: 2-d scores over {part._labels!r} cannot take labels {self._labels!r}"
                )
            if part._mode == "binary" and len(self._labels) > 2:
                raise IncompatibleProfilesError(
                    f"other: 1-d (binary) scores cannot take labels {self._labels!r}"
                )

    def _grown_into(self, labels: list[object]) -> NDArray[np.int64]:
        return self._grown_matrix(labels) if labels != self._labels else self._matrix.copy()

    # ---------------------------------------------------------------- metrics
    def metrics(self) -> dict[str, float | None]:
        """Every metric computable from the counts; None where undefined.

        Keys are the registry names (:func:`~driftline.stats.metrics.available_metrics`):
        ``accuracy``; ``precision``, ``recall``, ``f1`` for the positive class (None
        with more than two labels, or when the ratio has a zero denominator);
        ``precision_micro`` ... ``f1_weighted`` (a class with a zero denominator
        counts 0, as scikit-learn's ``zero_division=0``); ``roc_auc``,
        ``average_precision``, ``log_loss``, ``brier_score_loss`` and
        ``expected_calibration_error`` (scored rows only; None without scores).
        :meth:`reasons` says why each None is None.
        """
        return self._compute()[0]

    def reasons(self) -> dict[str, str]:
        """For each metric that :meth:`metrics` reports as None, the reason."""
        return self._compute()[1]

    def _compute(self) -> tuple[dict[str, float | None], dict[str, str]]:
        values: dict[str, float | None] = {}
        reasons: dict[str, str] = {}
        m, classes = self._matrix, _labels_array(self._labels)
        jobs: list[tuple[str, Callable[[], float]]] = [
            ("accuracy", lambda: accuracy_from_confusion(m))
        ]
        for metric in ("precision", "recall", "f1"):
            jobs.append((metric, lambda metric=metric: self._binary_prf(metric)))  # type: ignore[misc]
            for avg in ("micro", "macro", "weighted"):
                jobs.append(
                    (
                        f"{metric}_{avg}",
                        lambda metric=metric, avg=avg: prf_from_confusion(m, classes, metric, avg),  # type: ignore[misc]
                    )
                )
        jobs += [
            ("roc_auc", lambda: self._ranking(auc_from_tied_counts, need_negatives=True)),
            ("average_precision", lambda: self._ranking(ap_from_tied_counts, need_negatives=False)),
            ("log_loss", lambda: self._scored_mean(self._log_loss_sum)),
            ("brier_score_loss", lambda: self._scored_mean(self._brier_sum)),
            ("expected_calibration_error", lambda: self.expected_calibration_error(ECE_BINS)),
        ]
        for name, job in jobs:
            try:
                values[name] = float(job())
            except (InsufficientDataError, InputError) as exc:
                values[name], reasons[name] = None, str(exc)
        return values, reasons

    def _binary_prf(self, metric: str) -> float:
        if len(self._labels) > 2:
            raise InputError(
                f"{metric}: needs at most 2 labels, got {len(self._labels)}; see {metric}_macro"
            )
        check_not_empty(self.n, "y_true")
        pos = self._binary_pos(self._labels)
        tp = fp = fn = 0
        if pos in self._labels:
            i = self._labels.index(pos)
            tp = int(self._matrix[i, i])
            fp = int(self._matrix[:, i].sum()) - tp
            fn = int(self._matrix[i, :].sum()) - tp
        den = {"precision": tp + fp, "recall": tp + fn, "f1": 2 * tp + fp + fn}[metric]
        if den == 0:
            what = {"precision": "predicted", "recall": "true", "f1": "true or predicted"}[metric]
            raise InsufficientDataError(f"{metric}: no {what} rows of the positive class {pos!r}")
        return (2 * tp if metric == "f1" else tp) / den

    def _need_scores(self) -> ScoreMode:
        if self._mode is None:
            raise InsufficientDataError("scores: no scores were given to update()")
        return self._mode

    def _scored_mean(self, total: float) -> float:
        self._need_scores()
        return total / self._n_scored

    def _pos_neg(self) -> list[tuple[object, NDArray[np.float64], NDArray[np.float64]]]:
        """(class, positives per bin, negatives per bin) for each one-vs-rest problem."""
        return one_vs_rest_bins(self._need_scores(), self._hist, self._labels, self._pos_label)

    def _ranking(self, kernel: Callable[..., float], need_negatives: bool) -> float:
        out = []
        for label, pos, neg in self._pos_neg():
            if pos.sum() == 0 or (need_negatives and neg.sum() == 0):
                which = "positive" if pos.sum() == 0 else "negative"
                raise InsufficientDataError(f"scores: no {which} rows for class {label!r}")
            out.append(kernel(pos, neg))
        return float(np.mean(out))

    def auc_error_bound(self) -> float:
        """Largest possible gap between the binned ROC AUC and the exact one.

        ``mean over classes of sum_b P_b N_b / (2 P N)``: only pairs of a positive
        and a negative in the same bin can be misordered, each by one half.
        """
        return float(np.mean([auc_tie_bound(pos, neg) for _, pos, neg in self._pos_neg()]))

    def expected_calibration_error(self, n_bins: int = ECE_BINS) -> float:
        """Expected calibration error on ``n_bins`` equal-width bins; lower is better.

        Exact (as :func:`~driftline.stats.metrics.expected_calibration_error`)
        when ``n_bins`` divides ``n_score_bins``; otherwise InputError.
        """
        check_n_bins(n_bins)
        if self._n_bins % n_bins:
            raise InputError(
                f"n_bins: expected a divisor of n_score_bins={self._n_bins}, got {n_bins}"
            )
        fine = calibration_fine_bins(
            self._need_scores(), self._hist, self._prob_sum, len(self._labels)
        )
        return ece_from_bins(fine.reshape(3, n_bins, -1).sum(axis=2))

    # ---------------------------------------------------------- serialisation
    def to_dict(self) -> dict[str, Any]:
        """JSON-safe state; :meth:`from_dict` restores it exactly."""
        return {
            "format": _FORMAT,
            "labels": list(self._labels),
            "given_labels": None if self._labels_arg is None else list(self._labels_arg),
            "pos_label": self._pos_label_arg,
            "resolved_pos_label": self._pos_label,
            "n_score_bins": self._n_bins,
            "matrix": self._matrix.tolist(),
            "score_mode": self._mode,
            "n_scored": self._n_scored,
            "log_loss_sum": self._log_loss_sum,
            "brier_sum": self._brier_sum,
            "score_hist": self._hist.tolist(),
            "prob_sum": self._prob_sum.tolist(),
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> ClassificationCounts:
        """Rebuild from :meth:`to_dict` output; InputError when ``d`` is malformed."""
        if not isinstance(d, dict) or d.get("format") != _FORMAT:
            got = d.get("format") if isinstance(d, dict) else type(d).__name__
            raise InputError(f"d: expected a dict with format {_FORMAT!r}, got {got!r}")
        try:
            out = cls(d["given_labels"], int(d["n_score_bins"]), d["pos_label"])
            out._labels = list(d["labels"])
            k, nb = len(out._labels), out._n_bins
            out._matrix = np.asarray(d["matrix"], dtype=np.int64).reshape(k, k)
            out._mode = d["score_mode"]
            out._pos_label = d["resolved_pos_label"]
            out._n_scored = int(d["n_scored"])
            out._log_loss_sum = float(d["log_loss_sum"])
            out._brier_sum = float(d["brier_sum"])
            rows = {None: 0, "binary": 2, "multiclass": 2 * k + 2}[out._mode]
            out._hist = np.asarray(d["score_hist"], dtype=np.int64).reshape(rows, nb)
            out._prob_sum = np.asarray(d["prob_sum"], dtype=np.float64).reshape(min(rows, 1), nb)
        except (KeyError, TypeError, ValueError) as exc:
            raise InputError(f"d: malformed ClassificationCounts state ({exc})") from exc
        return out

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, ClassificationCounts):
            return NotImplemented
        return self.to_dict() == other.to_dict()

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"ClassificationCounts(n={self.n}, labels={self._labels!r}, scores={self._mode})"


def _same(what: str, a: Any, b: Any) -> Any:
    """``a`` or ``b`` where one is None; both when equal; else IncompatibleProfilesError."""
    if a is None:
        return b
    if b is not None and a != b:
        raise IncompatibleProfilesError(f"other: expected {what} {a!r}, got {b!r}")
    return a
