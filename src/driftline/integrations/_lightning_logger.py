"""The Lightning ``Logger`` over a driftline run, exported by :mod:`driftline.integrations.lightning`.

lightning and torch are imported when this module is.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping
from typing import Any

import torch
from lightning.pytorch.loggers.logger import Logger, rank_zero_experiment
from lightning.pytorch.utilities import rank_zero_only

from driftline.errors import InputError

__all__ = ["DriftlineLogger"]

_FINAL_STATUS = {"success": "finished", "finished": "finished", "failed": "failed"}


def _flatten(params: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """Nested mappings flattened to ``a/b`` keys; values JSON-safe (else their ``repr``)."""
    flat: dict[str, Any] = {}
    for k, v in params.items():
        key = f"{prefix}{k}"
        if isinstance(v, argparse.Namespace):
            v = vars(v)
        if isinstance(v, Mapping):
            flat.update(_flatten(v, f"{key}/"))
        elif v is None or isinstance(v, bool | int | float | str):
            flat[key] = v
        elif isinstance(v, list | tuple) and all(
            isinstance(x, bool | int | float | str) for x in v
        ):
            flat[key] = list(v)
        else:
            flat[key] = repr(v)
    return flat


class DriftlineLogger(Logger):
    """Lightning ``Logger`` that writes to a driftline run.

    Parameters
    ----------
    project
        Project of the run (created on first use); ignored when ``run`` is given.
    name
        Display name of the run (default: chosen by :func:`driftline.init`).
    run
        An open :class:`driftline.client.Run` to log to; by default one is
        started with ``driftline.init(project, name, **init_options)`` when first
        needed, and finished by :meth:`finalize`.
    finish
        Whether :meth:`finalize` finishes the run (default: only a run this
        logger started).
    **init_options
        Passed to :func:`driftline.client.init` (``url``, ``token``, ``tags``,
        ``settings``...).

    Example
    -------
    >>> import tempfile
    >>> from driftline.config import load_settings
    >>> settings = load_settings({"DRIFTLINE_DATA_DIR": tempfile.mkdtemp()})
    >>> logger = DriftlineLogger("lab", name="tiny", settings=settings,
    ...                          system_metrics_interval=None)
    >>> logger.log_hyperparams({"lr": 0.1, "model": {"width": 32}})
    >>> logger.log_metrics({"train_loss": 0.7}, step=0)
    >>> logger.experiment.config
    {'lr': 0.1, 'model/width': 32}
    >>> logger.finalize("success")
    >>> logger.experiment.status
    'finished'
    """

    def __init__(
        self,
        project: str = "default",
        name: str | None = None,
        run: Any = None,
        *,
        finish: bool | None = None,
        **init_options: Any,
    ) -> None:
        super().__init__()
        if not isinstance(project, str) or not project:
            raise InputError(f"project: expected a non-empty string, got {project!r}")
        if run is not None and not callable(getattr(run, "log", None)):
            raise InputError(f"run: expected a driftline Run, got {type(run).__name__}")
        self._project = project
        self._name = name
        self._run = run
        self._finish = finish if finish is not None else run is None
        self._init_options = init_options
        self._config: dict[str, Any] = {}

    @property
    @rank_zero_experiment
    def experiment(self) -> Any:
        """The driftline :class:`~driftline.client.Run` (started on first access)."""
        if self._run is None:
            from driftline.client import init

            self._run = init(
                self._project, name=self._name, config=self._config, **self._init_options
            )
        return self._run

    @property
    def name(self) -> str:
        """The run's name (Lightning's experiment name)."""
        run = self._run
        return str(run.name) if run is not None else (self._name or self._project)

    @property
    def version(self) -> str:
        """The run's id (empty before the run exists)."""
        return str(getattr(self._run, "run_id", ""))

    @property
    def save_dir(self) -> str | None:
        """Nothing is written locally: ``None``."""
        return None

    @rank_zero_only
    def log_hyperparams(self, params: Any, *args: Any, **kwargs: Any) -> None:
        """Merge ``params`` (a mapping or ``argparse.Namespace``; nested keys become ``a/b``)
        into the run's config."""
        if isinstance(params, argparse.Namespace):
            params = vars(params)
        if not isinstance(params, Mapping):
            raise InputError(f"params: expected a mapping or Namespace, got {type(params)!r}")
        flat = _flatten(params)
        self._config.update(flat)
        if self._run is not None:
            self._run.config.update(flat)
            self._run.add_tags()  # re-announces the run, which updates its config
        else:
            _ = self.experiment

    @rank_zero_only
    def log_metrics(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        """Log scalar metrics at ``step`` (tensors are converted; NaN is kept)."""
        values = {
            k: float(v.item()) if isinstance(v, torch.Tensor) else float(v)
            for k, v in metrics.items()
        }
        self.experiment.log(values, step=step)

    @rank_zero_only
    def finalize(self, status: str) -> None:
        """Flush, and finish the run as ``finished`` (Lightning's ``success``) or ``failed``."""
        if self._run is None:
            return
        if self._finish:
            self._run.finish(_FINAL_STATUS.get(status, "failed"))
        elif callable(getattr(self._run, "flush", None)):
            self._run.flush()
