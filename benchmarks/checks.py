"""What the rows check: vime's text parsed back into values, compared value by value.

A speed means nothing if the answer is wrong, so each row with a check
compares what vime showed with what the baseline (or the generator of the
reference data) holds. vime shows numbers with 6 significant digits
(tabulate's default), so a float matches when it rounds the exact value to 6
significant digits; everything else must be equal as text.
"""

from __future__ import annotations

import math

from benchmarks.processes import BenchError

SUMMARY_TITLE = "summary of the numeric columns"


def page_table(content: str) -> dict:
    """A `table` page as {"columns": [...], "rows": [[index, *cells], ...]} (cells as text)."""
    lines = content.splitlines()
    if len(lines) < 3:
        raise BenchError(f"a page of {len(lines)} lines has no column names")
    columns = lines[2].split()
    rows = [line.split() for line in lines[3:]]
    for row in rows:
        if len(row) != len(columns) + 1:
            raise BenchError(f"cannot parse the page row {row!r}: {len(columns) + 1} cells wanted")
    return {"columns": columns, "rows": rows}


def same_to_6_digits(shown: float, exact: float) -> bool:
    """Whether ``shown`` is ``exact`` rounded to 6 significant digits."""
    if math.isnan(exact) or math.isnan(shown):
        return math.isnan(exact) and math.isnan(shown)
    if exact == 0 or math.isinf(exact):
        return shown == exact
    half_unit = 0.5 * 10 ** (math.floor(math.log10(abs(exact))) - 5)
    return abs(shown - exact) <= half_unit * (1 + 1e-9)


def cell_matches(shown: str, expected) -> bool:
    if isinstance(expected, float):
        try:
            return same_to_6_digits(float(shown), expected)
        except ValueError:
            return False
    return shown == str(expected)  # ints, bools and strings are shown as they are


def rows_problem(shown: list[list[str]], expected: list[list]) -> str | None:
    """The first difference between parsed rows and the expected values, or None."""
    if len(shown) != len(expected):
        return f"{len(shown)} rows, expected {len(expected)}"
    for row, wanted in zip(shown, expected, strict=True):
        if len(row) != len(wanted):
            return f"row {row[:1]}: {len(row)} cells, expected {len(wanted)}"
        for position, (cell, value) in enumerate(zip(row, wanted, strict=True)):
            if not cell_matches(cell, value):
                return f"row {wanted[0]}, cell {position}: vime shows {cell!r}, expected {value!r}"
    return None


def page_problem(shown: dict, expected: dict) -> str | None:
    """Column names and every cell of a page against the expected page."""
    if shown["columns"] != expected["columns"]:
        return f"columns {shown['columns']}, expected {expected['columns']}"
    return rows_problem(shown["rows"], expected["rows"])


def info_summary(content: str) -> dict[str, dict[str, str]]:
    """The describe() table of an `info` reply: {column: {statistic: text}}."""
    lines = content.splitlines()
    starts = [i for i, line in enumerate(lines) if line.startswith(SUMMARY_TITLE)]
    if not starts:
        raise BenchError("the info text has no summary")
    header = lines[starts[0] + 1].split()
    summary = {}
    for line in lines[starts[0] + 2 :]:
        if not line.strip():
            break
        name, *cells = line.split()
        summary[name] = dict(zip(header, cells, strict=True))
    return summary


def summary_problem(shown: dict[str, dict[str, str]], expected: dict[str, dict]) -> str | None:
    """Every statistic of every column against describe()'s, to 6 significant digits."""
    if sorted(shown) != sorted(expected):
        return f"summary columns {sorted(shown)}, describe() has {sorted(expected)}"
    for column, statistics in expected.items():
        for name, exact in statistics.items():
            text = shown[column].get(name, "missing")
            if not cell_matches(text, exact):
                return f"{column} {name}: vime shows {text}, describe() has {exact!r}"
    return None


def same(shown, expected) -> str | None:
    return None if shown == expected else f"vime's {shown!r} differs from {expected!r}"
