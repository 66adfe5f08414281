"""CheckpointManager: retention, restore, resume, atomic writes under crashes, path safety."""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import sys
import textwrap
import time
from pathlib import Path
from typing import IO, Any

import numpy as np
import pytest

from driftline.errors import InputError, NotFoundError
from driftline.training import CheckpointError, CheckpointManager, NpzSerializer


def _state(step: int) -> dict[str, np.ndarray]:
    return {"w": np.full(3, float(step)), "b": np.arange(step % 5, dtype=np.int64)}


def _files(root: Path) -> list[str]:
    return sorted(p.name for p in root.iterdir())


def test_retention_keeps_last_k_and_best_k(tmp_path: Path) -> None:
    cm = CheckpointManager(tmp_path, metric="val_loss", keep_last=2, keep_best=2)
    losses = {10: 0.9, 20: 0.3, 30: 0.5, 40: 0.2, 50: 0.6, 60: 0.7}
    for step, v in losses.items():
        cm.save(step, _state(step), {"val_loss": v})
    assert [c.step for c in cm.checkpoints()] == [20, 40, 50, 60]
    assert _files(tmp_path) == [
        "ckpt-000000020.npz",
        "ckpt-000000040.npz",
        "ckpt-000000050.npz",
        "ckpt-000000060.npz",
        "manifest.json",
    ]
    assert cm.best() is not None and cm.best().step == 40  # type: ignore[union-attr]
    assert cm.last() is not None and cm.last().step == 60  # type: ignore[union-attr]
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    entry = manifest["checkpoints"][1]
    assert entry["step"] == 40 and entry["metrics"] == {"val_loss": 0.2}
    assert len(entry["sha256"]) == 64 and entry["size"] == (tmp_path / entry["file"]).stat().st_size


def test_max_mode_and_min_delta(tmp_path: Path) -> None:
    cm = CheckpointManager(tmp_path, metric="acc", mode="max", min_delta=0.01, keep_last=1)
    assert cm.should_save(1, {"acc": 0.5}) == "best"
    cm.save(1, _state(1), {"acc": 0.5})
    assert cm.should_save(2, {"acc": 0.505}) is None
    assert cm.should_save(2, {"acc": float("nan")}) is None
    assert cm.should_save(2, {"acc": 0.52}) == "best"
    cm.save(2, _state(2), {"acc": 0.52})
    cm.save(3, _state(3), {"acc": 0.1})
    assert [c.step for c in cm.checkpoints()] == [2, 3]
    assert cm.restore("best")[0].step == 2


def test_periodic_schedule_and_maybe_save(tmp_path: Path) -> None:
    cm = CheckpointManager(tmp_path, every=5)
    calls = []

    def state() -> dict[str, np.ndarray]:
        calls.append(1)
        return _state(0)

    saved = [s for s in range(0, 21) if cm.maybe_save(s, state) is not None]
    assert saved == [5, 10, 15, 20] and len(calls) == 4
    assert cm.should_save(20) is None  # already saved at this step


def test_restore_by_step_before_and_names(tmp_path: Path) -> None:
    cm = CheckpointManager(tmp_path, keep_last=5, clock=lambda: 1234.5)
    for step in (3, 6, 9):
        cm.save(step, _state(step), reason="periodic")
    info, state = cm.restore(6)
    assert info.step == 6 and info.time == 1234.5 and info.reasons == ("periodic",)
    np.testing.assert_array_equal(state["w"], _state(6)["w"])
    np.testing.assert_array_equal(state["b"], _state(6)["b"])
    assert cm.restore("last", before=9)[0].step == 6
    assert cm.restore("last", before=4)[0].step == 3
    with pytest.raises(NotFoundError, match="before step 3"):
        cm.restore("last", before=3)
    with pytest.raises(NotFoundError):
        cm.restore(7)
    with pytest.raises(NotFoundError):
        cm.restore("best")  # no metric
    with pytest.raises(InputError, match="which"):
        cm.restore("first")


