"""The benchmark rows: what vime does, what it is compared with, the target, the check.

Every function here runs ONE measurement in fresh child processes and
returns a Sample. vime's side drives a new bin/vime-rpc (or, for the
in-memory plots, a new interpreter running vime's engine). Where a row is
timed warm, the child first does the same kind of work on the tiny warm-up
file, so imports are paid off the clock without warming the reference file.

Adding a row: write one function ``(bench) -> Sample`` that measures vime
once (``RpcChild``, ``warm_rpc`` and ``child_sample`` do the process work),
and add one ``Case`` with its ``Target`` to ``all_cases``; see the README's
"Benchmarks" section.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass, fields
from functools import partial
from pathlib import Path

from benchmarks import checks
from benchmarks.children import PAGE_ROWS
from benchmarks.editor import first_page
from benchmarks.generate import (
    FILTER_QUERY,
    MATRIX_NAME,
    PANDAS_KEY,
    RECORDS_NAME,
    ReferenceFiles,
    ensure_file,
    free_gb,
    reference_files,
    write_pandas_table,
)
from benchmarks.processes import (
    BenchError,
    BenchSkipped,
    RpcChild,
    Sample,
    run_command,
    run_python_child,
)

RANDOM_PAGES = 200
# "Flat": 200 random pages may grow the backend by no more than this.
FLAT_GROWTH_MB = 10.0
PLOT_COLUMN = "v1"


@dataclass
class Bench:
    """What every measurement needs: the files, a scratch folder, limits."""

    files: ReferenceFiles
    workdir: Path
    python: str
    timeout: float
    plot_points: int
    cache: Path  # where the reference files (and the scale tables) live
    log: Callable[[str], None] = print
    checking: bool = True  # the runner sets it for the run whose results are checked


@dataclass(frozen=True)
class Table:
    """One reference table as vime names it, with its floor datasets."""

    label: str
    kind: str  # as in the Table contract: pandas-table, pandas-fixed, dataset, compound
    file: str  # the ReferenceFiles field of its file
    name: str
    warmup_name: str  # the table of the same kind in the warm-up file
    raw_datasets: tuple[str, ...]  # what h5py reads for the floor

    def path(self, files: ReferenceFiles) -> str:
        return str(getattr(files, self.file))


FIXED_BLOCKS = ("axis1", "block0_values", "block1_values", "block2_values")
TABLES = {
    "table": Table(
        label="pandas table",
        kind="pandas-table",
        file="table",
        name=PANDAS_KEY,
        warmup_name=PANDAS_KEY,
        raw_datasets=(f"{PANDAS_KEY}/table",),
    ),
    "fixed": Table(
        label="pandas fixed",
        kind="pandas-fixed",
        file="fixed",
        name=PANDAS_KEY,
        warmup_name="/fixed",
        raw_datasets=tuple(f"{PANDAS_KEY}/{block}" for block in FIXED_BLOCKS),
    ),
    "matrix": Table(
        label="h5py 8-col",
        kind="dataset",
        file="matrix",
        name=MATRIX_NAME,
        warmup_name=MATRIX_NAME,
        raw_datasets=(MATRIX_NAME,),
    ),
    "records": Table(
        label="h5py compound",
        kind="compound",
        file="records",
        name=RECORDS_NAME,
        warmup_name=RECORDS_NAME,
        raw_datasets=(RECORDS_NAME,),
    ),
}


# -- targets -------------------------------------------------------------------
@dataclass(frozen=True)
class Target:
    """A row's target; ``text`` is what the table shows, the fields are what is checked."""

    text: str
    min_speedup: float | None = None  # baseline time / vime time at least this
    max_slowdown: float | None = None  # vime time / baseline time at most this
    max_rss_mb: float | None = None  # vime's peak RSS
    max_rss_delta_mb: float | None = None  # |vime's peak RSS - the baseline's| at most this
    max_seconds: float | None = None
    max_growth_mb: float | None = None  # RSS after minus before

    @property
    def checked(self) -> bool:
        """Whether anything is checked at all (rows shown for information are not)."""
        return any(getattr(self, f.name) is not None for f in fields(self) if f.name != "text")

    @property
    def needs_baseline(self) -> bool:
        limits = (self.min_speedup, self.max_slowdown, self.max_rss_delta_mb)
        return any(limit is not None for limit in limits)

    def misses(self, vime, baseline, growth: float | None) -> list[str]:
        """The reasons this target is missed (given the two Sides); empty when met."""
        reasons = []
        if baseline is not None:
            speedup, slowdown = baseline.seconds / vime.seconds, vime.seconds / baseline.seconds
            if self.min_speedup is not None and speedup < self.min_speedup:
                reasons.append(f"speedup {speedup:.1f}x < {self.min_speedup:g}x")
            if self.max_slowdown is not None and slowdown > self.max_slowdown:
                reasons.append(f"{slowdown:.2f}x the baseline's time > {self.max_slowdown:g}x")
            reasons += self._rss_delta_misses(vime.rss_mb, baseline.rss_mb)
        rss = vime.rss_mb
        if self.max_rss_mb is not None and rss is not None and rss > self.max_rss_mb:
            reasons.append(f"peak RSS {rss:.0f} MB > {self.max_rss_mb:g} MB")
        if self.max_seconds is not None and vime.seconds > self.max_seconds:
            reasons.append(f"{vime.seconds:.2f} s > {self.max_seconds:g} s")
        if self.max_growth_mb is not None and growth is not None and growth > self.max_growth_mb:
            reasons.append(f"RSS grew {growth:.1f} MB > {self.max_growth_mb:g} MB")
        return reasons

    def _rss_delta_misses(self, ours: float | None, theirs: float | None) -> list[str]:
        if self.max_rss_delta_mb is None:
            return []
        if ours is None or theirs is None:
            return ["peak RSS not measured"]
        if abs(ours - theirs) > self.max_rss_delta_mb:
            return [f"peak RSS {ours:.0f} MB vs {theirs:.0f} MB: ±{self.max_rss_delta_mb:g} MB"]
        return []


