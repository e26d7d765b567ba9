"""The results table, the machine it ran on, and RESULTS.md."""

from __future__ import annotations

import os
import platform
import statistics
import subprocess
from datetime import datetime
from importlib import metadata

from benchmarks import live
from benchmarks.cases import BALLAST_MB
from benchmarks.harness import seconds_text
from benchmarks.heavy import CANCEL_AFTER_S, PAGE_GAP_S
from benchmarks.runner import RowResult, Side

LIBRARIES = ("numpy", "pandas", "h5py", "tables", "tabulate", "hdf5plugin", "uniplot")
HEADER = (
    "operation",
    "vime",
    "baseline",
    "floor (h5py slice)",
    "ratio",
    "vime peak RSS",
    "baseline peak RSS",
    "target",
    "result",
    "baseline is",
)


def side_time(side: Side | None) -> str:
    if side is None:
        return "—"
    if not side.ok:
        return "error"
    return seconds_text(side.seconds) + service_text(side)


def service_text(side: Side) -> str:
    """For the HSDS rows: the CPU time the service spent meanwhile (the median of the runs)."""
    spent = [s.extra["service_cpu"] for s in side.samples if "service_cpu" in s.extra]
    if not spent:
        return ""
    return f" (service CPU {seconds_text(statistics.median(spent))})"


def side_rss(side: Side | None) -> str:
    if side is None or not side.ok or side.rss_mb is None:
        return "—"
    text = f"{side.rss_mb:.0f} MB"
    if side.parts_mb is not None:
        text += " = " + " + ".join(f"{part:.0f}" for part in side.parts_mb)
    if side.pss_mb is not None:
        text += f" (PSS {side.pss_mb:.0f} MB)"
    return text


def ratio_text(row: RowResult) -> str:
    if not (row.vime.ok and row.baseline and row.baseline.ok):
        return "—"
    if row.case.target.max_overhead_seconds is not None:
        return f"+{(row.vime.seconds - row.baseline.seconds) * 1000:.1f} ms"
    speedup = row.baseline.seconds / row.vime.seconds
    return f"{speedup:.1f}x faster" if speedup >= 1 else f"{1 / speedup:.2f}x slower"


def vime_text(row: RowResult) -> str:
    if row.vime.ok and row.growth_mb is not None:
        sample = row.vime.samples[0]
        return (
            f"RSS {sample.extra['before']:.0f} → {sample.extra['middle']:.0f}"
            f" → {sample.extra['after']:.0f} MB"
            f" ({seconds_text(sample.seconds)}/page)"
        )
    if row.vime.ok and row.vime.worst is not None:
        answers = sum(sample.extra["answers"] for sample in row.vime.samples)
        unit = row.vime.samples[0].extra.get("unit", "pages")
        loads = [sample.extra["loads"] for sample in row.vime.samples if "loads" in sample.extra]
        crossed = f", {sum(loads)} loads" if loads else ""
        return (
            f"median {seconds_text(row.vime.seconds)}, max {seconds_text(row.vime.worst)}"
            f" ({answers} {unit}{crossed})"
        )
    if row.vime.ok and "at_rest" in row.vime.samples[0].extra:
        own, server = row.vime.samples[0].extra["at_rest"]
        return f"vime-rpc {own:.0f} MB + fork server {server:.0f} MB"
    if row.vime.ok and "gone" in row.vime.samples[0].extra:
        gone = max(sample.extra["gone"] for sample in row.vime.samples)
        return f"{seconds_text(row.vime.seconds)} (worker gone ≤ {seconds_text(gone)})"
    return side_time(row.vime)


def result_text(row: RowResult) -> str:
    if row.status == "met":
        return "met"
    if row.status == "info":
        return "— (no target)"
    reasons = "; ".join(row.reasons)
    if len(reasons) > 160:
        reasons = reasons[:157] + "..."
    return f"**{row.status}**: {reasons}".replace("|", "/").replace("\n", " ")


def table_lines(rows: list[RowResult]) -> list[str]:
    lines = ["| " + " | ".join(HEADER) + " |", "|" + "---|" * len(HEADER)]
    for row in rows:
        cells = (
            row.case.operation,
            vime_text(row),
            side_time(row.baseline),
            side_time(row.floor),
            ratio_text(row),
            side_rss(row.vime),
            side_rss(row.baseline),
            row.case.target.text,
            result_text(row),
            row.case.baseline_label,
        )
        lines.append("| " + " | ".join(cells) + " |")
    return lines


def error_lines(rows: list[RowResult]) -> list[str]:
    """Every error in full, since the table cuts them short."""
    lines = []
    for row in rows:
        for name, side in (("vime", row.vime), ("baseline", row.baseline), ("floor", row.floor)):
            if side is not None and side.error:
                lines.append(f"- {row.case.operation} ({name}): {side.error}")
        if row.problem:
            lines.append(f"- {row.case.operation}: {row.problem}")
    return lines


