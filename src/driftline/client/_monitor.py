"""Production monitoring: :class:`ModelMonitor` logs predictions, labels and events."""

from __future__ import annotations

import itertools
import threading
import time
import uuid
from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any, cast

from driftline.client._connect import connect
from driftline.client._convert import column_list, feature_columns, is_single_row, timestamps_list
from driftline.client._pipeline import ClientStats
from driftline.config import Settings
from driftline.errors import InputError
from driftline.wire import check_name

if TYPE_CHECKING:
    import httpx  # imported by HttpDelivery, when a monitor or run sends over HTTP

__all__ = ["ModelMonitor"]

_OPTIONAL = ("scores", "latency_ms", "errors")


def _predictions_payload(key: Hashable, items: list[Any]) -> dict[str, Any]:
    project, model, version, names, present, _shape = cast(Any, key)
    out: dict[str, Any] = {
        "project": project,
        "model": model,
        "version": version,
        "ids": [],
        "timestamps": [],
        "features": {n: [] for n in names},
        "predictions": [],
    }
    for opt in present:
        out[opt] = []
    for item in items:
        out["ids"].extend(item["ids"])
        out["timestamps"].extend(item["timestamps"])
        out["predictions"].extend(item["predictions"])
        for n in names:
            out["features"][n].extend(item["features"][n])
        for opt in present:
            out[opt].extend(item[opt])
    return out


def _labels_payload(key: Hashable, items: list[Any]) -> dict[str, Any]:
    project, model = cast(Any, key)
    out: dict[str, Any] = {
        "project": project,
        "model": model,
        "ids": [],
        "labels": [],
        "timestamps": [],
    }
    for ids, labels, ts in items:
        out["ids"].extend(ids)
        out["labels"].extend(labels)
        out["timestamps"].extend(ts)
    return out


def _events_payload(key: Hashable, items: list[Any]) -> dict[str, Any]:
    project, model = cast(Any, key)
    return {"project": project, "model": model, "events": list(items)}


def _reference_payload(key: Hashable, items: list[Any]) -> dict[str, Any]:
    return dict(items[-1])


_ENCODERS = {
    "predictions": _predictions_payload,
    "labels": _labels_payload,
    "events": _events_payload,
    "reference": _reference_payload,
}


