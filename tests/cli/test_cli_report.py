"""The driftline command, end to end through ``main([...])``: outputs and exit codes."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pandas as pd
import pytest

from driftline.cli import EXIT_FAILED, EXIT_OK, EXIT_USAGE, main
from driftline.examples import DRIFTED_FEATURES, generate_loans
from driftline.profile import DatasetProfile

LOAN_ARGS = ["--target", "default", "--prediction", "prediction", "--score", "score"]


@pytest.fixture(scope="module")
def loan_files(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    d = tmp_path_factory.mktemp("loans")
    ex = generate_loans(1200, 1200, seed=3)
    stable = generate_loans(1200, 1200, seed=3, drift=False)
    paths = {
        "ref_csv": d / "ref.csv",
        "cur_csv": d / "cur.csv",
        "ref_pq": d / "ref.parquet",
        "cur_pq": d / "cur.parquet",
        "same_csv": d / "same.csv",
    }
    ex.reference.to_csv(paths["ref_csv"], index=False)
    ex.current.to_csv(paths["cur_csv"], index=False)
    ex.reference.to_parquet(paths["ref_pq"], index=False)
    ex.current.to_parquet(paths["cur_pq"], index=False)
    stable.current.to_csv(paths["same_csv"], index=False)
    return paths


def test_report_csv_writes_html_and_json(
    loan_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    html, js = tmp_path / "r.html", tmp_path / "r.json"
    rc = main(
        ["report", str(loan_files["ref_csv"]), str(loan_files["cur_csv"]), *LOAN_ARGS,
         "--html", str(html), "--json", str(js)]
    )  # fmt: skip
    assert rc == EXIT_OK
    out, err = capsys.readouterr()
    assert out.startswith("dataset: no drift")
    for name in DRIFTED_FEATURES:
        assert f"  {name} [feature]:" in out
    assert "driftline: reading" in err and "drift per column" in err  # progress on stderr
    data = json.loads(js.read_text(encoding="utf-8"))
    drifted = sorted(
        d["column"] for d in data["drift"] if d["status"] == "drift" and d["role"] == "feature"
    )
    assert drifted == sorted(DRIFTED_FEATURES)
    assert html.read_text(encoding="utf-8").startswith("<!DOCTYPE html>")


def test_report_parquet_and_csv_agree(loan_files: dict[str, Path], tmp_path: Path) -> None:
    a, b = tmp_path / "a.json", tmp_path / "b.json"
    assert main(["report", str(loan_files["ref_pq"]), str(loan_files["cur_pq"]), *LOAN_ARGS,
                 "--json", str(a), "--quiet"]) == EXIT_OK  # fmt: skip
    assert main(["report", str(loan_files["ref_csv"]), str(loan_files["cur_csv"]), *LOAN_ARGS,
                 "--json", str(b), "--quiet"]) == EXIT_OK  # fmt: skip
    da, db = json.loads(a.read_text()), json.loads(b.read_text())
    assert [d["status"] for d in da["drift"]] == [d["status"] for d in db["drift"]]
    assert da["performance"]["current"]["accuracy"] == db["performance"]["current"]["accuracy"]


def test_fail_on_drift_and_max_drift_share(
    loan_files: dict[str, Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args = ["report", str(loan_files["ref_csv"]), str(loan_files["cur_csv"]), *LOAN_ARGS, "--quiet"]
    assert main([*args, "--fail-on-drift"]) == EXIT_OK  # 3 of 10: below the 0.5 share
    assert main([*args, "--max-drift-share", "0.2"]) == EXIT_FAILED
    assert main([*args, "--method", "psi", "--max-drift-share", "0.5"]) == EXIT_OK
    assert capsys.readouterr().out == ""  # --quiet prints nothing
    assert main([*args[:-1], "--max-drift-share", "0.2"]) == EXIT_FAILED
    assert "FAIL max_drift_share(0.2): 3 of 10 columns drifted" in capsys.readouterr().out
    # Without roles, target and prediction are features too (and drift here).
    plain = ["report", str(loan_files["ref_csv"]), str(loan_files["cur_csv"])]
    assert main([*plain, "--max-drift-share", "0.2"]) == EXIT_FAILED
    assert "6 of 13 columns drifted" in capsys.readouterr().out


def test_stable_data_passes(loan_files: dict[str, Path]) -> None:
    args = ["report", str(loan_files["ref_csv"]), str(loan_files["same_csv"]), *LOAN_ARGS]
    assert main([*args, "--fail-on-drift", "--max-drift-share", "0", "--quiet"]) == EXIT_OK


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda d: d / "missing.csv", "REF: file not found"),
        (lambda d: d / "data.xlsx", "REF: expected a file ending in one of"),
        (lambda d: d, "REF: expected a file ending"),
    ],
)
def test_bad_reference_file(
    make: Callable[[Path], Path], message: str, loan_files: dict[str, Path], tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:  # fmt: skip
    ref = make(tmp_path)
    rc = main(["report", str(ref), str(loan_files["cur_csv"])])
    assert rc == EXIT_USAGE
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_empty_and_corrupt_files(
    loan_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    empty, header, bad_pq = tmp_path / "e.csv", tmp_path / "h.csv", tmp_path / "bad.parquet"
    empty.write_text("")
    header.write_text("a,b\n")
    bad_pq.write_bytes(b"not parquet at all")
    for path, message in (
        (empty, "CUR: the file"),
        (header, "has a header but no rows"),
        (bad_pq, "CUR: cannot read parquet file"),
    ):
        assert main(["report", str(loan_files["ref_csv"]), str(path)]) == EXIT_USAGE
        err = capsys.readouterr().err
        assert message in err and "Traceback" not in err


def test_no_common_columns_and_unknown_target(
    loan_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    other = tmp_path / "other.csv"
    pd.DataFrame({"zzz": [1, 2, 3]}).to_csv(other, index=False)
    assert main(["report", str(loan_files["ref_csv"]), str(other), "--quiet"]) == EXIT_USAGE
    assert "no common column" in capsys.readouterr().err
    args = ["report", str(loan_files["ref_csv"]), str(loan_files["cur_csv"]), "--target", "label"]
    assert main(args) == EXIT_USAGE
    assert "target: column 'label' is not in the frame" in capsys.readouterr().err
    assert main(["report", str(loan_files["ref_csv"]), str(loan_files["cur_csv"]),
                 "--method", "magic"]) == EXIT_USAGE  # fmt: skip
    assert "got 'magic'" in capsys.readouterr().err


def test_usage_errors_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    assert main([]) == EXIT_USAGE
    assert main(["report", "only-one.csv"]) == EXIT_USAGE
    assert main(["report", "a.csv", "b.csv", "--max-drift-share", "2"]) == EXIT_USAGE
    assert "expected a number in [0, 1], got '2'" in capsys.readouterr().err
    assert main(["nonsense"]) == EXIT_USAGE
    assert main(["--help"]) == EXIT_OK
    assert "report" in capsys.readouterr().out


def test_profile_command_writes_a_dataset_profile(
    loan_files: dict[str, Path], tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "p.json"
    rc = main(["profile", str(loan_files["ref_pq"]), "--out", str(out), *LOAN_ARGS[:4]])
    assert rc == EXIT_OK
    prof = DatasetProfile.from_dict(json.loads(out.read_text(encoding="utf-8")))
    assert prof.n_rows == 1200 and prof.schema.target is not None
    assert prof.performance is not None
    assert "note: column 'default'" in capsys.readouterr().err
    assert main(["profile", str(tmp_path / "nope.csv"), "--out", str(out)]) == EXIT_USAGE


def test_demo_smoke(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    out_dir = tmp_path / "demo"
    assert main(["demo", "--report-only", "--smoke", "--out", str(out_dir)]) == EXIT_OK
    lines = capsys.readouterr().out.splitlines()
    html = out_dir / "report.html"
    assert Path(lines[-1]) == html.resolve()
    for name in ("reference.csv", "current.csv", "report.html", "report.json"):
        assert (out_dir / name).is_file()
    data = json.loads((out_dir / "report.json").read_text(encoding="utf-8"))
    drifted = sorted(
        d["column"] for d in data["drift"] if d["role"] == "feature" and d["status"] == "drift"
    )
    assert drifted == sorted(DRIFTED_FEATURES)
    assert data["performance"]["status"] == "computed"


def test_python_dash_m_driftline() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "driftline", "--version"],
        capture_output=True,
        text=True,
        check=False,
    )
    assert out.returncode == 0 and out.stdout.startswith("driftline ")
