"""Text for the editor: the page header, the page as tabulate plain text, raw pages."""

from __future__ import annotations

import sys

import numpy as np
import pandas as pd
from tabulate import tabulate


def title(name: str, rows: int, cols: int) -> str:
    """'/exp/results  [10,000,000 rows x 10 cols]'."""
    return f"{name}  [{rows:,} rows x {cols:,} cols]"


def header(name: str, rows: int, cols: int, start: int, stop: int, plane=()) -> str:
    """'/exp/results  [10,000,000 rows x 10 cols]  rows 0–99'."""
    where = f"rows {start:,}–{stop - 1:,}" if stop > start else f"no rows from {start:,}"
    text = f"{title(name, rows, cols)}  {where}"
    if plane:
        text += f"  plane {list(plane)}"
    return text


def frame_text(frame: pd.DataFrame) -> str:
    """The page as tabulate plain text, index first (each MultiIndex level a column)."""
    index = frame.index
    levels = [index.get_level_values(i) for i in range(index.nlevels)]
    names = ["" if n is None else str(n) for n in index.names]
    values = [frame.iloc[:, i] for i in range(frame.shape[1])]
    rows = list(zip(*(lv.tolist() for lv in levels), *(_cells(v) for v in values), strict=True))
    # Numbers are aligned and formatted by tabulate; strings are shown verbatim
    # (numparse would turn a string like '1e5' into 100000).
    text_columns = [i for i, col in enumerate([*levels, *values]) if not _is_numeric(col)]
    return tabulate(
        rows,
        headers=[*names, *map(str, frame.columns)],
        tablefmt="plain",
        disable_numparse=(text_columns or False) if rows else True,
    )


def _is_numeric(values) -> bool:
    dtype = values.dtype
    return isinstance(dtype, np.dtype) and dtype.kind in "iuf"


def _cells(values: pd.Series) -> list:
    if _is_numeric(values):
        return values.tolist()
    return ["NaN" if _is_missing(v) else v for v in values.tolist()]


def _is_missing(value) -> bool:
    if value is None or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value


def page_content(name, rows, cols, start, stop, frame: pd.DataFrame, plane=()) -> str:
    return f"{header(name, rows, cols, start, stop, plane)}\n\n{frame_text(frame)}"


def raw_content(name, rows, cols, start, stop, raw: np.ndarray, plane=()) -> str:
    """The `fast` page: numpy's own printing, no DataFrame."""
    body = np.array2string(np.asarray(raw), threshold=sys.maxsize, max_line_width=200)
    return f"{header(name, rows, cols, start, stop, plane)}\n\n{body}"