def test_resume_reopens_the_root_and_skips_a_corrupt_latest(tmp_path: Path) -> None:
    cm = CheckpointManager(tmp_path, keep_last=3)
    for step in (1, 2, 3):
        cm.save(step, _state(step))
    (tmp_path / "ckpt-000000003.npz").write_bytes(b"garbage")
    reopened = CheckpointManager(tmp_path, keep_last=3)
    assert [c.step for c in reopened.checkpoints()] == [1, 2, 3]
    with pytest.raises(CheckpointError, match="sha256"):
        reopened.restore(3)
    resumed = reopened.resume()
    assert resumed is not None and resumed[0].step == 2
    assert CheckpointManager(tmp_path / "fresh").resume() is None


class _Exploding(NpzSerializer):
    """Writes part of the checkpoint, then fails (a crash in the middle of a write)."""

    def dump(self, state: Any, file: IO[bytes]) -> None:
        file.write(b"PK\x03\x04 half a checkpoint")
        raise RuntimeError("disk on fire")


def test_failure_mid_write_leaves_the_previous_checkpoint(tmp_path: Path) -> None:
    good = CheckpointManager(tmp_path, keep_last=1)
    good.save(5, _state(5))
    before = (tmp_path / "manifest.json").read_bytes()
    bad = CheckpointManager(tmp_path, keep_last=1, serializer=_Exploding())
    with pytest.raises(RuntimeError, match="disk on fire"):
        bad.save(6, _state(6))
    assert (tmp_path / "manifest.json").read_bytes() == before
    assert _files(tmp_path) == ["ckpt-000000005.npz", "manifest.json"]  # temp file removed
    info, state = CheckpointManager(tmp_path).restore("last")
    assert info.step == 5 and state["w"][0] == 5.0


def test_killed_process_mid_write_leaves_the_previous_checkpoint(tmp_path: Path) -> None:
    CheckpointManager(tmp_path, keep_last=1).save(1, _state(1))
    flag = tmp_path.parent / f"{tmp_path.name}-writing"
    script = textwrap.dedent(
        f"""
        import time, pathlib, numpy as np
        from driftline.training import CheckpointManager, NpzSerializer

        class Slow(NpzSerializer):
            def dump(self, state, file):
                file.write(b"x" * 65536)
                file.flush()
                pathlib.Path({str(flag)!r}).touch()
                time.sleep(60)

        CheckpointManager({str(tmp_path)!r}, keep_last=1, serializer=Slow()).save(
            2, {{"w": np.zeros(3)}})
        """
    )
    proc = subprocess.Popen([sys.executable, "-c", script])
    try:
        deadline = time.monotonic() + 20
        while not flag.exists():
            assert proc.poll() is None, "the writer died before it started writing"
            assert time.monotonic() < deadline, "the writer never started"
            time.sleep(0.02)
        proc.kill()
    finally:
        proc.wait(10)
    leftovers = [n for n in _files(tmp_path) if n.startswith(".tmp-")]
    assert leftovers, "the killed writer should have left its partial temp file"
    reopened = CheckpointManager(tmp_path, keep_last=1)
    assert [c.step for c in reopened.checkpoints()] == [1]
    info, state = reopened.restore("last")
    assert info.step == 1 and state["w"][0] == 1.0
    assert _files(tmp_path) == ["ckpt-000000001.npz", "manifest.json"]  # cleaned up


def _tamper(root: Path, file: str) -> None:
    path = root / "manifest.json"
    data = json.loads(path.read_text())
    data["checkpoints"][0]["file"] = file
    path.write_text(json.dumps(data))


@pytest.mark.parametrize(
    "file", ["../outside.npz", "/etc/passwd", "sub/ckpt.npz", "..", "..\\x.npz", ""]
)
def test_manifest_paths_outside_the_root_are_rejected(tmp_path: Path, file: str) -> None:
    root = tmp_path / "ckpts"
    CheckpointManager(root).save(1, _state(1))
    (tmp_path / "outside.npz").write_bytes(b"")
    _tamper(root, file)
    with pytest.raises(CheckpointError, match="checkpoint file"):
        CheckpointManager(root)


