"""The benchmark rows: what vime does, what it is compared with, the target, the check.

Every function here runs ONE measurement in fresh child processes and
returns a Sample; its tools are in benchmarks/harness.py, and the rows of
the requests that run in worker processes are in benchmarks/heavy.py.
vime's side drives a new bin/vime-rpc (or, for the in-memory plots, a new
interpreter running vime's engine). Where a row is
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
from functools import partial
from pathlib import Path

from benchmarks import checks, heavy, live, remote
from benchmarks.children import PAGE_ROWS
from benchmarks.editor import SCROLL_KEYS, first_page, scroll_keys
from benchmarks.generate import FILTER_QUERY, PANDAS_KEY
from benchmarks.harness import (
    PLOT_COLUMN,
    TABLES,
    Bench,
    Case,
    Table,
    Target,
    check_page,
    child_sample,
    ensure_scale_table,
    page_start,
    picture_of,
    result_rows,
    run_job,
    scale_path,
    warm_rpc,
)
from benchmarks.processes import (
    BenchError,
    RpcChild,
    Sample,
    descendants,
    pss_mb,
    run_command,
    status_mb,
)

RANDOM_PAGES = 200
# "Flat": 200 random pages may grow the backend by no more than this.
FLAT_GROWTH_MB = 10.0
PAGE_TARGET = Target("≥ 20x faster, RSS ≤ 150 MB", min_speedup=20, max_rss_mb=150)
FLAT_TARGET_TEXT = "≤ 1.2x the time at {small}, peak RSS ±10 MB"


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
        return rpc.sample(seconds, check=summary)


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
        return rpc.sample(seconds, check=picture_of(result))


def seed_file_plot(bench: Bench) -> Sample:
    args = {"path": str(bench.files.table), "key": PANDAS_KEY, "y": PLOT_COLUMN}
    return child_sample(bench, "seed_file_plot", args)


# -- compute ---------------------------------------------------------------------
def vime_filter(bench: Bench) -> Sample:
    warmup = str(bench.files.warmup)
    with RpcChild(bench.python, bench.workdir, bench.timeout, with_workers=True) as rpc:
        rpc.call("open", path=warmup)
        run_job(rpc, source=PANDAS_KEY, path=warmup, query=FILTER_QUERY)
        rpc.call("open", path=str(bench.files.table))
        rpc.forget_warm_up()
        started = time.perf_counter()
        done = run_job(rpc, source=PANDAS_KEY, path=str(bench.files.table), query=FILTER_QUERY)
        seconds = time.perf_counter() - started
        check = result_rows(rpc, done["table"], done["rows"]) if bench.checking else done["rows"]
        return rpc.sample(seconds, check=check)


def seed_filter(bench: Bench) -> Sample:
    args = {
        "path": str(bench.files.table),
        "key": PANDAS_KEY,
        "query": FILTER_QUERY,
        "check": bench.checking,
    }
    return child_sample(bench, "seed_filter", args)


# -- the backend at rest -----------------------------------------------------------
def vime_at_rest(bench: Bench) -> Sample:
    """vime-rpc and its fork server, each one's RSS now, after a page and an `info` (whose
    worker has exited): what a backend holds between requests. The time is the page's."""
    table = TABLES["table"]
    path = table.path(bench.files)
    with warm_rpc(bench, table, "info") as rpc:
        _, seconds = rpc.timed_call("table", name=table.name, path=path, count=PAGE_ROWS)
        deadline = time.monotonic() + bench.timeout
        while len(tree := descendants(rpc.pid)) != 1:  # the fork server alone
            if time.monotonic() > deadline:
                raise BenchError(f"vime-rpc has {len(tree)} descendants, not its fork server")
            time.sleep(0.01)
        rss = [status_mb(pid, "VmRSS") or 0.0 for pid in (rpc.pid, *tree)]
        pss = sum(pss_mb(pid) or 0.0 for pid in (rpc.pid, *tree))
        rpc.finish()
        return Sample(seconds, sum(rss), pss_mb=pss, extra={"at_rest": rss})


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


def scroll_cases() -> list[Case]:
    """Issue 14: a key's move and redraw in Vim, across loads of rows, within a frame."""
    target = Target("median ≤ 16 ms, max ≤ 100 ms", max_seconds=0.016, max_worst_seconds=0.1)
    moves = [("G-k", "k", "end", "G, then"), ("middle-j", "j", "middle", "from the middle row,")]
    return [
        Case(
            f"editor-scroll-{key}",
            f"Vim: {where} {SCROLL_KEYS} x {letter} across loads (per key, redrawn)",
            partial(scroll_keys, key=letter, start=start),
            None,
            "—",
            target,
            runs=3,
            compare=checks.same,
            expected=lambda bench: bench.files.rows,
        )
        for key, letter, start, where in moves
    ]


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
        Case(
            "at-rest",
            "backend at rest after a page and an info: vime-rpc + its fork server, RSS now",
            vime_at_rest,
            None,
            "—",
            Target("none (information)"),
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
        *heavy.heavy_cases(),
        *scale_cases(scale),
        *remote.hsds_cases(),
        *live.live_cases(),
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
        *scroll_cases(),
    ]
