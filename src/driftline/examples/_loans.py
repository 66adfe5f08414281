"""A seeded simulator of a loan-default model: reference and current periods.

The reference period is what the model was trained and validated on. In the
current period a known subset of features drifts (:data:`DRIFTED_FEATURES`):
applicants earn less, their credit scores fall and they borrow for different
purposes. Every other feature is drawn from the same distribution in both
periods, so a correct drift report flags exactly the drifted features (plus the
score and prediction, which follow them).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from driftline.errors import InputError

__all__ = [
    "DRIFTED_FEATURES",
    "FEATURES",
    "LoanExample",
    "generate_loans",
    "write_loans",
]

#: Every feature column of the example, in frame order.
FEATURES: tuple[str, ...] = (
    "age",
    "income",
    "loan_amount",
    "credit_score",
    "employment_years",
    "debt_to_income",
    "open_accounts",
    "home_ownership",
    "purpose",
    "region",
)

#: The features whose distribution changes in the current period.
DRIFTED_FEATURES: tuple[str, ...] = ("credit_score", "income", "purpose")

_HOME = np.array(["rent", "own", "mortgage"])
_HOME_P = np.array([0.45, 0.15, 0.40])
_PURPOSE = np.array(["debt_consolidation", "car", "home_improvement", "education", "business"])
_PURPOSE_P_REF = np.array([0.40, 0.20, 0.15, 0.15, 0.10])
_PURPOSE_P_CUR = np.array([0.20, 0.15, 0.10, 0.15, 0.10])  # + 0.30 "crypto" (a new category)
_REGION = np.array(["north", "south", "east", "west", "überseegebiete"])
_REGION_P = np.array([0.25, 0.25, 0.2, 0.2, 0.1])


@dataclass(frozen=True)
class LoanExample:
    """The two periods of the loan example and the names of their special columns.

    Attributes
    ----------
    reference, current : pandas.DataFrame
        One row per application: the features, ``default`` (the target, 1 when
        the loan defaulted), ``score`` (the model's probability of default) and
        ``prediction`` (1 when ``score`` is at least 0.5).
    drifted : tuple of str
        The features that drift in ``current`` (empty when ``drift=False``).
    """

    reference: pd.DataFrame
    current: pd.DataFrame
    drifted: tuple[str, ...]
    target: str = "default"
    prediction: str = "prediction"
    score: str = "score"


def _period(n: int, rng: np.random.Generator, *, drifted: bool) -> pd.DataFrame:
    age = np.clip(rng.normal(41.0, 11.0, n), 18, 85).round()
    income_median = 38_000.0 if drifted else 52_000.0
    income = np.round(rng.lognormal(np.log(income_median), 0.45, n), -2)
    loan_amount = np.round(rng.gamma(2.2, 6_500.0, n), -2)
    credit_mean = 630.0 if drifted else 690.0
    credit_score = np.clip(rng.normal(credit_mean, 55.0, n), 300, 850).round()
    employment_years = np.minimum(rng.exponential(6.0, n), 45.0).round(1)
    debt_to_income = np.clip(rng.beta(2.0, 5.0, n), 0.0, 1.0).round(3)
    open_accounts = rng.poisson(5.0, n).astype(np.float64)
    home = rng.choice(_HOME, size=n, p=_HOME_P)
    if drifted:
        cats = np.append(_PURPOSE, "crypto")
        purpose = rng.choice(cats, size=n, p=np.append(_PURPOSE_P_CUR, 0.30))
    else:
        purpose = rng.choice(_PURPOSE, size=n, p=_PURPOSE_P_REF)
    region = rng.choice(_REGION, size=n, p=_REGION_P)
    # Some values are missing in both periods, at the same rate.
    employment_years[rng.random(n) < 0.02] = np.nan

    # The true risk of default.
    logit = (
        -1.2
        - 0.012 * (credit_score - 680.0)
        - 0.9 * (np.log(income) - np.log(50_000.0))
        + 2.5 * (debt_to_income - 0.28)
        + 0.25 * (purpose == "business")
        + 0.9 * (purpose == "crypto")
        - 0.3 * (home == "own")
    )
    default = (rng.random(n) < 1.0 / (1.0 + np.exp(-logit))).astype(np.int64)
    # The model learned the reference period: it does not know about "crypto".
    model_logit = (
        -1.25
        - 0.011 * (credit_score - 680.0)
        - 0.8 * (np.log(income) - np.log(50_000.0))
        + 2.2 * (debt_to_income - 0.28)
        + 0.2 * (purpose == "business")
        - 0.25 * (home == "own")
        + rng.normal(0.0, 0.3, n)
    )
    score = np.round(1.0 / (1.0 + np.exp(-model_logit)), 6)
    prediction = (score >= 0.5).astype(np.int64)
    return pd.DataFrame(
        {
            "age": age,
            "income": income,
            "loan_amount": loan_amount,
            "credit_score": credit_score,
            "employment_years": employment_years,
            "debt_to_income": debt_to_income,
            "open_accounts": open_accounts,
            "home_ownership": home,
            "purpose": purpose,
            "region": region,
            "default": default,
            "score": score,
            "prediction": prediction,
        }
    )


def generate_loans(
    n_reference: int = 5_000,
    n_current: int = 5_000,
    *,
    seed: int = 0,
    drift: bool = True,
) -> LoanExample:
    """Simulate loan applications for a reference and a current period.

    Parameters
    ----------
    n_reference, n_current : int
        Rows in each period (at least 1). Default 5,000 each.
    seed : int
        Seed of the random generator; the same seed gives the same frames.
    drift : bool
        When True (the default) the features in :data:`DRIFTED_FEATURES` drift in
        the current period; when False both periods share one distribution.

    Returns
    -------
    LoanExample

    Examples
    --------
    >>> ex = generate_loans(200, 100, seed=1)
    >>> ex.reference.shape, ex.current.shape
    ((200, 13), (100, 13))
    >>> ex.drifted
    ('credit_score', 'income', 'purpose')
    >>> "crypto" in set(ex.current["purpose"])
    True
    """
    for name, value in (("n_reference", n_reference), ("n_current", n_current)):
        if isinstance(value, bool) or not isinstance(value, int | np.integer) or value < 1:
            raise InputError(f"{name}: expected a positive integer, got {value!r}")
    rng = np.random.default_rng(seed)
    reference = _period(int(n_reference), rng, drifted=False)
    current = _period(int(n_current), rng, drifted=drift)
    return LoanExample(
        reference=reference,
        current=current,
        drifted=DRIFTED_FEATURES if drift else (),
    )


def write_loans(
    directory: str | Path,
    n_reference: int = 5_000,
    n_current: int = 5_000,
    *,
    seed: int = 0,
) -> tuple[Path, Path]:
    """Write the example's two periods as ``reference.csv`` and ``current.csv``.

    Parameters
    ----------
    directory : str or Path
        Folder to write into; created when missing.
    n_reference, n_current, seed
        As in :func:`generate_loans`.

    Returns
    -------
    tuple of Path
        The paths of the reference and the current CSV files.

    Examples
    --------
    >>> import tempfile
    >>> with tempfile.TemporaryDirectory() as d:
    ...     ref, cur = write_loans(d, 50, 40)
    ...     (ref.name, cur.name, len(ref.read_text().splitlines()))
    ('reference.csv', 'current.csv', 51)
    """
    out = Path(directory)
    out.mkdir(parents=True, exist_ok=True)
    example = generate_loans(n_reference, n_current, seed=seed)
    ref_path = out / "reference.csv"
    cur_path = out / "current.csv"
    example.reference.to_csv(ref_path, index=False)
    example.current.to_csv(cur_path, index=False)
    return ref_path, cur_path