class ModelMonitor:
    """Logs what one deployed model version sees and answers; create one per process.

    Calls return at once and never raise: inputs are converted and checked on
    the caller's thread, then queued; a background thread batches and sends
    them (see :mod:`driftline.client`). Bad input is dropped, counted under
    ``invalid`` in :meth:`stats` and logged once.

    Parameters
    ----------
    project, model, version
        Where the data belongs.
    schema
        A :class:`driftline.schema.Schema` for the reference (default: inferred).
    reference
        A frame to profile as the version's reference (see :meth:`set_reference`).
    url, token
        Server and API token; default ``DRIFTLINE_URL`` / ``DRIFTLINE_TOKEN``, and the
        embedded store in process when no URL is set.
    **options
        ``transport``, ``settings``, ``store_factory`` and the pipeline's options.

    Example
    -------
    >>> import httpx, json, gzip, tempfile
    >>> from driftline.config import load_settings
    >>> def server(request):
    ...     body = json.loads(gzip.decompress(request.content))
    ...     return httpx.Response(200, json={"batch_id": body["batch_id"],
    ...                                      "accepted": len(body["ids"]), "duplicate": False})
    >>> monitor = ModelMonitor("shop", "ranker", "v1", url="http://test",
    ...     transport=httpx.MockTransport(server),
    ...     settings=load_settings({"DRIFTLINE_DATA_DIR": tempfile.mkdtemp()}))
    >>> ids = monitor.log_predictions({"age": [31, 45], "city": ["Oslo", "Rome"]}, [0, 1])
    >>> len(ids)
    2
    >>> monitor.flush(), monitor.stats().accepted
    (True, 2)
    >>> monitor.close()
    """

    def __init__(
        self,
        project: str,
        model: str,
        version: str,
        *,
        schema: Any = None,
        reference: Any = None,
        url: str | None = None,
        token: str | None = None,
        transport: httpx.BaseTransport | None = None,
        settings: Settings | None = None,
        store_factory: Callable[[], Any] | None = None,
        clock: Callable[[], float] = time.time,
        **pipeline_options: Any,
    ) -> None:
        for what, value in (("project", project), ("model", model), ("version", version)):
            check_name(what, value)
        self.project, self.model, self.version = project, model, version
        self.schema = schema
        self._clock = clock
        self._id_prefix = uuid.uuid4().hex[:16]
        self._counter = itertools.count()
        self._pipe = connect(
            _ENCODERS,
            url=url,
            token=token,
            transport=transport,
            settings=settings,
            store_factory=store_factory,
            **pipeline_options,
        )
        self.max_batch_rows = self._pipe.max_batch_weight
        self._reference_threads: list[threading.Thread] = []
        if reference is not None:
            self.set_reference(reference)

    def log_predictions(
        self,
        features: Any,
        predictions: Any,
        *,
        scores: Any = None,
        ids: Any = None,
        timestamps: Any = None,
        latency_ms: Any = None,
        errors: Any = None,
    ) -> list[str]:
        """Log predictions with their features; returns the row ids (generated when not given).

        ``features`` is a pandas/polars DataFrame, a pyarrow Table, a 2-D numpy
        array, a dict of columns, or a dict of scalars for a single row (then
        ``predictions`` may be a scalar too). ``scores`` holds one number per row or
        one list of class probabilities per row; ``timestamps`` epoch seconds or
        datetimes (default: now); ``latency_ms`` numbers; ``errors`` strings or
        ``None``. Returns ``[]`` when the input was dropped as invalid.
        """
        try:
            single = is_single_row(features)
            cols, n = feature_columns(features)
            preds = (
                [predictions]
                if single and not _is_seq(predictions)
                else column_list(predictions, "predictions")
            )
            row: dict[str, Any] = {"features": cols, "predictions": _plain(preds)}
            row["ids"] = self._ids(ids, n, single)
            row["timestamps"] = timestamps_list(timestamps, n, self._clock())
            present = []
            for name, value in (("scores", scores), ("latency_ms", latency_ms), ("errors", errors)):
                if value is None:
                    continue
                if single and not _is_seq(value):
                    value = [value]
                elif single and name == "scores" and value and not _is_seq(value[0]):
                    value = [list(value)]  # one row of class probabilities
                row[name] = _plain(column_list(value, name))
                present.append(name)
            for name in ("ids", "timestamps", "predictions", *present):
                if len(row[name]) != n:
                    raise InputError(
                        f"{name}: expected {n} values (one per row of 'features'), got {len(row[name])}"
                    )
            if "scores" in row:
                row["scores"] = [
                    list(map(float, s)) if _is_seq(s) else float(s) for s in row["scores"]
                ]
            if "latency_ms" in row:
                row["latency_ms"] = [float(v) for v in row["latency_ms"]]
            if "errors" in row:
                row["errors"] = [None if e is None else str(e) for e in row["errors"]]
            shape = "2d" if "scores" in row and n and _is_seq(row["scores"][0]) else "1d"
            key = (self.project, self.model, self.version, tuple(cols), tuple(present), shape)
            self._enqueue_rows(key, row, n, present)
            return list(row["ids"])
        except Exception as exc:
            self._pipe.count_drop("invalid", f"log_predictions: {exc}")
            return []

    def log_labels(self, ids: Any, labels: Any, *, timestamps: Any = None) -> None:
        """Log ground-truth labels of earlier (or later) predictions, joined by id."""
        try:
            if isinstance(ids, str):
                ids, labels = [ids], [labels]
            id_list = [str(i) for i in column_list(ids, "ids")]
            label_list = _plain(column_list(labels, "labels"))
            if len(label_list) != len(id_list):
                raise InputError(
                    f"labels: expected {len(id_list)} values (one per entry of 'ids'), got {len(label_list)}"
                )
            ts = timestamps_list(timestamps, len(id_list), self._clock())
            self._pipe.enqueue(
                "labels", (self.project, self.model), (id_list, label_list, ts), len(id_list)
            )
        except Exception as exc:
            self._pipe.count_drop("invalid", f"log_labels: {exc}")

    def log_event(self, name: str, prediction_id: str | None = None, value: float = 1.0) -> None:
        """Log a business event (a click, a conversion), optionally tied to a prediction id."""
        try:
            if not isinstance(name, str) or not name:
                raise InputError(f"name: expected a non-empty string, got {name!r}")
            event = {
                "name": name,
                "prediction_id": None if prediction_id is None else str(prediction_id),
                "value": float(value),
                "timestamp": self._clock(),
            }
            self._pipe.enqueue("events", (self.project, self.model), event)
        except Exception as exc:
            self._pipe.count_drop("invalid", f"log_event: {exc}")

    def set_reference(self, frame: Any) -> None:
        """Profile ``frame`` in a background thread and store it as this version's reference."""
        thread = threading.Thread(
            target=self._profile_reference, args=(frame,), name="driftline-reference", daemon=True
        )
        self._reference_threads = [t for t in self._reference_threads if t.is_alive()]
        self._reference_threads.append(thread)
        thread.start()

    def _profile_reference(self, frame: Any) -> None:
        try:
            from driftline.profile import profile
            from driftline.schema import Schema

            schema = self.schema if self.schema is not None else Schema.infer(frame)
            prof = profile(frame, schema)
            payload = {
                "project": self.project,
                "model": self.model,
                "version": self.version,
                "profile": prof.to_dict(),
                "schema": schema.to_dict(),
            }
            self._pipe.enqueue("reference", (self.project, self.model, self.version), payload)
        except Exception as exc:
            self._pipe.count_drop("invalid", f"set_reference: could not profile the frame: {exc!r}")

    def flush(self, timeout: float | None = 10.0) -> bool:
        """Wait until everything logged so far (reference profiles included) was acknowledged.

        Returns ``False`` when ``timeout`` seconds passed first (the rest is sent later).
        """
        return self._flush(timeout, until_unreachable=False)

    def _flush(self, timeout: float | None, *, until_unreachable: bool) -> bool:
        deadline = None if timeout is None else time.monotonic() + timeout
        for thread in list(self._reference_threads):
            thread.join(None if deadline is None else max(0.0, deadline - time.monotonic()))
        left = None if deadline is None else max(0.0, deadline - time.monotonic())
        return self._pipe.flush(left, until_unreachable=until_unreachable)

    def close(self, timeout: float | None = 5.0) -> None:
        """Flush for at most ``timeout`` seconds and stop the background thread.

        When the server cannot be reached and batches are spooled to disk it stops
        waiting at once; a later process replays the spool.
        """
        self._flush(timeout, until_unreachable=True)
        self._pipe.close(timeout=0.0)

    def stats(self) -> ClientStats:
        """Counters of what was queued, delivered and dropped (by reason)."""
        return self._pipe.stats()

    def __enter__(self) -> ModelMonitor:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -------------------------------------------------------------- internals
    def _ids(self, ids: Any, n: int, single: bool) -> list[str]:
        if ids is None:
            start = next(self._counter)
            for _ in range(n - 1):
                next(self._counter)
            return [f"{self._id_prefix}-{start + i}" for i in range(n)]
        if single and not _is_seq(ids):
            ids = [ids]
        return [str(i) for i in column_list(ids, "ids")]

    def _enqueue_rows(self, key: Hashable, row: dict[str, Any], n: int, present: list[str]) -> None:
        step = self.max_batch_rows
        if n <= step:
            self._pipe.enqueue("predictions", key, row, n)
            return
        for lo in range(0, n, step):
            hi = min(n, lo + step)
            part = {
                "features": {k: v[lo:hi] for k, v in row["features"].items()},
                **{k: row[k][lo:hi] for k in ("ids", "timestamps", "predictions", *present)},
            }
            self._pipe.enqueue("predictions", key, part, hi - lo)


def _is_seq(value: Any) -> bool:
    return isinstance(value, (list, tuple)) or (
        hasattr(value, "__len__") and not isinstance(value, (str, bytes, Mapping))
    )


def _plain(values: list[Any]) -> list[Any]:
    """Python scalars instead of numpy ones (so the JSON stays plain)."""
    out = []
    for v in values:
        if hasattr(v, "item") and getattr(v, "ndim", 1) == 0:
            v = v.item()
        out.append(v)
    return out
