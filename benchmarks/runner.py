"""Run each row's sides interleaved, several times, and judge it against its target.

vime, its baseline and the floor alternate run by run, so that load from
other processes on the machine falls on all of them alike. A side that
fails stops repeating and its row reports the error; the run goes on.
"""

from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from benchmarks.cases import Bench, Case
from benchmarks.processes import BenchError, Sample


@dataclass
class Side:
    samples: list[Sample] = field(default_factory=list)
    error: str | None = None

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


@dataclass
class RowResult:
    case: Case
    runs: int
    vime: Side
    baseline: Side | None
    floor: Side | None
    status: str = ""  # met | NOT MET | ERROR | info
    reasons: list[str] = field(default_factory=list)

    @property
    def growth_mb(self) -> float | None:
        """For the random-pages rows: the largest RSS growth of the runs."""
        growths = [s.extra["after"] - s.extra["before"] for s in self.vime.samples if s.extra]
        return max(growths) if growths else None


def describe(exc: Exception) -> str:
    return str(exc) if isinstance(exc, BenchError) else f"{type(exc).__name__}: {exc}"


def run_case(case: Case, bench: Bench, runs: int) -> RowResult:
    sides = {"vime": case.vime, "baseline": case.baseline, "floor": case.floor}
    results = {name: Side() for name, function in sides.items() if function}
    for _ in range(case.runs or runs):
        for name, side in results.items():
            if side.error:
                continue
            try:
                side.samples.append(sides[name](bench))
            except Exception as exc:  # any failure becomes the row's error, never the run's
                side.error = describe(exc)
    row = RowResult(
        case,
        case.runs or runs,
        results["vime"],
        results.get("baseline"),
        results.get("floor"),
    )
    judge(row)
    return row


def judge(row: RowResult) -> None:
    case, vime, baseline = row.case, row.vime, row.baseline
    if not vime.ok:
        row.status, row.reasons = "ERROR", [f"vime: {vime.error}"]
        return
    if case.compare and baseline and baseline.ok:
        ours, theirs = vime.samples[0].check, baseline.samples[0].check
        if ours != theirs:
            row.status = "ERROR"
            row.reasons = [f"vime's result {ours!r} differs from the baseline's {theirs!r}"]
            return
    needs_baseline = case.target.min_speedup is not None or case.target.max_slowdown is not None
    if needs_baseline and not (baseline and baseline.ok):
        error = baseline.error if baseline else "none"
        row.status, row.reasons = "ERROR", [f"baseline: {error}"]
        return
    base_seconds = baseline.seconds if baseline and baseline.ok else None
    row.reasons = case.target.misses(vime.seconds, base_seconds, vime.rss_mb, row.growth_mb)
    if not case.target.checked:
        row.status = "info"
    else:
        row.status = "NOT MET" if row.reasons else "met"
