"""`make lock` (docs/deployment.md) re-resolves the lock files from pyproject.toml, and the
committed lock files are what it produces: a dependency changed in pyproject.toml without
`make lock` fails here, not on a new machine."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.slow
def test_make_lock_reproduces_the_committed_lock_files(tmp_path):
    for name in ("Makefile", "pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, tmp_path / name)
    shutil.copytree(ROOT / "requirements", tmp_path / "requirements")
    result = subprocess.run(
        ["make", "--no-print-directory", "lock", f"PYTHON={sys.executable}", f"LOCK_VENV={tmp_path / 'lock-venv'}"],
        cwd=tmp_path, capture_output=True, text=True, timeout=900,
    )
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-3000:]
    for name in ("runtime.txt", "test.txt"):
        made = (tmp_path / "requirements" / name).read_text()
        assert made == (ROOT / "requirements" / name).read_text(), f"requirements/{name} is stale: run `make lock`"
