"""The project's linters pass: ruff (check and format) and vint for Vim script."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
BIN = Path(sys.executable).parent


def run_tool(*args: str) -> subprocess.CompletedProcess:
    tool = BIN / args[0]
    if not tool.exists() and shutil.which(args[0]) is None:
        pytest.fail(f"{args[0]} is not installed: run bin/vime-env --test")
    command = [str(tool) if tool.exists() else args[0], *args[1:]]
    return subprocess.run(command, cwd=ROOT, capture_output=True, text=True)


def test_ruff_check_passes():
    done = run_tool("ruff", "check", "--no-cache", "vime", "tests", "benchmarks")
    assert done.returncode == 0, done.stdout + done.stderr


def test_ruff_format_is_applied():
    done = run_tool("ruff", "format", "--no-cache", "--check", "vime", "tests", "benchmarks")
    assert done.returncode == 0, done.stdout + done.stderr


def test_vint_passes_on_vim_script():
    done = run_tool("vint", "autoload", "plugin")
    assert done.returncode == 0, done.stdout + done.stderr
