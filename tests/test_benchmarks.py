"""The benchmarks must not rot: a --quick run end to end, and the judging logic.

No timing is asserted here (speed lives in benchmarks/RESULTS.md); the quick
run must produce every row with real numbers and no errors.
"""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import pytest

from benchmarks.cases import Case, Target, all_cases
from benchmarks.processes import BenchError, Sample
from benchmarks.report import render
from benchmarks.runner import run_case

ROOT = Path(__file__).resolve().parent.parent
NUMBER = re.compile(r"^\d+(\.\d+)? (ms|s)$")
MEGABYTES = re.compile(r"^\d+ MB$")


def table_rows(markdown: str) -> dict[str, dict[str, str]]:
    """The results table as {operation: {column: cell}}."""
    lines = [line for line in markdown.splitlines() if line.startswith("| ")]
    header = [cell.strip() for cell in lines[0].strip("|").split("|")]
    rows = {}
    for line in lines[1:]:
        cells = [cell.strip() for cell in line.strip("|").split("|")]
        rows[cells[0]] = dict(zip(header, cells, strict=True))
    return rows


def repo_results() -> bytes | None:
    path = ROOT / "benchmarks" / "RESULTS.md"
    return path.read_bytes() if path.exists() else None


@pytest.fixture(scope="module")
def quick_results(tmp_path_factory):
    """One `python -m benchmarks --quick` into a temporary cache and results file."""
    folder = tmp_path_factory.mktemp("bench")
    results = folder / "RESULTS.md"
    before = repo_results()
    command = ["-m", "benchmarks", "--quick", "--cache", str(folder / "cache")]
    run = subprocess.run(
        [sys.executable, *command, "--results", str(results)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=280,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert repo_results() == before, "a --results run must leave the repository's RESULTS.md"
    return run.stdout, results.read_text(), folder


def test_quick_run_writes_the_printed_table(quick_results):
    printed, written, _ = quick_results
    assert written.strip() == printed.strip()
    assert "quick run" in written
    for fact in ("cores", "memory", "Python 3.", "pandas ", "h5py ", "tables ", "date: "):
        assert fact in written


def test_quick_run_has_every_row_with_numbers(quick_results):
    _, written, _ = quick_results
    rows = table_rows(written)
    for case in all_cases():
        assert case.operation in rows, f"row missing: {case.operation}"
        row = rows[case.operation]
        assert not row["result"].startswith("**ERROR"), f"{case.operation}: {row['result']}"
        assert row["result"] in ("met", "—") or row["result"].startswith("**NOT MET**")
        if case.baseline is not None:
            assert NUMBER.match(row["baseline"]), f"{case.operation}: {row['baseline']}"
            assert re.match(r"^\d+\.\d+x (faster|slower)$", row["ratio"]), row["ratio"]
        if case.floor is not None:
            assert NUMBER.match(row["floor (h5py slice)"]), row
        if case.key.startswith("pages-rss"):
            assert re.match(r"^RSS \d+ → \d+ → \d+ MB \(", row["vime"]), row["vime"]
        else:
            assert NUMBER.match(row["vime"]), f"{case.operation}: {row['vime']}"
        if not case.key.startswith("editor"):
            assert MEGABYTES.match(row["vime peak RSS"]), row


def test_quick_run_generated_the_reference_files(quick_results):
    import h5py
    import pandas as pd

    _, _, folder = quick_results
    (files_dir,) = (folder / "cache").iterdir()
    with pd.HDFStore(files_dir / "table.h5", mode="r") as store:
        assert store.get_storer("/data").nrows == 1_000_000
        assert store.get_storer("/data").ncols == 10
    with h5py.File(files_dir / "matrix.h5", "r") as handle:
        assert handle["/matrix"].shape == (1_000_000, 8)
        assert handle["/matrix"].chunks is not None
    with h5py.File(files_dir / "records.h5", "r") as handle:
        assert handle["/records"].dtype.names is not None
    assert not list(files_dir.glob("*.partial"))


# -- the judging logic, on made-up samples ---------------------------------------
def fixed(seconds: float, rss: float = 50.0, check=None):
    return lambda bench: Sample(seconds, rss, check=check)


def failing(bench):
    raise BenchError("handler not built")


def case(vime, baseline, target, compare=False) -> Case:
    return Case("k", "made-up row", vime, baseline, "made-up baseline", target, compare=compare)


def test_a_failing_vime_side_is_an_error_row_not_a_crash():
    row = run_case(case(failing, fixed(1.0), Target("faster", min_speedup=1)), None, runs=3)
    assert row.status == "ERROR"
    assert row.reasons == ["vime: handler not built"]
    assert len(row.baseline.samples) == 3  # the baseline is still measured
    text = render([row], "quick", "", 1.0, "q", 10)
    assert "**ERROR**: vime: handler not built" in text
    assert "1 of 1 rows miss their target or failed" in text


def test_medians_and_ratio_decide_met_and_not_met():
    met = run_case(case(fixed(0.01), fixed(1.0), Target("20x", min_speedup=20)), None, runs=3)
    assert met.status == "met"
    missed = run_case(case(fixed(0.1), fixed(1.0), Target("20x", min_speedup=20)), None, runs=3)
    assert missed.status == "NOT MET"
    assert missed.reasons == ["speedup 10.0x < 20x"]
    text = render([met, missed], "full", "", 1.0, "q", 10)
    assert "100.0x faster" in text and "10.0x faster" in text


def test_memory_and_slowdown_limits():
    target = Target("≤ 1.5x, ≤ 400 MB", max_slowdown=1.5, max_rss_mb=400)
    row = run_case(case(fixed(2.0, rss=500), fixed(1.0), target), None, runs=1)
    assert row.status == "NOT MET"
    assert row.reasons == ["2.00x the baseline's time > 1.5x", "peak RSS 500 MB > 400 MB"]


def test_a_result_that_differs_from_the_baseline_is_an_error():
    target = Target("faster", min_speedup=1)
    row = run_case(case(fixed(0.1, check=99), fixed(1.0, check=100), target, True), None, 1)
    assert row.status == "ERROR"
    assert "differs" in row.reasons[0]