def summary_lines(rows: list[RowResult]) -> list[str]:
    """'N of M targets met', then every row that is not met, failed or was skipped."""
    targets = [row for row in rows if row.case.target.checked]
    met = [row for row in targets if row.status == "met"]
    lines = [f"**{len(met)} of {len(targets)} targets met.**"]
    for status, heading in (("NOT MET", "Not met"), ("ERROR", "Errors"), ("SKIPPED", "Skipped")):
        missed = [row for row in rows if row.status == status]
        if missed:
            lines += ["", f"{heading} ({len(missed)}):"]
            lines += [f"- {row.case.operation}: {'; '.join(row.reasons)}" for row in missed]
    return lines


def read_proc(path: str, key: str) -> str:
    try:
        with open(path) as handle:
            for line in handle:
                if line.startswith(key):
                    return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return "unknown"


def vim_version() -> str:
    try:
        output = subprocess.run(["vim", "--version"], capture_output=True, text=True, timeout=10)
        return output.stdout.splitlines()[0]
    except (OSError, IndexError, subprocess.SubprocessError):
        return "not found"


def machine_lines() -> list[str]:
    versions = []
    for name in LIBRARIES:
        try:
            versions.append(f"{name} {metadata.version(name)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{name} missing")
    memory_kib = read_proc("/proc/meminfo", "MemTotal").split()[0]
    memory = f"{int(memory_kib) / 1024 / 1024:.1f} GiB" if memory_kib.isdigit() else memory_kib
    load = ", ".join(f"{value:.2f}" for value in os.getloadavg())
    return [
        f"- date: {datetime.now().astimezone().isoformat(timespec='seconds')}",
        f"- machine: {os.cpu_count()} cores ({read_proc('/proc/cpuinfo', 'model name')}),"
        f" {memory} memory, {platform.platform()}",
        f"- load average at the end: {load} (other processes share the cores: ratios measured"
        " in the same run are what count)",
        f"- Python {platform.python_version()}; {', '.join(versions)}; {vim_version()}",
    ]


FULL_RUN_BUDGET_S = 15 * 60
QUICK_NOTE = (
    "This is a quick run (a smoke test): its tables have 1M rows, so the whole-table baselines"
    " are about 10x cheaper than at 10M rows, for which the speed targets are set; its scale"
    " rows go from 10k to 1M rows. Misses of speed targets here say little. Run"
    " `python -m benchmarks` for the real numbers."
)