PAGE_TARGET = Target("≥ 20x faster, RSS ≤ 150 MB", min_speedup=20, max_rss_mb=150)
FLAT_TARGET_TEXT = "≤ 1.2x the time at {small}, peak RSS ±10 MB"


@dataclass(frozen=True)
class Case:
    key: str  # short name for --only
    operation: str
    vime: Callable[[Bench], Sample]
    baseline: Callable[[Bench], Sample] | None
    baseline_label: str
    target: Target
    floor: Callable[[Bench], Sample] | None = None
    heavy: bool = False  # a slow baseline: fewer runs
    runs: int | None = None  # a fixed number of runs, whatever the mode
    # (vime's check, the expected check) -> what differs, or None: checked on the first run
    compare: Callable[[object, object], str | None] | None = None
    # the expected check when the baseline's check is not it
    expected: Callable[[Bench], object] | None = None
    # called once before the runs; raises BenchSkipped when the row cannot run here
    prepare: Callable[[Bench], None] | None = None


# -- helpers -------------------------------------------------------------------
def warm_rpc(
    bench: Bench,
    table: Table,
    method: str,
    path: str | None = None,
    with_workers: bool = False,
    **params,
) -> RpcChild:
    """A fresh backend that has done ``method`` once on the warm-up file, then opened ``path``.

    ``with_workers``: its peak RSS adds the processes it forks (see RpcChild).
    """
    rpc = RpcChild(bench.python, bench.workdir, bench.timeout, with_workers)
    try:
        rpc.call("open", path=str(bench.files.warmup))
        rpc.call(method, name=table.warmup_name, path=str(bench.files.warmup), **params)
        rpc.call("open", path=path or table.path(bench.files))
    except BaseException:
        rpc.close()
        raise
    return rpc


def child_sample(bench: Bench, operation: str, args: dict, wall: bool = False) -> Sample:
    """A Python child's own timing (or the parent's spawn-to-result time when ``wall``)."""
    result, seconds, rss = run_python_child(
        bench.python, operation, args, bench.timeout, bench.workdir
    )
    return Sample(seconds if wall else result["seconds"], rss, check=result.get("check"))


def page_start(bench: Bench, table: Table, deep: bool) -> int:
    return bench.files.rows - PAGE_ROWS if deep else 0


