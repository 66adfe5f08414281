"""Analysis: reports, test suites and the results they are made of.

:class:`Report` compares current data with a reference (drift per column and for
the dataset, data quality, model performance) and renders JSON and a
self-contained HTML page. :class:`TestSuite` (or :meth:`Report.check`) turns
conditions such as :func:`max_drift_share` into pass/fail checks.

Drift between two profiles without a report (e.g. a time window against a
reference): :func:`drift_from_profiles` per column, for the columns of
:data:`ANALYSED_ROLES`, then :func:`apply_benjamini_hochberg` over the columns,
as the report's profile path does.
"""

from __future__ import annotations

from driftline.analysis._conditions import (
    CheckResult,
    Condition,
    SuiteResult,
    TestSuite,
    column_not_drifted,
    max_drift_share,
    max_metric_drop,
    max_missing_rate,
    min_metric,
    no_dataset_drift,
    no_new_categories,
)
from driftline.analysis._drift import (
    DEFAULT_DRIFT_SHARE,
    DEFAULT_EXACT_LIMIT,
    apply_benjamini_hochberg,
)
from driftline.analysis._estimate import ESTIMATE_QUANTILES, estimated_accuracy
from driftline.analysis._inputs import ANALYSED_ROLES, build_schema, profile_frame
from driftline.analysis._profiles import drift_from_profiles
from driftline.analysis._report import REPORT_FORMAT, Report
from driftline.analysis._results import (
    ColumnDrift,
    ColumnQuality,
    DatasetDrift,
    DatasetQuality,
    PerformanceResult,
    QualityResult,
)

__all__ = [
    "ANALYSED_ROLES",
    "DEFAULT_DRIFT_SHARE",
    "DEFAULT_EXACT_LIMIT",
    "ESTIMATE_QUANTILES",
    "REPORT_FORMAT",
    "CheckResult",
    "ColumnDrift",
    "ColumnQuality",
    "Condition",
    "DatasetDrift",
    "DatasetQuality",
    "PerformanceResult",
    "QualityResult",
    "Report",
    "SuiteResult",
    "TestSuite",
    "apply_benjamini_hochberg",
    "build_schema",
    "column_not_drifted",
    "drift_from_profiles",
    "estimated_accuracy",
    "max_drift_share",
    "max_metric_drop",
    "max_missing_rate",
    "min_metric",
    "no_dataset_drift",
    "no_new_categories",
    "profile_frame",
]
