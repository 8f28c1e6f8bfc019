"""One line describing the machine a benchmark ran on (every figure is stated with it)."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path


def describe(*, with_load: bool = False) -> str:
    cpu = "unknown CPU"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    try:
        mem = subprocess.run(["free", "-h"], capture_output=True, text=True).stdout.splitlines()[1].split()[1]
    except (OSError, IndexError):
        mem = "?"
    text = f"{os.cpu_count()} cores ({cpu}), {mem} RAM, {platform.system()} {platform.release()}, Python {platform.python_version()}"
    if with_load and hasattr(os, "getloadavg"):
        text += f"; load average {os.getloadavg()[0]:.1f}"
    return text


NOTES_MARKER = "<!-- Notes below are written by people and kept by every run of the bench. -->"


def write_figures(path, figures: str) -> None:
    """Write a bench's generated figures to `path`, keeping the hand-written notes that follow
    NOTES_MARKER in the current file (what changed, how to read the figures)."""
    from pathlib import Path

    path = Path(path)
    notes = ""
    if path.exists():
        current = path.read_text()
        if NOTES_MARKER in current:
            notes = current[current.index(NOTES_MARKER):]
    path.parent.mkdir(exist_ok=True)
    path.write_text(figures.rstrip("\n") + "\n\n" + notes if notes else figures.rstrip("\n") + "\n")
