"""python -m benchmarks [--quick] [--cache DIR] [--results FILE] [--only KEY,...]

Generates the reference files if they are missing, runs every row, prints
the table and writes it to benchmarks/RESULTS.md (or --results).
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

from benchmarks.cases import FLAT_GROWTH_MB, Bench, all_cases
from benchmarks.generate import FILTER_QUERY, default_cache_dir, ensure, reference_files
from benchmarks.report import render
from benchmarks.runner import run_case

DESCRIPTION = "Measure vime against its baselines; print and save the table."
RESULTS = Path(__file__).resolve().parent / "RESULTS.md"


@dataclass(frozen=True)
class Mode:
    name: str
    rows: int
    runs: int  # runs of a light row
    heavy_runs: int  # runs of a row whose baseline reads a whole table
    timeout: float  # per child process
    scale: tuple[int, int, int]  # the sizes of the scale rows' table


FULL = Mode("full", 10_000_000, 9, 5, 300, scale=(1_000_000, 10_000_000, 100_000_000))
QUICK = Mode("quick", 1_000_000, 2, 1, 120, scale=(10_000, 100_000, 1_000_000))


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m benchmarks", description=DESCRIPTION)
    parser.add_argument("--quick", action="store_true", help="1M rows and fewer runs (smoke test)")
    parser.add_argument(
        "--cache",
        type=Path,
        default=None,
        help="folder of the reference files (default: $VIME_BENCH_CACHE or ~/.cache/vime-bench)",
    )
    parser.add_argument("--results", type=Path, default=RESULTS, help="where to write the table")
    parser.add_argument("--only", default="", help="comma-separated row keys (prefixes) to run")
    return parser.parse_args(argv)


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


def selected(cases, only: str):
    prefixes = [prefix.strip() for prefix in only.split(",") if prefix.strip()]
    if not prefixes:
        return cases
    return [case for case in cases if any(case.key.startswith(p) for p in prefixes)]


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    mode = QUICK if args.quick else FULL
    began = time.perf_counter()
    cache = args.cache or default_cache_dir()
    files = reference_files(cache, mode.rows)
    ensure(files, log=log)
    generated = time.perf_counter() - began
    cases = selected(all_cases(mode.scale), args.only)
    rows = []
    with tempfile.TemporaryDirectory(prefix="vime-bench-") as scratch:
        bench = Bench(files, Path(scratch), sys.executable, mode.timeout, mode.rows, cache, log)
        try:
            for case in cases:
                runs = mode.heavy_runs if case.heavy else mode.runs
                log(f"{case.key}: {case.operation} ...")
                row = run_case(case, bench, runs)
                log(f"  {row.status} {'; '.join(row.reasons)}")
                rows.append(row)
        finally:
            bench.close()  # a service the rows started stops before its folder goes
    wall = time.perf_counter() - began
    files_note = (
        f"Reference files: {mode.rows:,} rows x 10 cols (pandas table and fixed formats),"
        f" h5py {mode.rows:,} x 8 chunked float64, {mode.rows:,}-row compound,"
        f" {files.plane_side:,} x {files.plane_side:,} float32 plane;"
        f" in {files.table.parent} (generating them took {generated:.0f} s of this run;"
        " the scale rows' tables are generated when their row runs)."
    )
    text = render(rows, mode.name, files_note, wall, FILTER_QUERY, FLAT_GROWTH_MB)
    print(text)
    args.results.write_text(text + "\n")
    log(f"wrote {args.results} in {wall:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
