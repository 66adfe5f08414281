"""Atomic, hashed, policy-kept checkpoints under one root directory.

Layout of ``root``::

    manifest.json            {"version": 1, "checkpoints": [...]}  (written atomically)
    ckpt-000000120.pt        one file per checkpoint, named by step
    .tmp-<random>            a write in progress (removed when a manager opens the root)

A write goes to a temporary file in ``root`` that is flushed and ``fsync``-ed,
renamed over the final name, and the directory is ``fsync``-ed; only then is the
manifest (written the same way) updated. A crash at any point leaves the previous
manifest and every checkpoint it names intact. Files are addressed by step, never
by a caller's path; every name read from the manifest is checked to stay inside
``root`` (no separators, no ``..``, no symlink leading out). Loading verifies the
file's sha256 before the serializer sees a byte, and the serializers driftline
ships never execute code (NumPy ``allow_pickle=False``, ``torch.load(weights_only=True)``).
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import json
import math
import os
import re
import time
import uuid
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import IO, Any, Literal, Protocol, cast

import numpy as np

from driftline.errors import CheckpointError, InputError, NotFoundError

__all__ = [
    "CheckpointError",
    "CheckpointInfo",
    "CheckpointManager",
    "NpzSerializer",
    "Serializer",
]

MANIFEST = "manifest.json"
_TMP_PREFIX = ".tmp-"
_PREFIX_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$")
_SUFFIX_RE = re.compile(r"^\.[A-Za-z0-9]{1,16}$")


class Serializer(Protocol):
    """Turns a state into bytes and back; ``load`` must never execute code."""

    suffix: str

    def dump(self, state: Any, file: IO[bytes]) -> None:
        """Write ``state`` to the binary ``file``."""

    def load(self, file: IO[bytes]) -> Any:
        """Read a state written by :meth:`dump`."""


class NpzSerializer:
    """A mapping of names to NumPy arrays, as an ``.npz`` file (no pickle).

    Example
    -------
    >>> import io, numpy as np
    >>> buf = io.BytesIO()
    >>> NpzSerializer().dump({"w": np.ones(2)}, buf)
    >>> _ = buf.seek(0)
    >>> NpzSerializer().load(buf)["w"].tolist()
    [1.0, 1.0]
    """

    suffix = ".npz"

    def dump(self, state: Any, file: IO[bytes]) -> None:
        if not isinstance(state, Mapping):
            raise InputError(f"state: expected a mapping of names to arrays, got {type(state)}")
        arrays = {str(k): np.asarray(v) for k, v in state.items()}
        for k, a in arrays.items():
            if a.dtype.hasobject:
                raise InputError(f"state[{k!r}]: expected a numeric array, got dtype {a.dtype}")
        cast(Any, np.savez)(file, **arrays)

    def load(self, file: IO[bytes]) -> Any:
        with np.load(file, allow_pickle=False) as data:
            return {k: data[k] for k in data.files}


@dataclass(frozen=True)
class CheckpointInfo:
    """One checkpoint as the manifest records it.

    ``reasons`` says why it was written (``periodic``, ``best``, ``manual``...);
    ``metrics`` holds the values passed to :meth:`CheckpointManager.save`.
    """

    step: int
    file: str
    sha256: str
    size: int
    time: float
    metrics: dict[str, float] = field(default_factory=dict)
    reasons: tuple[str, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """The manifest entry (JSON-compatible)."""
        d = asdict(self)
        d["reasons"] = list(self.reasons)
        return d

    @classmethod
    def from_dict(cls, d: Mapping[str, Any]) -> CheckpointInfo:
        """Parse a manifest entry; raises :class:`CheckpointError` when malformed."""
        try:
            step, file, sha = d["step"], d["file"], d["sha256"]
            if type(step) is not int or not isinstance(file, str) or not isinstance(sha, str):
                raise TypeError("step, file or sha256 has the wrong type")
            metrics = {str(k): float(v) for k, v in dict(d.get("metrics") or {}).items()}
            return cls(
                step,
                file,
                sha,
                int(d["size"]),
                float(d["time"]),
                metrics,
                tuple(str(r) for r in d.get("reasons", ())),
            )
        except (KeyError, TypeError, ValueError) as exc:
            raise CheckpointError(f"manifest: malformed checkpoint entry {dict(d)!r}") from exc


class _HashingWriter(io.RawIOBase):
    """A write-only binary file that hashes and counts what goes through it."""

    def __init__(self, raw: IO[bytes]) -> None:
        self.raw = raw
        self.sha = hashlib.sha256()
        self.size = 0

    def writable(self) -> bool:
        return True

    def write(self, b: Any) -> int:
        data = bytes(b)
        self.raw.write(data)
        self.sha.update(data)
        self.size += len(data)
        return len(data)


def _fsync_dir(path: Path) -> None:
    if os.name != "posix":  # directories cannot be opened for fsync on Windows
        return
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write(root: Path, name: str, write: Callable[[IO[bytes]], None]) -> tuple[str, int]:
    """Write ``root/name`` atomically; return its sha256 and size.

    The bytes go to a temporary file in ``root`` that is flushed, fsync-ed and
    renamed over ``name``; then ``root`` is fsync-ed. If ``write`` raises, the
    temporary file is removed and ``root/name`` is untouched.
    """
    tmp = root / f"{_TMP_PREFIX}{uuid.uuid4().hex}"
    try:
        with open(tmp, "xb") as raw:
            writer = _HashingWriter(raw)
            write(writer)  # type: ignore[arg-type]  # RawIOBase is a binary file
            raw.flush()
            os.fsync(raw.fileno())
        os.replace(tmp, root / name)
    except BaseException:
        with contextlib.suppress(OSError):
            tmp.unlink()
        raise
    _fsync_dir(root)
    return writer.sha.hexdigest(), writer.size


class CheckpointManager:
    """Saves, keeps and restores checkpoints of a training run in ``root``.

    Parameters
    ----------
    root
        Directory of this run's checkpoints (created when missing). Every file
        the manager reads or writes stays inside it.
    serializer
        How a state becomes bytes: :class:`NpzSerializer` (default, arrays only) or
        :class:`driftline.integrations.torch.TorchSerializer`.
    every
        Save periodically every ``every`` steps (see :meth:`should_save`); ``None``
        turns periodic saves off.
    metric, mode
        Metric that ranks checkpoints and triggers on-improvement saves;
        ``mode="min"`` when lower is better (default), ``"max"`` otherwise.
    keep_last
        Most recent checkpoints kept (default 3; at least 1).
    keep_best
        Best checkpoints by ``metric`` kept in addition (default 1; 0 with no metric).
    min_delta
        Smallest absolute improvement of ``metric`` that triggers a save (default 0).
    prefix
        File name prefix (letters, digits, ``_`` and ``-``; default ``"ckpt"``).
    clock
        Returns the wall-clock time recorded in the manifest (default :func:`time.time`).

    Example
    -------
    >>> import tempfile, numpy as np
    >>> cm = CheckpointManager(tempfile.mkdtemp(), every=10, metric="val_loss", keep_last=1)
    >>> for step in (10, 20, 30):
    ...     _ = cm.save(step, {"w": np.full(2, step)}, {"val_loss": {10: 0.5, 20: 0.3, 30: 0.4}[step]})
    >>> [c.step for c in cm.checkpoints()]
    [20, 30]
    >>> info, state = cm.restore("best")
    >>> info.step, state["w"].tolist()
    (20, [20, 20])
    """

    def __init__(
        self,
        root: str | os.PathLike[str],
        *,
        serializer: Serializer | None = None,
        every: int | None = None,
        metric: str | None = None,
        mode: Literal["min", "max"] = "min",
        keep_last: int = 3,
        keep_best: int = 1,
        min_delta: float = 0.0,
        prefix: str = "ckpt",
        clock: Callable[[], float] = time.time,
    ) -> None:
        if every is not None and (type(every) is not int or every < 1):
            raise InputError(f"every: expected a positive int or None, got {every!r}")
        if type(keep_last) is not int or keep_last < 1:
            raise InputError(f"keep_last: expected an int >= 1, got {keep_last!r}")
        if type(keep_best) is not int or keep_best < 0:
            raise InputError(f"keep_best: expected an int >= 0, got {keep_best!r}")
        if mode not in ("min", "max"):
            raise InputError(f"mode: expected 'min' or 'max', got {mode!r}")
        if metric is not None and (not isinstance(metric, str) or not metric):
            raise InputError(f"metric: expected a non-empty metric key or None, got {metric!r}")
        if not isinstance(min_delta, int | float) or not min_delta >= 0:
            raise InputError(f"min_delta: expected a non-negative number, got {min_delta!r}")
        if not isinstance(prefix, str) or not _PREFIX_RE.match(prefix):
            raise InputError(
                f"prefix: expected letters, digits, '_' or '-' (no path separators), got {prefix!r}"
            )
        self.serializer: Serializer = serializer if serializer is not None else NpzSerializer()
        if not isinstance(self.serializer.suffix, str) or not _SUFFIX_RE.match(
            self.serializer.suffix
        ):
            raise InputError(
                f"serializer.suffix: expected a short extension like '.pt', "
                f"got {self.serializer.suffix!r}"
            )
        self.root = Path(root)
        self.root.mkdir(parents=True, exist_ok=True)
        self.root = self.root.resolve()
        self.every = every
        self.metric = metric
        self.mode = mode
        self.keep_last = keep_last
        self.keep_best = keep_best if metric is not None else 0
        self.min_delta = float(min_delta)
        self.prefix = prefix
        self.clock = clock
        self._entries: list[CheckpointInfo] = self._read_manifest()
        self._cleanup()

    # ------------------------------------------------------------------ paths
    def _path(self, name: str) -> Path:
        """``root/name`` after checking that it cannot leave ``root``."""
        if (
            not isinstance(name, str)
            or not name
            or name in (".", "..")
            or "/" in name
            or "\\" in name
            or "\x00" in name
            or os.path.isabs(name)
        ):
            raise CheckpointError(f"checkpoint file {name!r}: expected a plain name inside root")
        path = self.root / name
        resolved = path.resolve()
        if resolved.parent != self.root:
            raise CheckpointError(
                f"checkpoint file {name!r}: resolves to {str(resolved)!r}, outside {str(self.root)!r}"
            )
        return path

    def _read_manifest(self) -> list[CheckpointInfo]:
        path = self.root / MANIFEST
        if not path.exists():
            return []
        if path.is_symlink():
            raise CheckpointError(f"{MANIFEST}: expected a regular file in root, got a symlink")
        try:
            data = json.loads(path.read_text(encoding="utf-8"))
            entries = data["checkpoints"]
            if not isinstance(entries, list):
                raise TypeError("checkpoints is not a list")
        except (OSError, ValueError, KeyError, TypeError) as exc:
            raise CheckpointError(f"{path}: expected a driftline checkpoint manifest") from exc
        out = [CheckpointInfo.from_dict(e) for e in entries]
        for e in out:
            self._path(e.file)  # reject a tampered manifest at once
        return sorted(out, key=lambda c: c.step)

    def _write_manifest(self, entries: list[CheckpointInfo]) -> None:
        body = {
            "version": 1,
            "metric": self.metric,
            "mode": self.mode,
            "checkpoints": [e.to_dict() for e in entries],
        }
        data = json.dumps(body, indent=1, sort_keys=True, allow_nan=False).encode()

        def write(f: IO[bytes]) -> None:
            f.write(data)

        atomic_write(self.root, MANIFEST, write)

    def _cleanup(self) -> None:
        """Remove interrupted writes and checkpoint files the manifest does not name."""
        known = {e.file for e in self._entries}
        pattern = re.compile(rf"^{re.escape(self.prefix)}-\d+{re.escape(self.serializer.suffix)}$")
        for p in self.root.iterdir():
            if p.name.startswith(_TMP_PREFIX) or (pattern.match(p.name) and p.name not in known):
                with contextlib.suppress(OSError):
                    p.unlink()

    # ------------------------------------------------------------------ policy
    def _score(self, info: CheckpointInfo) -> float | None:
        if self.metric is None:
            return None
        v = info.metrics.get(self.metric)
        return v if v is not None and math.isfinite(v) else None

    def _improves(self, value: float, best: float) -> bool:
        if self.mode == "min":
            return value < best - self.min_delta
        return value > best + self.min_delta

    def best(self) -> CheckpointInfo | None:
        """The kept checkpoint with the best ``metric`` (``None`` when none has it)."""
        scored = [(s, e) for e in self._entries if (s := self._score(e)) is not None]
        if not scored:
            return None
        pick = min if self.mode == "min" else max
        return pick(scored, key=lambda se: (se[0], -se[1].step))[1]

    def last(self) -> CheckpointInfo | None:
        """The most recent kept checkpoint (``None`` when there is none)."""
        return self._entries[-1] if self._entries else None

    def checkpoints(self) -> list[CheckpointInfo]:
        """Every kept checkpoint, oldest first."""
        return list(self._entries)

    def should_save(self, step: int, metrics: Mapping[str, float] | None = None) -> str | None:
        """Why a checkpoint is due at ``step`` (``"periodic"`` or ``"best"``), else ``None``.

        ``"best"`` means ``metrics[metric]`` improves on every kept checkpoint by
        more than ``min_delta``.
        """
        if self.metric is not None and metrics and self.metric in metrics:
            v = float(metrics[self.metric])
            best = self.best()
            best_v = self._score(best) if best is not None else None
            if math.isfinite(v) and (best_v is None or self._improves(v, best_v)):
                return "best"
        if self.every is not None and step > 0 and step % self.every == 0:
            last = self.last()
            if last is None or last.step != step:
                return "periodic"
        return None

    def _retained(self, entries: list[CheckpointInfo]) -> list[CheckpointInfo]:
        keep = {e.step for e in entries[-self.keep_last :]}
        scored = [(s, e) for e in entries if (s := self._score(e)) is not None]
        scored.sort(key=lambda se: se[0] if self.mode == "min" else -se[0])
        keep.update(e.step for _, e in scored[: self.keep_best])
        return [e for e in entries if e.step in keep]

    # ------------------------------------------------------------------ save / load
    def save(
        self,
        step: int,
        state: Any,
        metrics: Mapping[str, float] | None = None,
        *,
        reason: str = "manual",
    ) -> CheckpointInfo:
        """Write ``state`` as the checkpoint of ``step`` and apply the retention policy.

        A checkpoint already kept for ``step`` is replaced. Returns its manifest entry.
        """
        if type(step) is not int or step < 0:
            raise InputError(f"step: expected a non-negative int, got {step!r}")
        clean: dict[str, float] = {}
        for k, v in dict(metrics or {}).items():
            try:
                value = float(v)
            except (TypeError, ValueError) as exc:
                raise InputError(f"metrics[{k!r}]: expected a number, got {v!r}") from exc
            if math.isfinite(value):  # JSON has no NaN; a non-finite value never ranks best
                clean[str(k)] = value
        name = f"{self.prefix}-{step:09d}{self.serializer.suffix}"
        self._path(name)
        sha, size = atomic_write(self.root, name, lambda f: self.serializer.dump(state, f))
        info = CheckpointInfo(step, name, sha, size, float(self.clock()), clean, (str(reason),))
        entries = [e for e in self._entries if e.step != step] + [info]
        entries.sort(key=lambda c: c.step)
        kept = self._retained(entries)
        self._write_manifest(kept)
        dropped = {e.file for e in [*self._entries, info]} - {e.file for e in kept}
        self._entries = kept
        for f in dropped:
            with contextlib.suppress(OSError):
                self._path(f).unlink()
        return info

    def maybe_save(
        self, step: int, state: Callable[[], Any], metrics: Mapping[str, float] | None = None
    ) -> CheckpointInfo | None:
        """Save when :meth:`should_save` says so; ``state`` is called only then."""
        reason = self.should_save(step, metrics)
        if reason is None:
            return None
        return self.save(step, state(), metrics, reason=reason)

    def resolve(self, which: str | int = "last", *, before: int | None = None) -> CheckpointInfo:
        """The manifest entry for ``"last"``, ``"best"`` or a step number.

        ``before`` limits the choice to checkpoints with a smaller step (the last
        good one before a detection). Raises :class:`~driftline.errors.NotFoundError`
        when there is no such checkpoint.
        """
        entries = self._entries
        if before is not None:
            entries = [e for e in entries if e.step < before]
        if which == "last":
            found = entries[-1] if entries else None
        elif which == "best":
            b = self.best()
            found = b if b is not None and (before is None or b.step < before) else None
        elif type(which) is int:
            found = next((e for e in entries if e.step == which), None)
        else:
            raise InputError(f"which: expected 'last', 'best' or a step number, got {which!r}")
        if found is None:
            limit = "" if before is None else f" before step {before}"
            raise NotFoundError(f"which: no checkpoint {which!r}{limit} in {str(self.root)!r}")
        return found

    def restore(
        self, which: str | int = "last", *, before: int | None = None
    ) -> tuple[CheckpointInfo, Any]:
        """Load a checkpoint (see :meth:`resolve`) after checking its sha256.

        Raises :class:`CheckpointError` when the file is missing, is a symlink
        leaving the root, or does not match its hash.
        """
        info = self.resolve(which, before=before)
        path = self._path(info.file)
        if path.is_symlink():
            raise CheckpointError(f"checkpoint file {info.file!r}: expected a file, got a symlink")
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise CheckpointError(f"checkpoint of step {info.step}: cannot read {path}") from exc
        digest = hashlib.sha256(data).hexdigest()
        if digest != info.sha256:
            raise CheckpointError(
                f"checkpoint of step {info.step}: sha256 {digest[:12]}... does not match the "
                f"manifest's {info.sha256[:12]}..."
            )
        try:
            return info, self.serializer.load(io.BytesIO(data))
        except Exception as exc:
            raise CheckpointError(f"checkpoint of step {info.step}: cannot deserialize") from exc

    def resume(self) -> tuple[CheckpointInfo, Any] | None:
        """The newest checkpoint that loads, for resuming an interrupted run; ``None`` if none.

        A checkpoint that fails its hash check is skipped in favour of an older one.
        """
        for info in reversed(self._entries):
            try:
                return self.restore(info.step)
            except CheckpointError:
                continue
        return None

    def __repr__(self) -> str:
        return f"CheckpointManager(root={str(self.root)!r}, n={len(self._entries)})"
