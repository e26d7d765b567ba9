"""The rows of live files (issue 19): a real writer appends while vime reads.

The writers are tests/livewriters.py's subprocesses (h5py in SWMR mode, pandas
``HDFStore.append``), which say when each append is flushed and at what time
(``time.time()``, the clock this process reads too). Row ``i`` of what they
write follows from ``i`` alone, so every page and every line Vim shows is
checked against it.

- flush → ``grown``: a backend watches the table; each append waits a seeded
  random fraction of the watch's interval first, so that flushes fall at every
  phase of its looks, and the latency runs from the writer's flush to the
  notification read here.
- The newest rows' page while the writer appends 1,000 rows every 0.2 s,
  against the same page of a static file of the same size (the same writer,
  closed).
- In Vim: ``:VimeFollow`` on the growing table; the time runs from the flush
  to the moment Vim has the new last row on the cursor line, redrawn, and says
  so through a FIFO.
"""

from __future__ import annotations

import os
import random
import shutil
import statistics
import tempfile
import threading
import time
from collections.abc import Callable
from functools import partial
from pathlib import Path

from benchmarks import checks
from benchmarks.children import PAGE_ROWS
from benchmarks.editor import run_in_terminal, with_open_table
from benchmarks.generate import MATRIX_NAME, PANDAS_KEY
from benchmarks.harness import Bench, Case, Target, warm_backend, warm_call
from benchmarks.heavy import PAGE_GAP_S
from benchmarks.processes import ROOT, BenchError, BenchSkipped, LineReader, RpcChild, Sample
from tests.livewriters import LiveWriter
from vime.handlers.watch import INTERVAL as WATCH_INTERVAL

# What each writer grows, and what its row i shows after the index.
LIVE = {
    "swmr": ("/x", lambda i: [i * 0.5]),
    "pandas": ("/data", lambda i: [i, i * 0.25]),
}
LABELS = {"swmr": "h5py SWMR writer", "pandas": "pandas HDFStore.append writer"}
LIVE_ROWS = 100_000  # rows written before the measurement
APPEND_ROWS = 1000  # rows per append, as in the issue
APPEND_EVERY_S = 0.2  # the background writer's pace while pages are read
FLUSHES = 8  # timed flushes per run
LIVE_PAGES = 40


def rows_problem(content: str, start: int, kind: str) -> str | None:
    """A page's rows (below its title, a blank line and its header, which names a pandas
    index as a column) against what the writer's rows hold."""
    _, row = LIVE[kind]
    shown = [line.split() for line in content.splitlines()[3:]]
    expected = [[i, *row(i)] for i in range(start, start + PAGE_ROWS)]
    return checks.rows_problem(shown, expected)


def live_path(bench: Bench, kind: str, what: str) -> Path:
    path = bench.workdir / f"{what}-{kind}.h5"
    path.unlink(missing_ok=True)
    return path


def warm() -> list:
    """A page of a table and of a dataset on the warm-up file: imports off the clock."""
    return [
        warm_call("table", name=PANDAS_KEY, count=PAGE_ROWS),
        warm_call("table", name=MATRIX_NAME, count=PAGE_ROWS),
    ]


def finished(writer: LiveWriter) -> None:
    """The writer closes its file without an error (vime never causes one)."""
    errors = writer.finish()
    if errors:
        raise BenchError(f"the {writer.kind} writer wrote to stderr: {errors[-300:]}")


class Background:
    """``function()`` in a thread; what it raises is kept for the measuring thread."""

    def __init__(self, function: Callable[[], None]):
        self.failure: BaseException | None = None
        self._function = function
        self._thread = threading.Thread(target=self._run)
        self._thread.start()

    def _run(self) -> None:
        try:
            self._function()
        except BaseException as exc:
            self.failure = exc

    def join(self, what: str) -> None:
        """Wait for the thread; its failure is a BenchError naming ``what`` failed."""
        self._thread.join()
        if self.failure is not None:
            raise BenchError(f"{what} failed: {self.failure}")


