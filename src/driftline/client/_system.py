"""System metrics sampled by the SDK's background thread (never on the caller's thread).

CPU and memory come from ``psutil`` when it is installed (it is optional);
GPU memory from ``torch.cuda`` only when the program already imported torch
and CUDA is available (the SDK never imports torch itself).
"""

from __future__ import annotations

import sys
from typing import Any

__all__ = ["sample_system_metrics"]


def sample_system_metrics() -> dict[str, float]:
    """Current process and machine metrics, keyed ``system/...``; empty when nothing is available.

    Example
    -------
    >>> isinstance(sample_system_metrics(), dict)
    True
    """
    out: dict[str, float] = {}
    try:
        import psutil
    except ImportError:
        psutil = None
    if psutil is not None:
        out["system/cpu_percent"] = float(psutil.cpu_percent(interval=None))
        vm = psutil.virtual_memory()
        out["system/memory_percent"] = float(vm.percent)
        out["system/process_rss_bytes"] = float(psutil.Process().memory_info().rss)
    torch: Any = sys.modules.get("torch")
    if torch is not None:
        try:
            if torch.cuda.is_available():
                for i in range(torch.cuda.device_count()):
                    out[f"system/gpu{i}_memory_allocated_bytes"] = float(
                        torch.cuda.memory_allocated(i)
                    )
                    out[f"system/gpu{i}_memory_reserved_bytes"] = float(
                        torch.cuda.memory_reserved(i)
                    )
        except Exception:  # a broken CUDA setup must not stop the sampler
            pass
    return out