def check_page(result: dict, start: int) -> dict:
    """The page's rows and cells, parsed; it must hold exactly the rows asked for."""
    if (result.get("start"), result.get("stop")) != (start, start + PAGE_ROWS):
        raise BenchError(f"page rows {result.get('start')}..{result.get('stop')}, wanted {start}")
    page = checks.page_table(result.get("content", ""))
    numbers = [row[0] for row in page["rows"]]
    if numbers != [str(row) for row in range(start, start + PAGE_ROWS)]:
        raise BenchError(f"page rows {numbers[:1]}..{numbers[-1:]}, wanted {start}")
    return page


# -- spawn -> ping -------------------------------------------------------------
def vime_spawn_ping(bench: Bench) -> Sample:
    with RpcChild(bench.python, bench.workdir, bench.timeout) as rpc:
        rpc.call("ping")
        seconds = time.perf_counter() - rpc.started
        return Sample(seconds, rpc.finish())


def python_pass(bench: Bench) -> Sample:
    seconds, rss = run_command([bench.python, "-c", "pass"], bench.timeout)
    return Sample(seconds, rss)


BALLAST_MB = 300


def python_pass_beside_ballast(bench: Bench) -> Sample:
    """`python -c pass` while this harness holds 300 MB: the child's peak must be its own."""
    ballast = b"x" * (BALLAST_MB << 20)  # written, so resident
    try:
        return python_pass(bench)
    finally:
        del ballast


# -- open ------------------------------------------------------------------------
def vime_open(bench: Bench, path: Path | None = None) -> Sample:
    with RpcChild(bench.python, bench.workdir, bench.timeout) as rpc:
        rpc.call("ping")  # the process is up; the clock covers `open` alone
        result, seconds = rpc.timed_call("open", path=str(path or bench.files.table))
        shapes = {t["name"]: [t["rows"], t["cols"]] for t in result["tables"]}
        return Sample(seconds, rpc.finish(), check=shapes)


def pandas_open(bench: Bench) -> Sample:
    return child_sample(bench, "pandas_open", {"path": str(bench.files.table)})


# -- pages -----------------------------------------------------------------------
def vime_page(bench: Bench, table: Table, deep: bool) -> Sample:
    start = page_start(bench, table, deep)
    path = table.path(bench.files)
    return timed_page(bench, table, path, start)


def timed_page(bench: Bench, table: Table, path: str, start: int) -> Sample:
    with warm_rpc(bench, table, "table", path, count=PAGE_ROWS) as rpc:
        result, seconds = rpc.timed_call(
            "table", name=table.name, path=path, start=start, count=PAGE_ROWS
        )
        page = check_page(result, start)
        return Sample(seconds, rpc.finish(), check=page)


def seed_page(bench: Bench, table: Table, deep: bool, cold: bool = False) -> Sample:
    args = {
        "path": table.path(bench.files),
        "key": table.name,
        "kind": table.kind,
        "start": page_start(bench, table, deep),
    }
    return child_sample(bench, "cold_seed_page" if cold else "seed_page", args, wall=cold)


def h5py_floor(bench: Bench, table: Table, deep: bool) -> Sample:
    args = {
        "path": table.path(bench.files),
        "datasets": list(table.raw_datasets),
        "start": page_start(bench, table, deep),
    }
    return child_sample(bench, "h5py_slice", args)


def vime_cold_page(bench: Bench) -> Sample:
    """Spawn, open and first page, as the editor does it on a fresh start."""
    table = TABLES["table"]
    with RpcChild(bench.python, bench.workdir, bench.timeout) as rpc:
        rpc.call("open", path=str(bench.files.table))
        result = rpc.call("table", name=table.name, start=0, count=PAGE_ROWS)
        seconds = time.perf_counter() - rpc.started
        page = check_page(result, 0)
        return Sample(seconds, rpc.finish(), check=page)


# -- info ------------------------------------------------------------------------
def vime_info(bench: Bench) -> Sample:
    table = TABLES["table"]
    with warm_rpc(bench, table, "info", with_workers=True) as rpc:
        result, seconds = rpc.timed_call("info", name=table.name, path=str(bench.files.table))
        if list(result.get("shape", [])) != [bench.files.rows, 10]:
            raise BenchError(f"info shape {result.get('shape')}, wanted [{bench.files.rows}, 10]")
        summary = checks.info_summary(result["content"])
        return Sample(seconds, rpc.finish(), check=summary)