def timed_flush(writer: LiveWriter, wait: Callable[[int], None]) -> float:
    """Append APPEND_ROWS rows in a thread while ``wait(rows)`` blocks until vime shows
    them; the seconds from the writer's flush to the end of the wait."""
    wanted = writer.rows + APPEND_ROWS
    appending = Background(lambda: writer.append(APPEND_ROWS))
    try:
        wait(wanted)
        seen = time.time()
    finally:
        appending.join(f"the {writer.kind} writer")
    return seen - writer.flushed_at


def flushes_sample(latencies: list[float], rss: float | None, check, pss=None) -> Sample:
    extra = {"worst": max(latencies), "answers": len(latencies), "unit": "flushes"}
    return Sample(statistics.median(latencies), rss, check=check, extra=extra, pss_mb=pss)


# -- flush → grown -------------------------------------------------------------------------
def vime_grown(bench: Bench, kind: str) -> Sample:
    """The median time from a flush to its `grown`, over FLUSHES flushes."""
    name, _ = LIVE[kind]
    writer = LiveWriter(kind, live_path(bench, kind, "grown"), rows=LIVE_ROWS)
    try:
        path = str(writer.path)
        with warm_backend(bench, warm(), path, with_workers=True) as rpc:
            watched = rpc.call("watch", name=name, path=path)
            if watched["rows"] != LIVE_ROWS:
                raise BenchError(f"watch starts from {watched['rows']} rows, not {LIVE_ROWS}")
            told: list[int] = []
            wait = partial(wait_grown, rpc, told)
            timed_flush(writer, wait)  # the watch's worker is looking: untimed
            rng = random.Random(11)
            latencies = []
            for _ in range(FLUSHES):
                time.sleep(rng.uniform(0, WATCH_INTERVAL))
                latencies.append(timed_flush(writer, wait))
            rpc.call("unwatch", name=name, path=path)
            rss = rpc.finish()
        finished(writer)
        return flushes_sample(latencies, rss, check=told, pss=rpc.pss_mb)
    finally:
        writer.kill()


def wait_grown(rpc: RpcChild, told: list[int], rows: int) -> None:
    """Until a `grown` says ``rows``; every count it tells goes into ``told``."""
    while True:
        grown = rpc.notification({"grown"})["params"]
        told.append(grown["rows"])
        if grown["rows"] >= rows:
            return


def expected_counts(bench: Bench) -> list[int]:
    """One `grown` per flush, with the writer's total (never a partial count)."""
    return [LIVE_ROWS + APPEND_ROWS * flush for flush in range(1, FLUSHES + 2)]


# -- the newest rows' page while the writer appends --------------------------------------------
def newest_pages(rpc: RpcChild, path: str, kind: str, rows: Callable[[], int]) -> dict:
    """LIVE_PAGES pages of the last rows the writer flushed (``rows()``), one every
    PAGE_GAP_S; each page's rows are checked. The sample's parts: times and starts."""
    name, _ = LIVE[kind]
    times, starts = [], []
    for _ in range(LIVE_PAGES):
        start = rows() - PAGE_ROWS
        began = time.perf_counter()
        result = rpc.call("table", name=name, path=path, start=start, count=PAGE_ROWS)
        times.append(time.perf_counter() - began)
        if (result["start"], result["stop"]) != (start, start + PAGE_ROWS):
            raise BenchError(f"page {result['start']}..{result['stop']}, wanted {start}")
        problem = rows_problem(result["content"], start, kind)
        if problem:
            raise BenchError(f"page at {start}: {problem}")
        starts.append(start)
        time.sleep(PAGE_GAP_S)
    return {"times": times, "starts": starts}


def pages_sample(rpc: RpcChild, pages: dict, check) -> Sample:
    times = pages["times"]
    return rpc.sample(statistics.median(times), check=check, worst=max(times), answers=len(times))


def vime_live_page(bench: Bench, kind: str) -> Sample:
    writer = LiveWriter(kind, live_path(bench, kind, "live"), rows=LIVE_ROWS)
    stop = threading.Event()

    def keep_appending() -> None:
        while not stop.wait(APPEND_EVERY_S):
            writer.append(APPEND_ROWS)

    try:
        path = str(writer.path)
        with warm_backend(bench, warm(), path) as rpc:
            appending = Background(keep_appending)
            try:
                pages = newest_pages(rpc, path, kind, lambda: writer.rows)
            finally:
                stop.set()
                appending.join(f"the {kind} writer")
            grew = len(set(pages["starts"])) > 1
            if not grew:
                raise BenchError("the writer added no rows while the pages were read")
            sample = pages_sample(rpc, pages, check=len(pages["times"]))
        finished(writer)
        return sample
    finally:
        stop.set()
        writer.kill()


