"""`python -m vime.demo` writes a file with every kind of table, and vime-rpc lists it."""

from __future__ import annotations

import subprocess
import sys

import pandas as pd

from benchmarks.checks import cell_matches
from tests.conftest import ROOT


def run_demo(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, "-m", "vime.demo", *args],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )


def test_demo_file_has_every_kind_of_table(tmp_path, rpc):
    path = tmp_path / "cache" / "demo.h5"
    done = run_demo(str(path), "--rows", "3000")
    assert done.stdout.strip() == str(path)
    opened = rpc.call("open", path=str(path))
    assert opened["ok"], opened
    assert opened["attrs"]["title"] == "vime demo file"
    tables = {table["name"]: table for table in opened["tables"]}
    assert tables["/sensors/timeseries"]["kind"] == "pandas-table"
    assert tables["/sensors/timeseries"]["rows"] == 3000
    assert tables["/runs/summary"]["kind"] == "pandas-fixed"
    assert tables["/detector/events"]["kind"] == "compound"
    assert tables["/detector/events"]["attrs"] == {"units": "keV"}
    assert tables["/field/cube"]["shape"] == [12, 64, 64]
    page = rpc.call("table", name="/sensors/timeseries", start=2990, count=10)
    assert page["ok"] and (page["start"], page["stop"]) == (2990, 3000)
    shown = [line.split() for line in page["content"].splitlines()[3:]]
    expected = pd.read_hdf(path, "/sensors/timeseries").iloc[2990:3000]
    assert page["columns"] == list(expected.columns)
    assert [f"{row[0]} {row[1]}" for row in shown] == [str(t) for t in expected.index]
    for row, (_, values) in zip(shown, expected.iterrows(), strict=True):
        assert all(cell_matches(c, v) for c, v in zip(row[2:], values.tolist(), strict=True)), row


def test_existing_demo_file_is_kept_unless_forced(tmp_path):
    path = tmp_path / "demo.h5"
    path.write_bytes(b"placeholder")
    run_demo(str(path), "--rows", "100")
    assert path.read_bytes() == b"placeholder"
    run_demo(str(path), "--rows", "100", "--force")
    assert path.read_bytes()[:8] == b"\x89HDF\r\n\x1a\n"
    assert sorted(p.name for p in tmp_path.iterdir()) == ["demo.h5"]  # no temp file left