def seed_info(bench: Bench) -> Sample:
    args = {"path": str(bench.files.table), "key": PANDAS_KEY, "kind": "pandas-table"}
    return child_sample(bench, "seed_info", args)


# -- plots -----------------------------------------------------------------------
def engine_plot(bench: Bench, engine: str, kind: str) -> Sample:
    args = {"engine": engine, "type": kind, "count": bench.plot_points}
    return child_sample(bench, "engine_plot", args)


def vime_file_plot(bench: Bench) -> Sample:
    table = TABLES["table"]
    size = {"width": 72, "height": 20, "type": "line"}
    with warm_rpc(bench, table, "plot", with_workers=True, y=PLOT_COLUMN, **size) as rpc:
        result, seconds = rpc.timed_call(
            "plot", name=table.name, path=str(bench.files.table), y=PLOT_COLUMN, **size
        )
        plotted = result.get("points", 0) + result.get("dropped", 0)
        if plotted != bench.files.rows:
            raise BenchError(f"plotted {plotted} points, wanted all {bench.files.rows}")
        picture = result["content"].split("\n")[2:]  # below the title and a blank line
        return Sample(seconds, rpc.finish(), check=picture)


def seed_file_plot(bench: Bench) -> Sample:
    args = {"path": str(bench.files.table), "key": PANDAS_KEY, "y": PLOT_COLUMN}
    return child_sample(bench, "seed_file_plot", args)


# -- compute ---------------------------------------------------------------------
ENDS = {"compute_done", "compute_error", "compute_cancelled"}
RESULT_PAGE_ROWS = 20_000


def run_job(rpc: RpcChild, **params) -> dict:
    """Start a job and wait for the pushed end of it (never compute_status)."""
    rpc.call("compute_start", **params)
    message = rpc.notification(ENDS)
    if message["method"] != "compute_done":
        raise BenchError(f"{message['method']}: {message['params'].get('error', '')}")
    return message["params"]


def result_rows(rpc: RpcChild, name: str, rows: int) -> dict:
    """Every row of a compute result, paged (after the clock)."""
    page: dict = {"columns": [], "rows": []}
    for start in range(0, rows, RESULT_PAGE_ROWS):
        result = rpc.call("table", name=name, start=start, count=RESULT_PAGE_ROWS)
        part = checks.page_table(result["content"])
        page["columns"] = part["columns"]
        page["rows"] += part["rows"]
    return page


def vime_filter(bench: Bench) -> Sample:
    warmup = str(bench.files.warmup)
    with RpcChild(bench.python, bench.workdir, bench.timeout, with_workers=True) as rpc:
        rpc.call("open", path=warmup)
        run_job(rpc, source=PANDAS_KEY, path=warmup, query=FILTER_QUERY)
        rpc.call("open", path=str(bench.files.table))
        started = time.perf_counter()
        done = run_job(rpc, source=PANDAS_KEY, path=str(bench.files.table), query=FILTER_QUERY)
        seconds = time.perf_counter() - started
        check = result_rows(rpc, done["table"], done["rows"]) if bench.checking else done["rows"]
        return Sample(seconds, rpc.finish(), check=check)


def seed_filter(bench: Bench) -> Sample:
    args = {
        "path": str(bench.files.table),
        "key": PANDAS_KEY,
        "query": FILTER_QUERY,
        "check": bench.checking,
    }
    return child_sample(bench, "seed_filter", args)


# -- 200 random pages ------------------------------------------------------------
def vime_random_pages(bench: Bench, table: Table) -> Sample:
    """RSS after the first page, after 100 and after 200 random pages: nothing may accumulate."""
    rows = bench.files.rows
    starts = random.Random(3).sample(range(rows - PAGE_ROWS), RANDOM_PAGES)
    path = table.path(bench.files)
    with RpcChild(bench.python, bench.workdir, bench.timeout) as rpc:
        rpc.call("open", path=path)
        rpc.call("table", name=table.name, path=path, start=0, count=PAGE_ROWS)
        before = rpc.rss_mb()
        started = time.perf_counter()
        for done, start in enumerate(starts, 1):
            result = rpc.call("table", name=table.name, path=path, start=start, count=PAGE_ROWS)
            check_page(result, start)
            if done == RANDOM_PAGES // 2:
                middle = rpc.rss_mb()
        seconds = (time.perf_counter() - started) / RANDOM_PAGES
        after = rpc.rss_mb()
        extra = {"before": before, "middle": middle, "after": after}
        return Sample(seconds, rpc.finish(), extra=extra)


