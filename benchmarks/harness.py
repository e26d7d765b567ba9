"""What every benchmark row is made of: the bench, the tables, targets, cases, helpers.

A row (benchmarks/cases.py, benchmarks/heavy.py) is one function ``(bench) ->
Sample`` measuring vime once, and one ``Case`` naming it with its baseline,
its ``Target`` and its check. The helpers here start warm backends, run the
Python children of benchmarks/children.py, and check pages and jobs.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass, field, fields
from pathlib import Path

from benchmarks import checks
from benchmarks.children import PAGE_ROWS
from benchmarks.generate import (
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
    run_python_child,
)

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
    memo: dict = field(default_factory=dict)  # what a row's prepare found, for its runs
    # what a row's prepare started for the rest of the run (a service): stopped at its end
    cleanups: list[Callable[[], None]] = field(default_factory=list)

    def close(self) -> None:
        """Stop what the rows' prepares started, the last started first."""
        while self.cleanups:
            self.cleanups.pop()()


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
def seconds_text(seconds: float) -> str:
    return f"{seconds * 1000:.1f} ms" if seconds < 1 else f"{seconds:.2f} s"


@dataclass(frozen=True)
class Target:
    """A row's target; ``text`` is what the table shows, the fields are what is checked."""

    text: str
    min_speedup: float | None = None  # baseline time / vime time at least this
    max_slowdown: float | None = None  # vime time / baseline time at most this
    max_rss_mb: float | None = None  # vime's peak RSS
    max_rss_delta_mb: float | None = None  # |vime's peak RSS - the baseline's| at most this
    max_seconds: float | None = None  # vime's time (the median of its runs)
    max_worst_seconds: float | None = None  # the slowest answer timed in any run
    max_overhead_seconds: float | None = None  # vime's time minus the baseline's
    max_growth_mb: float | None = None  # RSS after minus before

    @property
    def checked(self) -> bool:
        """Whether anything is checked at all (rows shown for information are not)."""
        return any(getattr(self, f.name) is not None for f in fields(self) if f.name != "text")

    @property
    def needs_baseline(self) -> bool:
        limits = (
            self.min_speedup,
            self.max_slowdown,
            self.max_rss_delta_mb,
            self.max_overhead_seconds,
        )
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
            overhead = vime.seconds - baseline.seconds
            if self.max_overhead_seconds is not None and overhead > self.max_overhead_seconds:
                reasons.append(
                    f"overhead {overhead * 1000:.1f} ms > {self.max_overhead_seconds * 1000:g} ms"
                )
            reasons += self._rss_delta_misses(vime.rss_mb, baseline.rss_mb)
        rss = vime.rss_mb
        if self.max_rss_mb is not None and rss is not None and rss > self.max_rss_mb:
            reasons.append(f"peak RSS {rss:.0f} MB > {self.max_rss_mb:g} MB")
        if self.max_seconds is not None and vime.seconds > self.max_seconds:
            limit = seconds_text(self.max_seconds)
            reasons.append(f"median {seconds_text(vime.seconds)} > {limit}")
        worst = vime.worst
        if self.max_worst_seconds is not None and worst is None:
            reasons.append("slowest answer not measured")
        elif self.max_worst_seconds is not None and worst > self.max_worst_seconds:
            reasons.append(f"max {seconds_text(worst)} > {seconds_text(self.max_worst_seconds)}")
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
    warm = warm_call(method, name=table.warmup_name, **params)
    return warm_backend(bench, [warm], path or table.path(bench.files), with_workers)


Warm = Callable[[RpcChild, str], object]  # a request done on the warm-up file (its path)


def warm_call(method: str, **params) -> Warm:
    return lambda rpc, warmup: rpc.call(method, path=warmup, **params)


def warm_job(**params) -> Warm:
    return lambda rpc, warmup: run_job(rpc, source=PANDAS_KEY, path=warmup, **params)


def warm_backend(
    bench: Bench,
    warm: list[Warm],
    path: str,
    with_workers: bool = False,
    env: dict | None = None,
) -> RpcChild:
    """A fresh backend that has done the ``warm`` requests (on the warm-up file, unless
    they name another), then opened ``path``: imports and the fork server are warm, and
    no row of ``path`` has been read."""
    rpc = RpcChild(bench.python, bench.workdir, bench.timeout, with_workers, env)
    try:
        rpc.call("open", path=str(bench.files.warmup))
        for request in warm:
            request(rpc, str(bench.files.warmup))
        rpc.call("open", path=path)
        rpc.forget_warm_up()
    except BaseException:
        rpc.close()
        raise
    return rpc


def child_sample(
    bench: Bench, operation: str, args: dict, wall: bool = False, env: dict | None = None
) -> Sample:
    """A Python child's own timing (or the parent's spawn-to-result time when ``wall``);
    ``env`` adds to its environment. What else the child reports is the sample's extra."""
    environment = {**os.environ, **env} if env else None
    result, seconds, rss = run_python_child(
        bench.python, operation, args, bench.timeout, bench.workdir, environment
    )
    extra = {key: value for key, value in result.items() if key not in ("seconds", "check")}
    return Sample(
        seconds if wall else result["seconds"], rss, check=result.get("check"), extra=extra
    )


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


def picture_of(result: dict) -> list[str]:
    """A plot's lines below its title and the blank line after it."""
    return result["content"].split("\n")[2:]


# -- scale tables ----------------------------------------------------------------
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
