"""Run each row's sides interleaved, several times, and judge it against its target.

vime, its baseline and the floor alternate run by run, so that load from
other processes on the machine falls on all of them alike. A side that
fails stops repeating and its row reports the error; the run goes on. The
first run's results are checked (``Case.compare``): a wrong result is the
row's error, whatever its speed.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from benchmarks.harness import Bench, Case
from benchmarks.processes import BenchError, BenchSkipped, Sample


@dataclass
class Side:
    samples: list[Sample] = field(default_factory=list)
    error: str | None = None
    skipped: str | None = None

    @property
    def ok(self) -> bool:
        return self.error is None and bool(self.samples)

    @property
    def seconds(self) -> float:
        return statistics.median(s.seconds for s in self.samples)

    @property
    def rss_mb(self) -> float | None:
        # The highest peak of the runs: a target on memory must hold every time.
        peaks = [s.rss_mb for s in self.samples if s.rss_mb is not None]
        return max(peaks) if peaks else None

    @property
    def parts_mb(self) -> tuple[float, float, float] | None:
        """How the highest summed peak splits: vime-rpc, fork servers, workers."""
        measured = [s for s in self.samples if s.rss_mb is not None]
        return max(measured, key=lambda s: s.rss_mb).parts_mb if measured else None

    @property
    def pss_mb(self) -> float | None:
        """The highest peak PSS of the runs, for the rows that sample it."""
        peaks = [s.pss_mb for s in self.samples if s.pss_mb is not None]
        return max(peaks) if peaks else None

    @property
    def worst(self) -> float | None:
        """For the rows timing many answers in a run: the slowest answer of all runs."""
        worst = [s.extra["worst"] for s in self.samples if "worst" in s.extra]
        return max(worst) if worst else None


@dataclass
class RowResult:
    case: Case
    runs: int
    vime: Side
    baseline: Side | None
    floor: Side | None
    status: str = ""  # met | NOT MET | ERROR | SKIPPED | info
    reasons: list[str] = field(default_factory=list)
    problem: str | None = None  # a wrong result, or why it could not be checked

    @property
    def growth_mb(self) -> float | None:
        """For the random-pages rows: the largest RSS growth of the runs."""
        growths = [
            s.extra["after"] - s.extra["before"] for s in self.vime.samples if "after" in s.extra
        ]
        return max(growths) if growths else None


def describe(exc: Exception) -> str:
    return str(exc) if isinstance(exc, BenchError) else f"{type(exc).__name__}: {exc}"


def run_case(case: Case, bench: Bench, runs: int) -> RowResult:
    sides = {"vime": case.vime, "baseline": case.baseline, "floor": case.floor}
    results = {name: Side() for name, function in sides.items() if function}
    runs = case.runs or runs
    row = RowResult(case, runs, results["vime"], results.get("baseline"), results.get("floor"))
    try:
        if case.prepare:
            case.prepare(bench)
    except BenchSkipped as skipped:
        row.status, row.reasons = "SKIPPED", [str(skipped)]
        return row
    except Exception as exc:  # a failure to prepare is the row's error
        row.status, row.reasons = "ERROR", [f"preparing: {describe(exc)}"]
        return row
    for run in range(runs):
        bench.checking = run == 0  # results are checked once; later runs only time
        for name, side in results.items():
            if side.error or side.skipped:
                continue
            try:
                side.samples.append(sides[name](bench))
            except BenchSkipped as skipped:
                side.skipped = str(skipped)
            except Exception as exc:  # any failure becomes the row's error, never the run's
                side.error = describe(exc)
        if run == 0 and case.compare:
            row.problem = check(case, bench, row)
    judge(row)
    return row


def check(case: Case, bench: Bench, row: RowResult) -> str | None:
    """The reason vime's first result is wrong or unchecked, or None when it is right."""
    if not row.vime.samples:
        return None
    ours = row.vime.samples[0].check
    try:
        if case.expected:
            theirs = case.expected(bench)
        elif row.baseline and row.baseline.samples:
            theirs = row.baseline.samples[0].check
        else:
            why = (row.baseline.error or row.baseline.skipped) if row.baseline else "none"
            return f"result not checked: no baseline result (baseline: {why})"
        problem = case.compare(ours, theirs)
        return problem and f"wrong result: {problem}"
    except Exception as exc:
        return f"result not checked: {describe(exc)}"
    finally:
        for side in (row.vime, row.baseline):
            if side and side.samples:
                side.samples[0].check = None  # checked: free what may be a whole result


def judge(row: RowResult) -> None:
    case, vime, baseline = row.case, row.vime, row.baseline
    if vime.skipped:
        row.status, row.reasons = "SKIPPED", [vime.skipped]
        return
    if not vime.ok:
        row.status, row.reasons = "ERROR", [f"vime: {vime.error}"]
        return
    if row.problem:
        row.status, row.reasons = "ERROR", [row.problem]
        return
    if case.target.needs_baseline and not (baseline and baseline.ok):
        error = (baseline.error or baseline.skipped) if baseline else "none"
        row.status, row.reasons = "ERROR", [f"baseline: {error}"]
        return
    measured = baseline if baseline and baseline.ok else None
    row.reasons = case.target.misses(vime, measured, row.growth_mb)
    if not case.target.checked:
        row.status = "info"
    else:
        row.status = "NOT MET" if row.reasons else "met"