# -- scale: the same pandas table at 1M, 10M and 100M rows -----------------------
SCALE_BYTES_PER_ROW = 200  # room to generate a scale table: 20 GB free for 100M rows


def scale_path(bench: Bench, rows: int) -> Path:
    """The reference pandas table of that many rows (the same file a run at that size uses)."""
    return reference_files(bench.cache, rows).table


def ensure_scale_table(bench: Bench, rows: int) -> None:
    path = scale_path(bench, rows)
    if path.exists():
        return
    needed, free = rows * SCALE_BYTES_PER_ROW / 1e9, free_gb(path.parent)
    if free < needed:
        raise BenchSkipped(
            f"{free:.0f} GB free for {path.parent}; generating {rows:,} rows needs {needed:.0f} GB"
        )
    ensure_file(path, lambda tmp: write_pandas_table(tmp, rows), bench.log)


def prepare_scale(bench: Bench, sizes: tuple[int, ...]) -> None:
    for rows in sizes:
        ensure_scale_table(bench, rows)


def scale_page(bench: Bench, rows: int, deep: bool) -> Sample:
    start = rows - PAGE_ROWS if deep else 0
    return timed_page(bench, TABLES["table"], str(scale_path(bench, rows)), start)


def scale_expected_page(bench: Bench, rows: int, deep: bool) -> dict:
    """The page's values regenerated from the table's seeded writer."""
    args = {"rows": rows, "start": rows - PAGE_ROWS if deep else 0}
    return child_sample(bench, "reference_page", args).check


def scale_open(bench: Bench, rows: int) -> Sample:
    return vime_open(bench, scale_path(bench, rows))


def size_label(rows: int) -> str:
    for unit, size in (("M", 1_000_000), ("k", 1_000)):
        if rows >= size and rows % size == 0:
            return f"{rows // size}{unit}"
    return str(rows)


def scale_cases(sizes: tuple[int, int, int]) -> list[Case]:
    """First page, deep page and open at each larger size against the smallest."""
    small = sizes[0]
    target = Target(
        FLAT_TARGET_TEXT.format(small=size_label(small)), max_slowdown=1.2, max_rss_delta_mb=10
    )
    cases = []
    for rows in sizes[1:]:
        prepare = partial(prepare_scale, sizes=(small, rows))
        label, against = size_label(rows), f"the same at {size_label(small)} rows"
        for where, deep in (("first", False), ("deep", True)):
            cases.append(
                Case(
                    key=f"scale-{where}-{label}",
                    operation=f"{where} page, pandas table of {label} rows",
                    vime=partial(scale_page, rows=rows, deep=deep),
                    baseline=partial(scale_page, rows=small, deep=deep),
                    baseline_label=against,
                    target=target,
                    compare=checks.page_problem,
                    expected=partial(scale_expected_page, rows=rows, deep=deep),
                    prepare=prepare,
                )
            )
        cases.append(
            Case(
                key=f"scale-open-{label}",
                operation=f"open, pandas table of {label} rows",
                vime=partial(scale_open, rows=rows),
                baseline=partial(scale_open, rows=small),
                baseline_label=against,
                target=target,
                compare=checks.same,
                expected=lambda bench, rows=rows: {PANDAS_KEY: [rows, 10]},
                prepare=prepare,
            )
        )
    return cases


# -- the rows --------------------------------------------------------------------
def page_cases() -> list[Case]:
    cases = []
    for key in ("table", "fixed", "matrix", "records"):
        table = TABLES[key]
        for deep in (False, True):
            where = "deep page" if deep else "first page"
            cases.append(
                Case(
                    key=f"page-{key}-{'deep' if deep else 'first'}",
                    operation=f"{where}, {table.label}",
                    vime=partial(vime_page, table=table, deep=deep),
                    baseline=partial(seed_page, table=table, deep=deep),
                    baseline_label="read whole + rows + tabulate",
                    floor=partial(h5py_floor, table=table, deep=deep),
                    target=PAGE_TARGET,
                    heavy=True,
                    compare=checks.page_problem,
                )
            )
    return cases


