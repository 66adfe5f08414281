"""What the integration tests share: a run that records what the adapters log."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


class RecordingRun:
    """Stands in for ``driftline.client.Run``: keeps every log, event and summary."""

    def __init__(self) -> None:
        self.points: dict[int, dict[str, float]] = {}
        self.events: list[dict[str, Any]] = []
        self.summary: dict[str, Any] = {}

    def log(self, metrics: Mapping[str, float], step: int | None = None) -> None:
        assert step is not None
        self.points.setdefault(step, {}).update(metrics)

    def log_event(
        self,
        kind: str,
        message: str = "",
        *,
        step: int | None = None,
        evidence: Mapping[str, Any] | None = None,
    ) -> None:
        self.events.append({"kind": kind, "message": message, "step": step, "evidence": evidence})

    def log_summary(self, summary: Mapping[str, Any] | None = None, **values: Any) -> None:
        self.summary.update(summary or {})
        self.summary.update(values)

    def kinds(self) -> list[str]:
        return [e["kind"] for e in self.events]