METHOD_NOTES = """\
How it is measured:
- Every measurement runs in fresh child processes, all spawned by one small launcher process
  (`benchmarks/launcher.py`, a `python -I -S` that imports nothing heavy). A Python child's
  peak RSS is its own `ru_maxrss`, which the launcher reads with `wait4`: on Linux a child's
  high-water mark starts from its parent's, so children spawned by the harness itself would
  carry the harness's memory. The "harness" row proves it: `python -c pass` while the harness
  holds {ballast} MB. A backend's peak is its own VmHWM, read before it exits (its `ru_maxrss`
  would be the largest of its own and of the processes it reaped: its fork server). The rows
  of heavy requests (info, plots from the file, compute, search, export, the worker rows) add
  the processes the backend forks (the fork server and the workers): each descendant's VmHWM,
  sampled every 10 ms until the backend exits; pages that forked processes share count once
  per process, so the sum is an upper bound. A warm-up request's worker has exited before
  the measured request is sent (the harness waits for it) and is not counted: it never runs
  beside the measured one. The harness also waits until the fork server has used no CPU for
  0.2 s: a warm-up that imported pandas in its worker has the server import it too, after
  that worker's reply. The "at rest" row shows what a backend and its
  idle fork server hold between requests. The highest peak of the runs is shown. Times are
  medians of the runs. vime, its baseline and the floor alternate run by run.
- Numbers taken while other processes load the machine (see the load average) are indicative:
  ratios of sides measured in the same run hold better than absolute times.
- Every result is checked on the first run, and a wrong result is the row's error: a page's
  column names and every cell (parsed from vime's text) against the baseline's values (floats
  to 6 significant digits, the rest exactly); `info`'s describe() table against pandas'
  `describe()` (to 6 significant digits); the file plot's picture
  against vime's engine drawing the whole column in memory; the compute result's every row
  and cell against pandas' `query`; `open`'s rows and cols against pandas'.
- vime's side drives a new `bin/vime-rpc` over its pipes in the Vim channel form
  (`[id, {{method, params}}]`); the time is from writing the request to reading the reply.
- The reference files are read from a warm OS page cache (the machine has room for them):
  these are CPU and memory costs, not disk speed.
- Warm rows (pages, info, plot from the file, compute): before the clock starts the backend
  does the same request on a tiny warm-up file, and the baseline child imports pandas, h5py,
  tables and tabulate, so that neither side is timed importing libraries. The backend then
  opens the reference file (metadata only, untimed; the seed's way opens it inside its time)
  and no row of it is read before the clock. `open` is cold on both sides (pandas import
  included in the baseline), as in the issue. The spawn rows run from process spawn to the
  `ping` reply (vime) or to the exit (`python -c pass`); the cold first-page row times both
  sides from process spawn.
- The baseline for a page is the seed's way: read the whole table (`read_hdf`, or h5py and a
  DataFrame for datasets), take the 100 rows, `tabulate` them. The floor is an h5py read of
  the same rows from the file's own datasets, with no formatting. All four tables, the compound
  dataset included, have the run's full row count.
- The in-memory plots draw the same seeded random walk against row numbers; vime at 72x20
  characters (labels included), uniplot at 60x17 (its canvas, labels outside), after one
  untimed small draw each.
- The 1% filter is `{query}`; vime's time runs from `compute_start` to the pushed
  `compute_done` notification.
- 200 random pages: backend RSS (VmRSS) after the first page, after 100 and after 200 pages
  at seeded random rows; "flat" means it grew by at most {flat} MB over the 200 pages (the
  middle number tells a cache that fills and stops from growth that goes on).
- Scale rows: the same pandas table (the seeded writer of the reference table) at 1M, 10M and
  100M rows (generated once into the cache folder, about 8 GB at 100M rows; skipped, with the
  reason, when the disk has less than 200 bytes a row free). "Flat" is measured: the time at
  the larger size at most 1.2x the time at 1M, and the peak RSS within 10 MB. Page values are
  checked against the rows regenerated from the writer's seeds.
- Requests that run in worker processes (issues 12, 13, 15, 16): memory is the backend's
  own peak plus its descendants' (the fork server and each worker), summed; targets are
  judged on that sum, written `sum = vime-rpc + fork server + workers`, and the tree's
  peak PSS (from `/proc/<pid>/smaps_rollup`, the sum over the tree at one sample, the
  highest sample) is shown beside it, since forked processes
  share most pages. PSS is read every 0.5 s only (reading it more often slows the process
  read), so it is a lower bound of the peak. Floors are rows of their own, shown for information.
- Pages during a heavy request: pages at seeded random rows, one every {gap} ms, while a
  whole-column plot, `info`, the 1% filter compute or the CSV export below runs; the median and
  the slowest page are judged. The baseline is the same pages with nothing else running.
  Every page's index and its `n0` column (the row number) are checked, and so is the heavy
  request's result (the points plotted, the rows described or written, the rows the filter
  kept, counted again from the table's seeded writer).
- Cancel: once the request's worker process exists (a new child of the fork server), and
  {cancel_after} ms later, `cancel {{id}}`; the time runs from writing it to reading the
  request's error reply, which must be -32006. "Worker gone" is when that process had
  exited. A request that ended before its cancel is sent again (a quick run's plot is short).
- A job's start overhead: a plot of 10 rows from the middle of the table through a warm
  backend (its fork server ready, the same plot done on the warm-up file), minus the same
  plot handler run in one process that has the file open: the fork, the worker opening the
  file, and the pipes. `info` and the whole-column plot through the worker are compared
  with the same handler in one process (imports and the file's opening off the clock); the
  replies must be the same text.
- The 50% filter (`v0 > 0`) runs from `compute_start` to `compute_done` (the result file
  written and renamed); pandas reads the table, queries it and writes the result with
  `to_hdf` (table format). The row count and the result's first, middle and last pages are
  checked against pandas'. The deep result page: that result, computed once into a results
  folder of its own, is listed by a new backend, whose first page of it is untimed; the page
  90% deep is timed and checked against pandas' query.
- Export: the reference table of a tenth of the run's rows (1M in a full run; the scale
  rows' table) to CSV, from request to reply (temp file, fsync, rename); pandas' `to_csv`
  of the same rows already in memory (reading them is not timed).
  The two files must be byte for byte the same (sha256).
- Search: text `42.5` in `v2`, which is absent (`v2` is uniform in [-1, 1): no shown form has
  two digits before the point), against the floor, a chunked PyTables read of `v2`'s field
  in vime's search chunks; the query `v2 == <the exact value of row N/2>` must find row N/2,
  against the same search for an absent value. The sort: `compute_start {{sort: v0}}`
  without a limit against `read_hdf` + `sort_values`, checked as the filter is.
- Plots from the file: the floors read the fields that hold the plotted columns with
  PyTables `Table.read(start, stop, field=...)` in chunks of 250,000 rows (vime reads
  65,536: the floor keeps the chunks PyTables reads fastest, whatever vime's); the six
  float columns share the field `values_block_0`, `n1` is in `values_block_1`, and vime's
  reader reads the same fields. Each picture must equal vime's engine drawing the columns
  read whole into memory. The heatmap's plane is float32, side² = rows × 10 (10,000 x 10,000
  at 10M rows), in chunks of 256 whole rows; its floor reads whole chunks, about 16 MB at a
  time; the characters, the value range and every coloured cell must equal the engine's on
  the whole plane in memory.
- Scrolling in Vim: Vim 9 with the plugin in a pseudo-terminal of 40 x 140, on the reference
  table; after `G` (or `:VimeGoto` to the middle row) and its rows, each key is typed with
  `feedkeys(key, 'xt')`, the script waits until no move is pending (`b:vime.pending` empty:
  the rows it needs have arrived and are placed), then `:redraw`; the key's time runs from
  `feedkeys` to the end of the redraw. Each key must put the cursor on the next (or
  previous) table row, shown by the line's index. From the middle the keys must cross a
  load of rows; after `G` they need not (the buffer holds max(300, 4 screens) rows).
- Live files (issue 19): real writer subprocesses (tests/livewriters.py: h5py in SWMR mode
  appending to a 1-D dataset, pandas `HDFStore.append` without SWMR) that print the time of
  each flush. Flush → `grown`: a backend watches the table (`watch`, which looks at most 4
  times a second); before each of {flushes} appends of {append} rows the harness waits a seeded
  random part of the watch's interval, so that flushes fall at every phase of its looks; the
  time runs from the writer's flush to reading the `grown` that gives the writer's new total
  (each `grown` must give it: no partial count). The newest page: while the writer appends
  {append} rows every {every} s, {pages} pages of the last 100 rows it flushed, one every
  {gap} ms, each checked against what the writer wrote; the baseline is the same pages of
  the same writer's file of {live_rows} rows, closed. In Vim: `:VimeFollow` on the SWMR
  writer's table, in a pseudo-terminal; Vim says through a FIFO when the table holds the new
  total with the cursor on its last row, redrawn; the time runs from the flush to reading
  that line, and each cursor line must show the writer's last row.
- HSDS domains (issue 17): a real local HSDS (the `hsds` package: POSIX storage in the run's
  scratch folder, a unix socket, one data node) started by the first HSDS row and stopped
  at the end of the run, loaded with h5pyd directly: the reference pandas table of N/10 rows
  (1M in a full run; PyTables' index left out) and the first N/10 rows of the 8-column
  dataset (in its chunks). vime's backend reaches it through `HS_ENDPOINT`; the floor is a
  bare h5pyd read in a fresh interpreter (the domain and dataset opened before the clock):
  the page's rows in one slice, or the plotted column in chunks of 250,000 rows, one request
  after another (of the table, whole records of the field that holds it, as HSDS sends
  them). Pages are checked against the local data the domains came from, plots against
  vime's engine drawing the local column. Beside each time, "service CPU" is the user +
  system time the service's processes spent meanwhile (from /proc, in 10 ms ticks). Without
  hsds or h5pyd these rows are skipped with the reason.
- The editor rows start real Vim headless (`vim -Nu NONE -i NONE -es`; Neovim:
  `nvim --headless -u NONE`) with the plugin on the runtimepath, run `:edit` on the
  reference file, then `:VimeTable /data`, and poll the buffers (with `reltime()`) until the
  list and then the first page are drawn; the backend starts cold, as on a user's first
  `:edit`. A missing editor skips its row, with the reason.
"""