def prepare_static(bench: Bench, kind: str) -> None:
    """The same writer's file of LIVE_ROWS rows, closed: the static file of the baseline."""
    writer = LiveWriter(kind, live_path(bench, kind, "static"), rows=LIVE_ROWS)
    try:
        finished(writer)
    finally:
        writer.kill()
    bench.memo[f"static-{kind}"] = str(writer.path)


def static_page(bench: Bench, kind: str) -> Sample:
    path = bench.memo[f"static-{kind}"]
    with warm_backend(bench, warm(), path) as rpc:
        pages = newest_pages(rpc, path, kind, lambda: LIVE_ROWS)
        return pages_sample(rpc, pages, check=len(pages["times"]))


# -- :VimeFollow in Vim ----------------------------------------------------------------------------
FOLLOW_FIRST_ROWS = 1000

# Typed as `:source` once Vim runs. After :VimeFollow, for each total the writer reaches
# (the first one included), wait until the table holds it with the cursor on its last
# row and nothing pending, redraw, note the cursor line, and say the total through the
# FIFO; the harness times from the writer's flush to reading that line.
FOLLOW_SCRIPT = with_open_table(r"""
let s:result = {}
function! s:say(line) abort
  call writefile([a:line], $VIME_FIFO, 'a')
endfunction
try
  OPEN_TABLE
  if !vime#job#wait(60000, {-> get(b:vime, 'rows', -1) > 0 && empty(b:vime.pending)})
    throw 'the first rows did not arrive within 60 s'
  endif
  VimeFollow
  let s:want = str2nr($VIME_ROWS)
  let s:lines = []
  for s:i in range(str2nr($VIME_FLUSHES) + 1)
    if !vime#job#wait(60000, {-> b:vime.rows == s:want && b:vime_row == s:want
          \ && empty(b:vime.pending)})
      throw 'row ' . s:want . ' not shown within 60 s'
    endif
    redraw
    call add(s:lines, getline('.'))
    call s:say(string(s:want))
    let s:want += str2nr($VIME_STEP)
  endfor
  let s:result = {'lines': s:lines, 'following': vime#follow#following(bufnr('%'))}
catch
  let s:result = {'error': v:exception . ' at ' . v:throwpoint}
  call s:say('error')
endtry
call writefile([json_encode(s:result)], $VIME_OUT)
qall!
""")


class Fifo:
    """A named pipe Vim writes lines to; held open for writing here too, so that a read
    waits for Vim's next line instead of seeing the end of each of its writes."""

    def __init__(self, folder: Path):
        self.folder = Path(tempfile.mkdtemp(prefix="fifo-", dir=folder))
        self.path = self.folder / "lines"
        os.mkfifo(self.path)
        self._read = os.open(self.path, os.O_RDONLY | os.O_NONBLOCK)
        self._write = os.open(self.path, os.O_WRONLY)
        self.reader = LineReader(self._read)

    def line(self, timeout: float) -> str:
        line = self.reader.read_line(timeout)
        return "" if line is None else line.decode()

    def close(self) -> None:
        self.reader.close()
        os.close(self._write)
        shutil.rmtree(self.folder, ignore_errors=True)


