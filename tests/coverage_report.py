"""After ``bin/vime-test --all``: combine the coverage data, print the total, write COVERAGE.md.

The data comes from every process the suite ran under coverage: pytest and
its xdist workers, every bin/vime-rpc the tests (and the editors, and the
benchmark) started. See [tool.coverage.run] in pyproject.toml.
"""

from __future__ import annotations

import io
import sys
from datetime import date
from pathlib import Path

import coverage

TARGET = 90.0
REPORT = Path(__file__).resolve().parent / "COVERAGE.md"


def main() -> int:
    cov = coverage.Coverage()
    cov.combine(keep=False)
    cov.save()
    table = io.StringIO()
    total = cov.report(file=table, output_format="markdown", show_missing=True)
    verdict = "met" if total >= TARGET else "NOT MET"
    summary = f"line coverage of vime/: {total:.1f}% (target {TARGET:g}%: {verdict})"
    REPORT.write_text(
        "# Test coverage\n\n"
        f"`bin/vime-test --all` on {date.today().isoformat()}: {summary}.\n\n"
        "Measured in every process the suite starts: pytest and its workers, every\n"
        "`bin/vime-rpc` the tests, the editors and the quick benchmark run. `Missing`\n"
        "lists the lines no test ran.\n\n" + table.getvalue()
    )
    where = REPORT.relative_to(REPORT.parents[1])
    sys.stdout.write(f"vime: {summary}; uncovered lines in {where}\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
