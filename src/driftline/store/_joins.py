"""Labels and business events, joined to predictions by id whenever they arrive.

A label or event whose prediction is stored already joins at once and updates
the window of the prediction's time; one that arrives first waits
(``joined = false``) and joins when its prediction arrives. The first label
of a prediction id wins; later ones are ignored.
"""

from __future__ import annotations

from collections import defaultdict
from typing import Any

import numpy as np
import sqlalchemy as sa

from driftline.store import tables as t
from driftline.store._chunks import predictions_by_id
from driftline.store._performance import PerformanceCounts
from driftline.store._sql import bucket_start, chunks, dumps, insert_ignore, loads
from driftline.store.windows import add_events, add_performance
from driftline.wire import EventsBatch, LabelsBatch, PredictionsBatch

__all__ = ["join_pending", "store_events", "store_labels"]


class _Pairs:
    """Joined (label, prediction, score, delay) pairs of one bucket, counted in one go."""

    def __init__(self) -> None:
        self.labels: list[Any] = []
        self.predictions: list[Any] = []
        self.scores: list[Any] = []
        self.delays: list[float] = []

    def add(self, label: Any, prediction: Any, score: Any, delay: float) -> None:
        self.labels.append(label)
        self.predictions.append(prediction)
        self.scores.append(score)
        self.delays.append(delay)

    def counts(self) -> PerformanceCounts:
        out = PerformanceCounts()
        out.update(
            labels=self.labels, predictions=self.predictions, scores=self.scores, delays=self.delays
        )
        return out


def _pending(conn: sa.Connection, model_id: int) -> tuple[bool, bool]:
    """Whether labels, and events, of the model wait for their predictions (one query)."""

    def waiting(table: sa.Table) -> Any:
        return sa.exists().where(table.c.model_id == model_id, table.c.joined.is_(False))

    row = conn.execute(sa.select(waiting(t.labels), waiting(t.events))).one()
    return bool(row[0]), bool(row[1])


def join_pending(
    conn: sa.Connection,
    batch: PredictionsBatch,
    model_id: int,
    version_id: int,
    ts: np.ndarray,
    bucket_seconds: int,
    now: float,
) -> None:
    """Join the waiting labels and events of a new predictions batch."""
    has_labels, has_events = _pending(conn, model_id)
    if not (has_labels or has_events):
        return
    first: dict[str, int] = {}
    for i, pid in enumerate(batch.ids):
        first.setdefault(pid, i)
    unique_ids = list(first)
    if has_labels:
        lb = t.labels
        found: list[Any] = []
        for part in chunks(unique_ids):
            found.extend(
                conn.execute(
                    sa.select(lb.c.id, lb.c.prediction_id, lb.c.label, lb.c.time).where(
                        lb.c.model_id == model_id,
                        lb.c.joined.is_(False),
                        lb.c.prediction_id.in_(part),
                    )
                ).all()
            )
        pairs: dict[float, _Pairs] = defaultdict(_Pairs)
        for r in found:
            i = first[r.prediction_id]
            pairs[bucket_start(float(ts[i]), bucket_seconds)].add(
                loads(r.label),
                batch.predictions[i],
                None if batch.scores is None else batch.scores[i],
                r.time - float(ts[i]),
            )
        for start in sorted(pairs):
            add_performance(
                conn, version_id=version_id, bucket_seconds=bucket_seconds, start=start,
                counts=pairs[start].counts(), now=now,
            )  # fmt: skip
        for part in chunks([r.id for r in found]):
            conn.execute(lb.update().where(lb.c.id.in_(part)).values(joined=True))
    if has_events:
        ev = t.events
        pending: list[Any] = []
        for part in chunks(unique_ids):
            pending.extend(
                conn.execute(
                    sa.select(ev.c.id, ev.c.prediction_id, ev.c.name, ev.c.value).where(
                        ev.c.model_id == model_id,
                        ev.c.joined.is_(False),
                        ev.c.prediction_id.in_(part),
                    )
                ).all()
            )
        totals: dict[tuple[str, float], list[float]] = defaultdict(lambda: [0, 0.0])
        for r in pending:
            key = (r.name, bucket_start(float(ts[first[r.prediction_id]]), bucket_seconds))
            totals[key][0] += 1
            totals[key][1] += r.value
        for name, start in sorted(totals):
            n, value = totals[(name, start)]
            add_events(
                conn, model_id=model_id, version_key=version_id, name=name,
                bucket_seconds=bucket_seconds, start=start, n=int(n), value_sum=value,
            )  # fmt: skip
        for part in chunks([r.id for r in pending]):
            conn.execute(ev.update().where(ev.c.id.in_(part)).values(joined=True))


