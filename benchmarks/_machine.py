"""One line describing the machine a benchmark ran on (shared by every benchmark script)."""

from __future__ import annotations

import os
import platform

import numpy as np


def describe():
    """CPU model, core count, Python and numpy versions, e.g. for a results table."""
    return (f"{_cpu_model()}, {os.cpu_count()} cores, Python {platform.python_version()}, "
            f"numpy {np.__version__}")


def _cpu_model():
    try:
        with open("/proc/cpuinfo") as f:
            for line in f:
                if line.startswith("model name"):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or platform.machine()
