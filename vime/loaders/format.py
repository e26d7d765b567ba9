"""Text for the editor: the page header, the page as tabulate plain text, raw pages.

A page has one text line per row: the editor maps lines to rows. Control
characters inside cells, labels and names (a newline in a string) are shown
escaped, as ``\\n``, ``\\t`` or ``\\x1b``.
"""

from __future__ import annotations

import re
import sys

import numpy as np
import pandas as pd
from tabulate import tabulate


def title(name: str, rows: int, cols: int) -> str:
    """'/exp/results  [10,000,000 rows x 10 cols]'."""
    return f"{name}  [{rows:,} rows x {cols:,} cols]"


def header(name: str, rows: int, cols: int, start: int, stop: int, where: str = "") -> str:
    """'/exp/results  [10,000,000 rows x 10 cols]  rows 0–99', then ``where``.

    ``where`` names the part of an N-D dataset shown: 'plane [2]', 'slice [0, :, 5:10]'.
    """
    shown = f"rows {start:,}–{stop - 1:,}" if stop > start else f"no rows from {start:,}"
    text = f"{title(name, rows, cols)}  {shown}"
    return f"{text}  {where}" if where else text


# C0 and C1 controls, DEL, and the Unicode line and paragraph separators.
_CONTROLS = re.compile("[\x00-\x1f\x7f-\x9f\u2028\u2029]")
_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t"}


def escape_controls(text: str) -> str:
    """``text`` with control characters written as escapes, so it stays on one line."""
    return _CONTROLS.sub(_escape, text) if _CONTROLS.search(text) else text


def _escape(match: re.Match) -> str:
    char = match[0]
    if char in _NAMED:
        return _NAMED[char]
    return f"\\x{ord(char):02x}" if ord(char) < 256 else f"\\u{ord(char):04x}"


def frame_text(frame: pd.DataFrame) -> str:
    """The page as tabulate plain text, index first (each MultiIndex level a column)."""
    index = frame.index
    levels = [index.get_level_values(i) for i in range(index.nlevels)]
    names = ["" if n is None else escape_controls(str(n)) for n in index.names]
    values = [frame.iloc[:, i] for i in range(frame.shape[1])]
    rows = list(zip(*(_cells(lv) for lv in levels), *(_cells(v) for v in values), strict=True))
    # Numbers are aligned and formatted by tabulate; strings are shown verbatim
    # (numparse would turn a string like '1e5' into 100000).
    text_columns = [i for i, col in enumerate([*levels, *values]) if not _is_numeric(col)]
    return tabulate(
        rows,
        headers=[*names, *(escape_controls(str(c)) for c in frame.columns)],
        tablefmt="plain",
        disable_numparse=(text_columns or False) if rows else True,
    )


def _is_numeric(values) -> bool:
    dtype = values.dtype
    return isinstance(dtype, np.dtype) and dtype.kind in "iuf"


def _cells(values) -> list:
    """A column's (or index level's) cells for tabulate: missing as NaN, controls escaped."""
    if _is_numeric(values):
        return values.tolist()
    return ["NaN" if _is_missing(v) else _one_line(v) for v in values.tolist()]


def _one_line(value):
    """A cell that prints on one line: its text escaped when it holds a control character."""
    if isinstance(value, str):
        return escape_controls(value)
    if isinstance(value, (int, float, bool)) or value is None:
        return value
    text = str(value)  # arrays, bytes, timestamps: as tabulate would print them
    return escape_controls(text) if _CONTROLS.search(text) else value


def _is_missing(value) -> bool:
    if value is None or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value


def page_content(name, rows, cols, start, stop, frame: pd.DataFrame, where: str = "") -> str:
    return f"{header(name, rows, cols, start, stop, where)}\n\n{frame_text(frame)}"


def raw_content(name, rows, cols, start, stop, raw: np.ndarray, where: str = "") -> str:
    """The `fast` page: numpy's own printing, no DataFrame."""
    body = np.array2string(np.asarray(raw), threshold=sys.maxsize, max_line_width=200)
    return f"{header(name, rows, cols, start, stop, where)}\n\n{body}"