def store_labels(
    conn: sa.Connection,
    batch: LabelsBatch,
    model_id: int,
    bucket_seconds: int,
    now: float,
) -> int:
    """Store new labels, join those whose predictions exist; return labels stored."""
    first: dict[str, int] = {}
    for i, pid in enumerate(batch.ids):
        first.setdefault(pid, i)
    existing: set[str] = set()
    for part in chunks(list(first)):
        existing.update(
            conn.execute(
                sa.select(t.labels.c.prediction_id).where(
                    t.labels.c.model_id == model_id, t.labels.c.prediction_id.in_(part)
                )
            ).scalars()
        )
    new = {pid: i for pid, i in first.items() if pid not in existing}
    if not new:
        return 0
    times = batch.timestamps
    label_time = {pid: (times[i] if times is not None else now) for pid, i in new.items()}
    pairs: dict[tuple[int, float], _Pairs] = defaultdict(_Pairs)
    joined: set[str] = set()
    for m in predictions_by_id(conn, model_id, list(new)):
        i = new[m.prediction_id]
        joined.add(m.prediction_id)
        key = (m.model_version_id, bucket_start(m.time, bucket_seconds))
        pairs[key].add(batch.labels[i], m.output, m.score, label_time[m.prediction_id] - m.time)
    rows = [
        {
            "model_id": model_id,
            "prediction_id": pid,
            "label": dumps(batch.labels[i]),
            "time": label_time[pid],
            "joined": pid in joined,
        }
        for pid, i in new.items()
    ]
    inserted = insert_ignore(conn, t.labels, rows, index=["model_id", "prediction_id"])
    for version_id, start in sorted(pairs):
        add_performance(
            conn, version_id=version_id, bucket_seconds=bucket_seconds, start=start,
            counts=pairs[(version_id, start)].counts(), now=now,
        )  # fmt: skip
    return inserted


def store_events(
    conn: sa.Connection, batch: EventsBatch, model_id: int, bucket_seconds: int
) -> int:
    """Store business events and count the joined ones in their windows."""
    ids = list(dict.fromkeys(e.prediction_id for e in batch.events if e.prediction_id))
    found: dict[str, tuple[int, float]] = {}
    for m in predictions_by_id(conn, model_id, ids):
        found.setdefault(m.prediction_id, (m.model_version_id, m.time))
    totals: dict[tuple[int, str, float], list[float]] = defaultdict(lambda: [0, 0.0])
    rows = []
    for e in batch.events:
        key: tuple[int, str, float] | None
        if e.prediction_id is None:  # tied to no prediction: counted at its own time
            key = (0, e.name, bucket_start(e.timestamp, bucket_seconds))
        elif e.prediction_id in found:
            version_id, pred_time = found[e.prediction_id]
            key = (version_id, e.name, bucket_start(pred_time, bucket_seconds))
        else:
            key = None  # waits for its prediction
        if key is not None:
            totals[key][0] += 1
            totals[key][1] += e.value
        rows.append(
            {
                "model_id": model_id,
                "prediction_id": e.prediction_id,
                "name": e.name,
                "value": e.value,
                "time": e.timestamp,
                "joined": key is not None,
            }
        )
    conn.execute(t.events.insert(), rows)
    for version_key, name, start in sorted(totals):
        n, value = totals[(version_key, name, start)]
        add_events(
            conn, model_id=model_id, version_key=version_key, name=name,
            bucket_seconds=bucket_seconds, start=start, n=int(n), value_sum=value,
        )  # fmt: skip
    return len(rows)
