"""The benchmarks must not rot and must not lie.

A --quick run end to end (marked ``bench``: it runs under ``--all``) must
produce every row with real numbers, checked results and no errors. The
rest runs in every suite: the judging and reporting logic on made-up
samples, the checks that compare vime's text with the expected values, and
the launcher that makes every child's peak RSS its own.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
import textwrap
import time
from types import SimpleNamespace

import pytest

from benchmarks import checks, harness, heavy, remote
from benchmarks.__main__ import QUICK
from benchmarks.cases import Case, Target, all_cases
from benchmarks.processes import (
    BenchError,
    BenchSkipped,
    Launcher,
    Sample,
    TreePeak,
    cpu_seconds,
    vm_hwm_mb,
)
from benchmarks.report import render
from benchmarks.runner import run_case
from tests.conftest import ROOT, editor_or_skip

TIME = r"\d+(\.\d+)? (ms|s)"
NUMBER = re.compile(rf"^{TIME}$")
# "291 MB", "291 MB (PSS 190 MB)", or summed: "291 MB = 86 + 92 + 113 (PSS 190 MB)"
MEGABYTES = re.compile(r"^(\d+) MB(?: = (\d+) \+ (\d+) \+ (\d+))?( \(PSS \d+ MB\))?$")
# Rows timing many answers show the median and the slowest; cancels, when the worker went.
ANSWERS = re.compile(rf"^median {TIME}, max {TIME} \(\d+ (pages|flushes|keys, \d+ loads)\)$")
# The HSDS rows: a time, and the CPU time the service spent meanwhile.
SERVICE = re.compile(rf"^{TIME} \(service CPU {TIME}\)$")
CANCEL = re.compile(rf"^{TIME} \(worker gone ≤ {TIME}\)$")
EDITOR_ROWS = {
    "editor-list": "vim",
    "editor-page": "vim",
    "editor-nvim": "nvim",
    "editor-scroll-G-k": "vim",
    "editor-scroll-middle-j": "vim",
    "editor-follow": "vim",
}
# Rows shown for information: the cold first page, the backend at rest, and the floors
# that the rows after them are judged against.
INFORMATION_ROWS = ["page-cold", "at-rest", "col-floor-line", "col-floor-scatter", "heat-floor"]
AT_REST = re.compile(r"^vime-rpc \d+ MB \+ fork server \d+ MB$")


# The fixture generates the 1M-row files and runs every row: longer than the suite's
# per-test timeout allows (a few minutes on 2 cores; CI allows 90 for everything).
QUICK_RUN_TIMEOUT = 1800


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


# -- the quick run (under --all) -------------------------------------------------
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
        timeout=QUICK_RUN_TIMEOUT - 60,
    )
    assert run.returncode == 0, run.stderr[-2000:]
    assert repo_results() == before, "a --results run must leave the repository's RESULTS.md"
    return run.stdout, results.read_text(), folder


QUICK_CASES = all_cases(QUICK.scale)
TARGETED = [case for case in QUICK_CASES if case.target.checked and case.key not in EDITOR_ROWS]


# The quick run's tests: under --all only. xdist runs a file's tests in one worker
# (bin/vime-test: --dist loadfile), so the quick run happens once.
def bench(test):
    return pytest.mark.timeout(QUICK_RUN_TIMEOUT)(pytest.mark.bench(test))


@bench
def test_quick_run_writes_the_printed_table(quick_results):
    printed, written, _ = quick_results
    assert written.strip() == printed.strip()
    assert "quick run" in written
    for fact in ("cores", "memory", "Python 3.", "pandas ", "h5py ", "tables ", "date: "):
        assert fact in written
    targets = [case for case in QUICK_CASES if case.target.checked]
    assert re.search(rf"\*\*\d+ of {len(targets)} targets met\.\*\*", written)


def hsds_or_skip(row: dict) -> None:
    """The HSDS rows run where hsds and h5pyd are installed (CI installs them)."""
    missing = remote.missing_packages()
    if missing:
        assert row["result"].startswith("**SKIPPED**: ") and missing[0] in row["result"], row
        if os.environ.get("CI"):
            pytest.fail(row["result"])
        pytest.skip(row["result"])


@bench
@pytest.mark.parametrize("case", TARGETED, ids=lambda case: case.key)
def test_quick_run_row_has_numbers_and_a_checked_result(quick_results, case):
    row = table_rows(quick_results[1])[case.operation]
    remote_row = case.key.startswith("hsds-")
    if remote_row:
        hsds_or_skip(row)
    assert row["result"] == "met" or row["result"].startswith("**NOT MET**"), row["result"]
    if remote_row:
        assert SERVICE.match(row["vime"]), row["vime"]
        if case.baseline is not None:
            assert SERVICE.match(row["baseline"]), row["baseline"]
    elif case.baseline is not None:
        assert NUMBER.match(row["baseline"]), row["baseline"]
        ratio = (
            r"^\+\d+\.\d ms$"
            if case.target.max_overhead_seconds
            else r"^\d+\.\d+x (faster|slower)$"
        )
        assert re.match(ratio, row["ratio"]), row["ratio"]
    if case.floor is not None:
        assert NUMBER.match(row["floor (h5py slice)"]), row
    if case.key.startswith("pages-rss"):
        assert re.match(r"^RSS \d+ → \d+ → \d+ MB \(", row["vime"]), row["vime"]
    elif case.target.max_worst_seconds is not None:
        assert ANSWERS.match(row["vime"]), row["vime"]
    elif case.key.startswith("cancel-"):
        assert CANCEL.match(row["vime"]), row["vime"]
    elif not remote_row:
        assert NUMBER.match(row["vime"]), row["vime"]
    memory = MEGABYTES.match(row["vime peak RSS"])
    assert memory, row
    if memory[2] is not None:  # vime-rpc + fork server + workers: they make the sum
        parts = sum(int(memory[n]) for n in (2, 3, 4))
        assert abs(parts - int(memory[1])) <= 2, row["vime peak RSS"]


@bench
@pytest.mark.parametrize("key", INFORMATION_ROWS)
def test_quick_run_information_rows_have_numbers(quick_results, key):
    (case,) = [c for c in QUICK_CASES if c.key == key]
    row = table_rows(quick_results[1])[case.operation]
    assert row["result"] == "— (no target)"
    assert (AT_REST if key == "at-rest" else NUMBER).match(row["vime"]), row["vime"]
    if key == "at-rest":
        assert MEGABYTES.match(row["vime peak RSS"]) and "PSS" in row["vime peak RSS"], row


@bench
@pytest.mark.parametrize("key", sorted(EDITOR_ROWS))
def test_quick_run_editor_row(quick_results, key):
    (case,) = [c for c in QUICK_CASES if c.key == key]
    row = table_rows(quick_results[1])[case.operation]
    editor = EDITOR_ROWS[key]
    if shutil.which(editor) is None:
        assert row["result"] == f"**SKIPPED**: {editor} is not installed"
    editor_or_skip(editor)
    assert row["result"] == "met" or row["result"].startswith("**NOT MET**"), row["result"]
    shown = ANSWERS if key.startswith(("editor-scroll", "editor-follow")) else NUMBER
    assert shown.match(row["vime"]), row["vime"]


@bench
def test_quick_run_generated_the_reference_files(quick_results):
    import h5py
    import pandas as pd

    _, _, folder = quick_results
    files_dir = folder / "cache" / "v2-rows-1000000"
    with pd.HDFStore(files_dir / "table.h5", mode="r") as store:
        assert store.get_storer("/data").nrows == 1_000_000
        assert store.get_storer("/data").ncols == 10
    with h5py.File(files_dir / "matrix.h5", "r") as handle:
        assert handle["/matrix"].shape == (1_000_000, 8)
        assert handle["/matrix"].chunks is not None
    with h5py.File(files_dir / "records.h5", "r") as handle:
        assert handle["/records"].shape == (1_000_000,)
    for rows in QUICK.scale:
        with pd.HDFStore(folder / "cache" / f"v2-rows-{rows}" / "table.h5", mode="r") as store:
            assert store.get_storer("/data").nrows == rows
    assert not list((folder / "cache").glob("*/*.partial"))


# -- the judging logic, on made-up samples ---------------------------------------
BENCH = SimpleNamespace(checking=True)


def fixed(seconds: float, rss: float = 50.0, check=None):
    return lambda bench: Sample(seconds, rss, check=check)


def failing(bench):
    raise BenchError("handler not built")


def case(vime, baseline, target, **fields) -> Case:
    return Case("k", "made-up row", vime, baseline, "made-up baseline", target, **fields)


def test_a_failing_vime_side_is_an_error_row_not_a_crash():
    row = run_case(case(failing, fixed(1.0), Target("faster", min_speedup=1)), BENCH, runs=3)
    assert row.status == "ERROR"
    assert row.reasons == ["vime: handler not built"]
    assert len(row.baseline.samples) == 3  # the baseline is still measured
    text = render([row], "quick", "", 1.0, "q", 10)
    assert "| **ERROR**: vime: handler not built |" in text
    assert "**0 of 1 targets met.**" in text and "Errors (1):" in text


def test_medians_and_ratio_decide_met_and_not_met():
    met = run_case(case(fixed(0.01), fixed(1.0), Target("20x", min_speedup=20)), BENCH, runs=3)
    assert met.status == "met"
    missed = run_case(case(fixed(0.1), fixed(1.0), Target("20x", min_speedup=20)), BENCH, runs=3)
    assert missed.status == "NOT MET"
    assert missed.reasons == ["speedup 10.0x < 20x"]
    text = render([met, missed], "full", "", 1.0, "q", 10)
    assert "100.0x faster" in text and "10.0x faster" in text
    assert "**1 of 2 targets met.**" in text
    assert "Not met (1):\n- made-up row: speedup 10.0x < 20x" in text


def test_rows_without_a_target_are_not_counted():
    info = run_case(case(fixed(0.1), fixed(1.0), Target("none")), BENCH, runs=1)
    met = run_case(case(fixed(0.01), fixed(1.0), Target("20x", min_speedup=20)), BENCH, runs=1)
    assert info.status == "info"
    text = render([info, met], "full", "", 1.0, "q", 10)
    assert "**1 of 1 targets met.**" in text and "| — (no target) |" in text


def test_memory_and_slowdown_limits():
    target = Target("≤ 1.5x, ≤ 400 MB", max_slowdown=1.5, max_rss_mb=400)
    row = run_case(case(fixed(2.0, rss=500), fixed(1.0), target), BENCH, runs=1)
    assert row.status == "NOT MET"
    assert row.reasons == ["2.00x the baseline's time > 1.5x", "peak RSS 500 MB > 400 MB"]


def test_the_slowest_answer_and_an_overhead_are_targets_too():
    def answers(median, worst):
        return lambda bench: Sample(median, 50.0, extra={"worst": worst, "answers": 10})

    target = Target("median ≤ 50 ms, max ≤ 200 ms", max_seconds=0.05, max_worst_seconds=0.2)
    met = run_case(case(answers(0.01, 0.15), None, target), BENCH, runs=2)
    slow = run_case(case(answers(0.06, 0.25), None, target), BENCH, runs=2)
    assert met.status == "met"
    assert slow.reasons == ["median 60.0 ms > 50.0 ms", "max 250.0 ms > 200.0 ms"]
    text = render([met, slow], "full", "", 1.0, "q", 10)
    assert "| median 10.0 ms, max 150.0 ms (20 pages) |" in text
    overhead = Target("overhead ≤ 50 ms", max_overhead_seconds=0.05)
    cheap = run_case(case(fixed(0.07), fixed(0.03), overhead), BENCH, runs=1)
    costly = run_case(case(fixed(0.09), fixed(0.03), overhead), BENCH, runs=1)
    assert cheap.status == "met" and costly.reasons == ["overhead 60.0 ms > 50 ms"]
    assert "| +40.0 ms |" in render([cheap], "full", "", 1.0, "q", 10)


def test_a_process_tree_shows_its_peak_pss_beside_its_summed_rss():
    row = run_case(
        case(lambda bench: Sample(1.0, 300.0, pss_mb=180.0), None, Target("m", max_rss_mb=250)),
        BENCH,
        runs=1,
    )
    assert row.reasons == ["peak RSS 300 MB > 250 MB"], "judged on the summed RSS"
    assert "| 300 MB (PSS 180 MB) |" in render([row], "full", "", 1.0, "q", 10)


def test_a_summed_peak_is_shown_with_its_parts_from_the_highest_run():
    """vime-rpc + fork server + workers, as measured in the run whose sum is the highest."""
    samples = iter([Sample(1.0, 250.0, parts_mb=(50.0, 90.0, 110.0), pss_mb=150.0),
                    Sample(1.0, 310.0, parts_mb=(60.0, 90.0, 160.0), pss_mb=170.0)])  # fmt: skip
    row = run_case(
        case(lambda bench: next(samples), None, Target("m", max_rss_mb=400)), BENCH, runs=2
    )
    assert "| 310 MB = 60 + 90 + 160 (PSS 170 MB) |" in render([row], "full", "", 1.0, "q", 10)


def test_rss_within_a_band_of_the_baselines():
    target = Target("flat", max_slowdown=1.2, max_rss_delta_mb=10)
    same = run_case(case(fixed(1.1, rss=105), fixed(1.0, rss=100), target), BENCH, runs=1)
    grown = run_case(case(fixed(1.1, rss=115), fixed(1.0, rss=100), target), BENCH, runs=1)
    assert same.status == "met"
    assert grown.reasons == ["peak RSS 115 MB vs 100 MB: ±10 MB"]


def test_a_result_that_differs_from_the_baseline_is_an_error():
    target = Target("faster", min_speedup=1)
    row = run_case(
        case(fixed(0.1, check=99), fixed(1.0, check=100), target, compare=checks.same), BENCH, 1
    )
    assert row.status == "ERROR"
    assert row.reasons == ["wrong result: vime's 99 differs from 100"]
    assert "| **ERROR**: wrong result: vime's 99 differs from 100 |" in render(
        [row], "full", "", 1.0, "q", 10
    )


def test_a_result_left_unchecked_by_a_failing_baseline_is_an_error():
    target = Target("RSS", max_rss_mb=100)
    row = run_case(case(fixed(0.1, check=1), failing, target, compare=checks.same), BENCH, 1)
    assert row.status == "ERROR"
    assert row.reasons == ["result not checked: no baseline result (baseline: handler not built)"]


def test_the_expected_result_may_come_from_elsewhere_than_the_baseline():
    target = Target("faster", min_speedup=1)
    row = run_case(
        case(
            fixed(0.1, check=7),
            fixed(1.0, check=8),
            target,
            compare=checks.same,
            expected=lambda bench: 7,
        ),
        BENCH,
        2,
    )
    assert row.status == "met"


def test_a_skipped_row_says_why_and_is_not_met():
    def no_disk(bench):
        raise BenchSkipped("3 GB free; generating needs 20 GB")

    row = run_case(
        case(fixed(0.1), fixed(1.0), Target("x", max_slowdown=2), prepare=no_disk), BENCH, 2
    )
    assert (row.status, row.vime.samples) == ("SKIPPED", [])
    text = render([row], "full", "", 1.0, "q", 10)
    assert "| **SKIPPED**: 3 GB free; generating needs 20 GB |" in text
    assert "**0 of 1 targets met.**" in text and "Skipped (1):" in text


def test_an_editor_row_without_its_editor_is_skipped_with_the_reason(monkeypatch):
    monkeypatch.setattr("benchmarks.editor.shutil.which", lambda name: None)
    (nvim,) = [c for c in QUICK_CASES if c.key == "editor-nvim"]
    row = run_case(nvim, BENCH, runs=2)
    assert (row.status, row.reasons) == ("SKIPPED", ["nvim is not installed"])


def test_the_hsds_rows_without_hsds_are_skipped_with_the_reason(monkeypatch, tmp_path):
    monkeypatch.setattr(remote, "missing_packages", lambda: ["h5pyd"])
    bench = SimpleNamespace(memo={}, workdir=tmp_path, cleanups=[], checking=True)
    rows = [run_case(c, bench, runs=2) for c in QUICK_CASES if c.key.startswith("hsds-")]
    assert len(rows) == 5
    for row in rows:
        assert row.status == "SKIPPED" and row.reasons[0].startswith("h5pyd not installed"), row
    assert bench.cleanups == [] and list(tmp_path.iterdir()) == [], "no service started"


def test_the_follow_row_without_vim_is_skipped_with_the_reason(monkeypatch):
    monkeypatch.setattr("benchmarks.live.shutil.which", lambda name: None)
    (follow,) = [c for c in QUICK_CASES if c.key == "editor-follow"]
    row = run_case(follow, BENCH, runs=2)
    assert (row.status, row.reasons) == ("SKIPPED", ["vim is not installed"])


def test_the_service_cpu_is_shown_beside_both_sides():
    def remote_sample(seconds, cpu):
        return lambda bench: Sample(seconds, 100.0, extra={"service_cpu": cpu})

    target = Target("≤ 2x the floor", max_slowdown=2)
    row = run_case(case(remote_sample(0.03, 0.02), remote_sample(0.01, 0.01), target), BENCH, 1)
    assert row.reasons == ["3.00x the baseline's time > 2x"]
    text = render([row], "full", "", 1.0, "q", 10)
    assert "| 30.0 ms (service CPU 20.0 ms) | 10.0 ms (service CPU 10.0 ms) |" in text


def test_a_run_stops_what_its_rows_started_the_last_first():
    stopped = []
    bench = harness.Bench(
        files=None, workdir=None, python="", timeout=1, plot_points=1, cache=None, log=print
    )
    bench.cleanups += [lambda: stopped.append("service"), lambda: stopped.append("writer")]
    bench.close()
    assert stopped == ["writer", "service"] and bench.cleanups == []


def test_cpu_seconds_counts_the_processes_own_time():
    before = cpu_seconds([os.getpid()])
    deadline = time.monotonic() + 30
    while cpu_seconds([os.getpid()]) == before:  # spins until the next clock tick
        assert time.monotonic() < deadline
    assert cpu_seconds([os.getpid()]) > before
    assert cpu_seconds([2**22 + 1]) == 0.0, "a process that is gone counts nothing"


def test_scale_rows_skip_when_the_disk_is_too_small(tmp_path, monkeypatch):
    monkeypatch.setattr(harness, "free_gb", lambda folder: 3.0)
    bench = SimpleNamespace(cache=tmp_path, log=print)
    with pytest.raises(BenchSkipped, match=r"3 GB free .* 100,000,000 rows needs 20 GB"):
        harness.ensure_scale_table(bench, 100_000_000)
    assert list(tmp_path.iterdir()) == []


def test_every_row_has_a_target_but_the_cold_page_and_the_floors():
    untargeted = [case.key for case in QUICK_CASES if not case.target.checked]
    assert untargeted == INFORMATION_ROWS
    keys = [case.key for case in all_cases((1_000_000, 10_000_000, 100_000_000))]
    for key in ("scale-first-100M", "scale-deep-100M", "scale-open-100M", "scale-open-10M"):
        assert key in keys


def test_the_search_floor_reads_in_the_searchs_chunks():
    from vime import search

    assert heavy.SEARCH_CHUNK_ROWS == search.CHUNK_ROWS


# -- the checks --------------------------------------------------------------------
def test_same_to_6_digits():
    assert checks.same_to_6_digits(1.23457, 1.2345678)
    assert not checks.same_to_6_digits(1.23456, 1.2345678)
    assert checks.same_to_6_digits(1e6, 1_000_000.4)
    assert not checks.same_to_6_digits(1e6, 1_000_006.0)
    assert checks.same_to_6_digits(-0.000123457, -0.0001234567)
    assert checks.same_to_6_digits(0.0, 0.0) and not checks.same_to_6_digits(1e-300, 0.0)
    assert checks.same_to_6_digits(float("nan"), float("nan"))


def test_a_page_is_parsed_and_every_cell_compared():
    content = (
        "/t  [3 rows x 3 cols]  rows 1–2\n\n   a     b  c\n1  0.5  True  x\n2  2e+06  False  y"
    )
    page = checks.page_table(content)
    assert page == {
        "columns": ["a", "b", "c"],
        "rows": [["1", "0.5", "True", "x"], ["2", "2e+06", "False", "y"]],
    }
    expected = {"columns": ["a", "b", "c"], "rows": [[1, 0.5, True, "x"], [2, 2e6, False, "y"]]}
    assert checks.page_problem(page, expected) is None
    expected["rows"][1][3] = "z"
    assert checks.page_problem(page, expected) == "row 2, cell 3: vime shows 'y', expected 'z'"
    with pytest.raises(BenchError, match="4 cells wanted"):
        checks.page_table(content + "\n3  1")


def test_info_of_the_real_backend_matches_describe(rpc, pandas_file):
    """`info`'s statistics, parsed from its text, equal pandas' describe() to 6 digits."""
    import pandas as pd

    rpc.opened(pandas_file)
    info = rpc.call("info", name="/data")
    assert info["ok"], info
    expected = {
        column: {name: float(value) for name, value in stats.items()}
        for column, stats in pd.read_hdf(pandas_file, "data").describe().items()
    }
    summary = checks.info_summary(info["content"])
    assert checks.summary_problem(summary, expected) is None
    expected["v0"]["mean"] += 1e-3
    assert checks.summary_problem(summary, expected).startswith("v0 mean: vime shows")


# -- honest memory -------------------------------------------------------------------
def test_a_child_reports_its_own_peak_rss_while_the_parent_holds_300_mb():
    ballast = b"x" * (300 << 20)
    assert vm_hwm_mb(os.getpid()) > 300
    direct = subprocess.Popen([sys.executable, "-c", "pass"])
    _, _, usage = os.wait4(direct.pid, 0)
    assert usage.ru_maxrss / 1024 > 300, "ru_maxrss inherits the parent's peak (why the launcher)"
    launcher = Launcher()
    try:
        with open(os.devnull, "r+b") as null:
            pid = launcher.spawn([sys.executable, "-c", "pass"], (null.fileno(),) * 3)
        code, peak = launcher.reap(pid, timeout=60)
    finally:
        launcher.close()
    del ballast
    assert code == 0 and 3 < peak < 30


FORKING_CHILD = textwrap.dedent(
    """
    import os, sys
    pid = os.fork()
    if pid == 0:
        ballast = b"x" * (80 << 20)
        print("ready", flush=True)
        sys.stdin.read()
        os._exit(0)
    os.waitpid(pid, 0)
    """
)


def test_tree_peak_adds_the_workers_a_process_forks(tmp_path):
    launcher = Launcher()
    read_out, write_out = os.pipe()
    read_in, write_in = os.pipe()
    try:
        with open(os.devnull, "r+b") as null:
            pid = launcher.spawn(
                [sys.executable, "-c", FORKING_CHILD], (read_in, write_out, null.fileno())
            )
        os.close(read_in)
        os.close(write_out)
        tree = TreePeak(pid, interval=0.005, pss_interval=0.005)
        with os.fdopen(read_out) as out:
            assert out.readline() == "ready\n"  # the worker holds its 80 MB now
            deadline = time.monotonic() + 30
            # until both samplers have seen it (PSS is read less often under load)
            while sum(tree.peaks.values()) < 80 or tree.pss_peak <= 80:
                assert time.monotonic() < deadline, tree.peaks
                time.sleep(0.005)
            own = vm_hwm_mb(pid)
            os.close(write_in)
            code, reaped = launcher.reap(pid, timeout=60)
        workers = tree.stop()
    finally:
        launcher.close()
    assert code == 0 and own < 40 and 80 < workers < 130
    assert reaped > 80, "ru_maxrss counts the reaped worker: why RpcChild reads VmHWM"
    # The 80 MB the worker wrote are its own: the tree's PSS counts them once, with both
    # processes' share of the interpreter.
    assert 80 < tree.pss_peak < workers + own