def all_cases(scale: tuple[int, int, int]) -> list[Case]:
    """Every row; ``scale`` gives the three sizes of the scale rows (smallest first)."""
    return [
        Case(
            "rss-honest",
            f"harness: `python -c pass` while the harness holds {BALLAST_MB} MB",
            python_pass_beside_ballast,
            None,
            "—",
            Target("peak RSS < 30 MB (its own)", max_rss_mb=30),
        ),
        Case(
            "spawn",
            "spawn → ping reply",
            vime_spawn_ping,
            python_pass,
            "python -c pass",
            Target("≤ 3x the baseline", max_slowdown=3),
        ),
        Case(
            "open",
            "open with rows and cols",
            vime_open,
            pandas_open,
            "import pandas + HDFStore + keys + nrows",
            Target("faster", min_speedup=1),
            compare=checks.same,
        ),
        *page_cases(),
        Case(
            "page-cold",
            "spawn + open + first page (cold)",
            vime_cold_page,
            partial(seed_page, table=TABLES["table"], deep=False, cold=True),
            "new python: imports + read whole + head + tabulate",
            Target("none (information)"),
            heavy=True,
            compare=checks.page_problem,
        ),
        Case(
            "info",
            "info, pandas table",
            vime_info,
            seed_info,
            "read whole + describe + tabulate",
            Target("RSS ≤ 400 MB", max_rss_mb=400),
            heavy=True,
            compare=checks.summary_problem,
        ),
        Case(
            "plot-line",
            "line plot, in-memory points",
            partial(engine_plot, engine="vime", kind="line"),
            partial(engine_plot, engine="uniplot", kind="line"),
            "uniplot, lines",
            Target("≥ 5x faster", min_speedup=5),
            heavy=True,
        ),
        Case(
            "plot-scatter",
            "scatter plot, in-memory points",
            partial(engine_plot, engine="vime", kind="scatter"),
            partial(engine_plot, engine="uniplot", kind="scatter"),
            "uniplot, scatter",
            Target("no slower", min_speedup=1),
            heavy=True,
        ),
        Case(
            "plot-file",
            "whole-column line plot from the file",
            vime_file_plot,
            seed_file_plot,
            "read whole + vime engine",
            Target("faster, RSS ≤ 300 MB", min_speedup=1, max_rss_mb=300),
            heavy=True,
            compare=checks.same,
        ),
        Case(
            "compute",
            "1% filter compute (until compute_done)",
            vime_filter,
            seed_filter,
            "read whole + query",
            Target("≤ 1.5x the time, RSS ≤ 400 MB", max_slowdown=1.5, max_rss_mb=400),
            heavy=True,
            compare=checks.page_problem,
        ),
        *[
            Case(
                f"pages-rss-{key}",
                f"{RANDOM_PAGES} random pages, {TABLES[key].label}",
                partial(vime_random_pages, table=TABLES[key]),
                None,
                "—",
                Target(f"RSS flat (≤ +{FLAT_GROWTH_MB:g} MB)", max_growth_mb=FLAT_GROWTH_MB),
                runs=1,
            )
            for key in ("table", "fixed", "matrix")
        ],
        *scale_cases(scale),
        Case(
            "editor-list",
            "Vim: :edit → table list drawn",
            partial(first_page, until="list"),
            None,
            "—",
            Target("< 1 s", max_seconds=1),
        ),
        Case(
            "editor-page",
            "Vim: :edit → first page drawn (list, then :VimeTable)",
            partial(first_page, until="page"),
            None,
            "—",
            Target("< 1 s", max_seconds=1),
        ),
        Case(
            "editor-nvim",
            "Neovim: :edit → first page drawn (list, then :VimeTable)",
            partial(first_page, until="page", editor="nvim"),
            None,
            "—",
            Target("< 1 s", max_seconds=1),
        ),
    ]