def vim_follow(bench: Bench) -> Sample:
    """Seconds from each flush to Vim showing the new last row (the median of FLUSHES)."""
    program = shutil.which("vim")
    if program is None:
        raise BenchSkipped("vim is not installed")
    script = bench.workdir / "follow.vim"
    script.write_text(FOLLOW_SCRIPT)
    out = bench.workdir / "follow.json"
    out.unlink(missing_ok=True)
    name, row = LIVE["swmr"]
    writer = LiveWriter("swmr", live_path(bench, "swmr", "follow"), rows=FOLLOW_FIRST_ROWS)
    fifo = Fifo(bench.workdir)
    env = {
        **os.environ,
        "TERM": "xterm-256color",
        "VIME_PYTHON": bench.python,
        "VIME_CONFIG": str(bench.workdir / "vime-config.json"),
        "VIME_FILE": str(writer.path),
        "VIME_TABLE": name,
        "VIME_OUT": str(out),
        "VIME_FIFO": str(fifo.path),
        "VIME_ROWS": str(FOLLOW_FIRST_ROWS),
        "VIME_STEP": str(APPEND_ROWS),
        "VIME_FLUSHES": str(FLUSHES),
    }
    command = [program, "-Nu", "NONE", "-i", "NONE", "-n", "--cmd", f"set rtp^={ROOT}",
               "-c", "runtime plugin/vime.vim"]  # fmt: skip
    keys = f"\x1c\x0e:silent source {script}\r"
    vim = Background(lambda: run_in_terminal(command, env, keys, out, bench.timeout))
    try:
        latencies = follow_flushes(bench, writer, fifo)
    except BenchError:
        vim.join("vim")
        followed_lines(out, row)  # Vim's own error, when it wrote one
        raise
    finally:
        try:
            vim.join("vim")
        finally:
            fifo.close()
            writer.kill()
    return flushes_sample(latencies, None, check=followed_lines(out, row))


def follow_flushes(bench: Bench, writer: LiveWriter, fifo: Fifo) -> list[float]:
    def shown(rows: int) -> None:
        said = fifo.line(bench.timeout)
        if said != str(rows):
            raise BenchError(f"vim said {said!r} where it should show {rows} rows")

    shown(FOLLOW_FIRST_ROWS)
    rng = random.Random(13)
    latencies = []
    for _ in range(FLUSHES):
        time.sleep(rng.uniform(0, WATCH_INTERVAL))
        latencies.append(timed_flush(writer, shown))
    finished(writer)
    return latencies


def followed_lines(out: Path, row: Callable[[int], list]) -> list[str]:
    """What Vim's cursor line showed at each total, checked against the writer's rows;
    the check is whether Vim still followed, and the totals shown."""
    import json

    if not out.exists():
        raise BenchError("vim wrote no result")
    result = json.loads(out.read_text())
    if "error" in result:
        raise BenchError(f"vim: {result['error']}")
    totals = []
    for line in result["lines"]:
        cells = line.split()
        last = int(cells[0]) if cells and cells[0].isdigit() else -1
        if checks.rows_problem([cells], [[last, *row(last)]]) is not None:
            raise BenchError(f"vim's cursor line {line!r} is not row {last} as written")
        totals.append(last + 1)
    return [result["following"], *totals]


def expected_follow(bench: Bench) -> list[int]:
    totals = [FOLLOW_FIRST_ROWS + APPEND_ROWS * flush for flush in range(FLUSHES + 1)]
    return [1, *totals]


# -- the rows ------------------------------------------------------------------------------------
def live_cases() -> list[Case]:
    cases = [
        Case(
            f"live-grown-{kind}",
            f"live, {LABELS[kind]}: flush of {APPEND_ROWS:,} rows → `grown` pushed (watch)",
            partial(vime_grown, kind=kind),
            None,
            "—",
            Target("median ≤ 300 ms, max ≤ 1 s", max_seconds=0.3, max_worst_seconds=1),
            compare=checks.same,
            expected=expected_counts,
        )
        for kind in LIVE
    ]
    cases += [
        Case(
            f"live-page-{kind}",
            f"live, {LABELS[kind]}: page of the newest rows while it appends"
            f" {APPEND_ROWS:,} rows every {APPEND_EVERY_S:g} s",
            partial(vime_live_page, kind=kind),
            partial(static_page, kind=kind),
            f"the same pages of a static file of {LIVE_ROWS:,} rows",
            Target("≤ 2x the static file's, max ≤ 200 ms", max_slowdown=2, max_worst_seconds=0.2),
            compare=checks.same,
            expected=lambda bench: LIVE_PAGES,
            prepare=partial(prepare_static, kind=kind),
        )
        for kind in LIVE
    ]
    cases.append(
        Case(
            "editor-follow",
            f"Vim: :VimeFollow, flush of {APPEND_ROWS:,} rows → new last row shown (redrawn)",
            vim_follow,
            None,
            "—",
            Target("median ≤ 500 ms", max_seconds=0.5),
            compare=checks.same,
            expected=expected_follow,
        )
    )
    return cases
