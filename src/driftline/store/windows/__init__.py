"""Window series: fixed buckets written at ingest, merged into query windows on read.

The one home of the window concept in the store.

* Ingest (:mod:`._frames`, :mod:`._buckets`): a predictions batch becomes the
  frame its bucket profiles are made of; each touched bucket's profile,
  latency sketch, performance counts and event counts are merged into its row
  of ``window_profiles`` / ``window_performance`` / ``window_events``, with the
  bucket's summary (:mod:`._summaries`) and its drift statistic
  (:mod:`._statistic`) stored beside it.
* Read, in three steps with typed results: aggregate (:mod:`._aggregate`:
  read and merge the buckets of each window of a :class:`WindowGrid`), drift
  (:mod:`._drift`: each window against its version's reference, through
  :mod:`driftline.analysis`), build (:mod:`._series`: the
  :class:`WindowSummary` list or the :class:`DriftSeries`).

:class:`driftline.store.QueryService` is the service callers use; it delegates
window reads to :func:`read_window_series`, :func:`read_drift_series` and
:func:`read_drift_vs_previous`.

Example
-------
>>> from driftline.store import IngestService, Store
>>> from driftline.wire import PredictionsBatch
>>> store = Store.open("sqlite://")
>>> _ = IngestService(store).ingest(PredictionsBatch(
...     batch_id="b1", project="p", model="m", version="v1", ids=["a", "b"],
...     timestamps=[10.0, 4000.0], features={"x": [1.0, 2.0]}, predictions=[0, 1]))
>>> scope = WindowScope(version_ids=(1,), grid=WindowGrid(3600, 7200))
>>> [(w.start, w.n_predictions) for w in read_window_series(
...     store, scope, model_id=1, include_unattributed_events=True, drift=False,
...     cache=DriftCache(), methods=None)]
[(0.0, 2)]
>>> store.close()
"""

from __future__ import annotations

from driftline.store.windows._aggregate import (
    WindowScope,
    merge_bucket_profiles,
)
from driftline.store.windows._buckets import (
    PROFILE_COMPRESS_MAX_BYTES,
    BucketCache,
    BucketState,
    add_events,
    add_performance,
    add_profile,
    encode_profile,
    latency_sketch,
)
from driftline.store.windows._drift import (
    DriftCache,
    drift_between,
    latest_drift,
    read_reference,
)
from driftline.store.windows._frames import (
    as_column,
    batch_arrays,
    frame_for,
    infer_schema,
)
from driftline.store.windows._grid import WindowGrid
from driftline.store.windows._series import (
    LATENCY_QUANTILES,
    DriftSeries,
    WindowSummary,
    assemble_drift_series,
    read_drift_series,
    read_drift_vs_previous,
    read_window_series,
)
from driftline.store.windows._statistic import (
    DRIFT_KINDS,
    STATUSES,
    WINDOW_DRIFT_METHOD,
    BucketDrift,
    drift_row,
    profile_drift,
    upsert_drift,
)
from driftline.store.windows._summaries import (
    BucketSummary,
    summary_row,
    summary_row_of,
    upsert_summaries,
)

__all__ = [
    "DRIFT_KINDS",
    "LATENCY_QUANTILES",
    "PROFILE_COMPRESS_MAX_BYTES",
    "STATUSES",
    "WINDOW_DRIFT_METHOD",
    "BucketCache",
    "BucketDrift",
    "BucketState",
    "BucketSummary",
    "DriftCache",
    "DriftSeries",
    "WindowGrid",
    "WindowScope",
    "WindowSummary",
    "add_events",
    "add_performance",
    "add_profile",
    "as_column",
    "assemble_drift_series",
    "batch_arrays",
    "drift_between",
    "drift_row",
    "encode_profile",
    "frame_for",
    "infer_schema",
    "latency_sketch",
    "latest_drift",
    "merge_bucket_profiles",
    "profile_drift",
    "read_drift_series",
    "read_drift_vs_previous",
    "read_reference",
    "read_window_series",
    "summary_row",
    "summary_row_of",
    "upsert_drift",
    "upsert_summaries",
]