def test_symlink_escaping_the_root_is_rejected(tmp_path: Path) -> None:
    root = tmp_path / "ckpts"
    cm = CheckpointManager(root)
    cm.save(1, _state(1))
    secret = tmp_path / "secret.npz"
    secret.write_bytes((root / "ckpt-000000001.npz").read_bytes())
    os.remove(root / "ckpt-000000001.npz")
    os.symlink(secret, root / "ckpt-000000001.npz")
    with pytest.raises(CheckpointError, match="outside"):
        CheckpointManager(root)
    os.remove(root / "ckpt-000000001.npz")
    os.symlink(tmp_path, root / "link")
    _tamper(root, "link/secret.npz")
    with pytest.raises(CheckpointError, match="plain name"):
        CheckpointManager(root)


def test_symlinked_manifest_is_rejected(tmp_path: Path) -> None:
    root = tmp_path / "ckpts"
    CheckpointManager(root).save(1, _state(1))
    (tmp_path / "m.json").write_bytes((root / "manifest.json").read_bytes())
    os.remove(root / "manifest.json")
    os.symlink(tmp_path / "m.json", root / "manifest.json")
    with pytest.raises(CheckpointError, match="symlink"):
        CheckpointManager(root)


@pytest.mark.parametrize(
    ("kwargs", "needle"),
    [
        ({"prefix": "../x"}, "prefix"),
        ({"prefix": "a/b"}, "prefix"),
        ({"every": 0}, "every"),
        ({"keep_last": 0}, "keep_last"),
        ({"keep_best": -1}, "keep_best"),
        ({"mode": "up"}, "mode"),
        ({"metric": ""}, "metric"),
        ({"min_delta": -0.1}, "min_delta"),
    ],
)
def test_bad_arguments_name_the_parameter(
    tmp_path: Path, kwargs: dict[str, Any], needle: str
) -> None:
    with pytest.raises(InputError, match=needle):
        CheckpointManager(tmp_path, **kwargs)


def test_bad_step_metrics_and_malformed_manifest(tmp_path: Path) -> None:
    cm = CheckpointManager(tmp_path)
    with pytest.raises(InputError, match="step"):
        cm.save(-1, _state(1))
    with pytest.raises(InputError, match="metrics"):
        cm.save(1, _state(1), {"loss": "abc"})  # type: ignore[dict-item]
    (tmp_path / "manifest.json").write_text("{not json")
    with pytest.raises(CheckpointError, match="manifest"):
        CheckpointManager(tmp_path)
    (tmp_path / "manifest.json").write_text(json.dumps({"checkpoints": [{"step": "1"}]}))
    with pytest.raises(CheckpointError, match="malformed"):
        CheckpointManager(tmp_path)


def test_npz_never_unpickles(tmp_path: Path) -> None:
    cm = CheckpointManager(tmp_path)
    with pytest.raises(InputError, match=r"'obj'.*dtype object"):
        cm.save(1, {"obj": np.array([object()], dtype=object)})
    cm.save(2, _state(2))
    # a checkpoint file replaced by one holding a pickle, with a matching manifest hash
    path = tmp_path / "ckpt-000000002.npz"
    np.savez(path, evil=np.array([{"a": 1}], dtype=object), allow_pickle=True)
    manifest = json.loads((tmp_path / "manifest.json").read_text())
    manifest["checkpoints"][0]["sha256"] = hashlib.sha256(path.read_bytes()).hexdigest()
    (tmp_path / "manifest.json").write_text(json.dumps(manifest))
    with pytest.raises(CheckpointError, match="deserialize") as info:
        CheckpointManager(tmp_path).restore(2)
    assert "pickle" in str(info.value.__cause__).lower()
    assert not any(n.startswith(".tmp-") for n in _files(tmp_path))
