"""What a measurement ran on: the CPU, cores and torch build, and the process's peak memory."""

from __future__ import annotations

import os
import platform
import resource
from pathlib import Path

import torch


def machine() -> str:
    """``'AMD EPYC, 2 cores, torch 2.13.0+cpu, 2 threads'`` (with the GPU's name when one is visible)."""
    cpu = platform.processor() or platform.machine()
    info = Path("/proc/cpuinfo")
    if info.is_file():
        names = [
            line.split(":", 1)[1].strip() for line in info.read_text().splitlines() if line.startswith("model name")
        ]
        cpu = names[0] if names else cpu
    described = f"{cpu}, {os.cpu_count()} cores, torch {torch.__version__}, {torch.get_num_threads()} threads"
    return described + (f", {torch.cuda.get_device_name()}" if torch.cuda.is_available() else "")


def peak_rss_mib() -> float:
    """This process's peak RSS. ``VmHWM`` belongs to the process image, unlike ``ru_maxrss``, which Linux
    carries over from the parent across fork + exec (a child would report its parent's peak)."""
    status = Path("/proc/self/status")
    if status.is_file():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
