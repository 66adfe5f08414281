"""Settings from the environment: retention variables, defaults and errors naming the variable."""

from __future__ import annotations

from pathlib import Path

import pytest

from driftline.config import load_settings
from driftline.errors import ConfigError
from driftline.store import RetentionPolicy


def test_retention_defaults_match_the_policy(tmp_path: Path) -> None:
    policy = RetentionPolicy.from_settings(load_settings({"DRIFTLINE_DATA_DIR": str(tmp_path)}))
    assert policy == RetentionPolicy()


def test_retention_variables(tmp_path: Path) -> None:
    s = load_settings(
        {
            "DRIFTLINE_DATA_DIR": str(tmp_path),
            "DRIFTLINE_PREDICTION_RETENTION_DAYS": "90",
            "DRIFTLINE_FEATURE_RETENTION_DAYS": " 7.5 ",
            "DRIFTLINE_MAX_PREDICTIONS_PER_VERSION": "none",
            "DRIFTLINE_KEEP_FEATURES": "No",
            "DRIFTLINE_RETENTION_CHECK_SECONDS": "5",
        }
    )
    assert RetentionPolicy.from_settings(s) == RetentionPolicy(
        max_age_days=90.0,
        max_rows_per_version=None,
        keep_features=False,
        check_every_s=5.0,
        feature_max_age_days=7.5,
    )
    unbounded = load_settings(
        {"DRIFTLINE_DATA_DIR": str(tmp_path), "DRIFTLINE_PREDICTION_RETENTION_DAYS": "none",
         "DRIFTLINE_MAX_PREDICTIONS_PER_VERSION": "5000"}
    )  # fmt: skip
    assert unbounded.prediction_retention_days is None
    assert unbounded.max_predictions_per_version == 5000


@pytest.mark.parametrize(
    ("name", "value", "expected"),
    [
        ("DRIFTLINE_PREDICTION_RETENTION_DAYS", "thirty", "a positive number of days or 'none'"),
        ("DRIFTLINE_PREDICTION_RETENTION_DAYS", "0", "a positive number of days"),
        ("DRIFTLINE_FEATURE_RETENTION_DAYS", "-1", "a positive number of days"),
        ("DRIFTLINE_FEATURE_RETENTION_DAYS", "inf", "a positive number of days"),
        ("DRIFTLINE_MAX_PREDICTIONS_PER_VERSION", "2.5", "a positive integer or 'none'"),
        ("DRIFTLINE_KEEP_FEATURES", "maybe", "expected 'true' or 'false', got 'maybe'"),
        ("DRIFTLINE_RETENTION_CHECK_SECONDS", "none", "a positive number of seconds"),
    ],
)
def test_bad_values_name_the_variable(tmp_path: Path, name: str, value: str, expected: str) -> None:
    with pytest.raises(ConfigError, match=f"^{name}: expected") as err:
        load_settings({"DRIFTLINE_DATA_DIR": str(tmp_path), name: value})
    assert expected in str(err.value) and repr(value) in str(err.value)


def test_the_server_takes_its_retention_from_the_settings(tmp_path: Path) -> None:
    from driftline.server import create_app
    from driftline.store import Store

    s = load_settings(
        {"DRIFTLINE_DATA_DIR": str(tmp_path), "DRIFTLINE_PREDICTION_RETENTION_DAYS": "3"}
    )
    with Store.open("sqlite://") as store:
        app = create_app(store, s)
        assert app.state.driftline.ingest.retention.max_age_days == 3.0
        assert create_app(store).state.driftline.ingest.retention == RetentionPolicy()
        policy = RetentionPolicy(max_age_days=1)
        app = create_app(store, s, retention=policy)
        assert app.state.driftline.ingest.retention is policy