def render(
    rows: list[RowResult], mode: str, files_note: str, wall: float, query: str, flat: float
) -> str:
    budget = "within" if wall <= FULL_RUN_BUDGET_S else "OVER"
    lines = [
        "# vime benchmarks",
        "",
        f"`python -m benchmarks{' --quick' if mode == 'quick' else ''}` ({mode} run,"
        f" wall time {wall:.0f} s, {budget} the {FULL_RUN_BUDGET_S // 60} minutes a full run"
        f" may take). {files_note}",
        "",
        *machine_lines(),
        "",
        *table_lines(rows),
        "",
    ]
    if mode == "quick":
        lines += [QUICK_NOTE, ""]
    lines += summary_lines(rows)
    errors = error_lines(rows)
    if errors:
        lines += ["", "Errors in full:", *errors]
    notes = METHOD_NOTES.format(
        flushes=live.FLUSHES,
        append=f"{live.APPEND_ROWS:,}",
        every=f"{live.APPEND_EVERY_S:g}",
        pages=live.LIVE_PAGES,
        live_rows=f"{live.LIVE_ROWS:,}",
        query=query,
        flat=f"{flat:g}",
        ballast=BALLAST_MB,
        gap=f"{PAGE_GAP_S * 1000:g}",
        cancel_after=f"{CANCEL_AFTER_S * 1000:g}",
    )
    lines += ["", notes]
    return "\n".join(lines)
