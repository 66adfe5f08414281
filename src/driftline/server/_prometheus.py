"""The Prometheus text exposition format (version 0.0.4), written by hand.

Label values escape backslash, double quote and newline; HELP text escapes
backslash and newline; values are Go-style floats (``NaN``, ``+Inf``, ``-Inf``).
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

__all__ = ["CONTENT_TYPE", "MetricFamily", "render"]

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
"""Content type of the exposition."""


@dataclass(slots=True)
class MetricFamily:
    """One metric name with its type, help and samples (labels, value).

    Example
    -------
    >>> fam = MetricFamily("driftline_predictions_total", "counter", "Predictions stored.")
    >>> fam.add({"project": 'a"b'}, 3)
    >>> print(render([fam]), end="")
    # HELP driftline_predictions_total Predictions stored.
    # TYPE driftline_predictions_total counter
    driftline_predictions_total{project="a\\"b"} 3.0
    """

    name: str
    type: str
    help: str
    samples: list[tuple[dict[str, str], float]] = field(default_factory=list)

    def add(self, labels: Mapping[str, object], value: float) -> None:
        """Add one sample; label values are converted with ``str``."""
        self.samples.append(({k: str(v) for k, v in labels.items()}, float(value)))


def _escape_label(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(value: str) -> str:
    return value.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if math.isnan(value):
        return "NaN"
    if math.isinf(value):
        return "+Inf" if value > 0 else "-Inf"
    return repr(float(value))


def render(families: Iterable[MetricFamily]) -> str:
    """The exposition text of ``families`` (empty families are still announced)."""
    lines: list[str] = []
    for fam in families:
        lines.append(f"# HELP {fam.name} {_escape_help(fam.help)}")
        lines.append(f"# TYPE {fam.name} {fam.type}")
        for labels, value in fam.samples:
            if labels:
                inner = ",".join(f'{k}="{_escape_label(v)}"' for k, v in labels.items())
                lines.append(f"{fam.name}{{{inner}}} {_number(value)}")
            else:
                lines.append(f"{fam.name} {_number(value)}")
    return "\n".join(lines) + "\n"
