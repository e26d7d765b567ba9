"""Text for the editor: the page header, the page as tabulate plain text, raw pages.

A page has one text line per row: the editor maps lines to rows. Control
characters inside cells, labels and names (a newline in a string) are shown
escaped, as ``\\n``, ``\\t`` or ``\\x1b``.
"""

from __future__ import annotations

import re
import sys
from typing import TYPE_CHECKING

import numpy as np
from tabulate import tabulate

from vime.loaders.base import PageArrays

if TYPE_CHECKING:  # a page of numbers is numpy arrays: pandas is imported for the others
    import pandas as pd

    Page = pd.DataFrame | PageArrays


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


def frame_text(page: Page) -> str:
    """The page (a DataFrame, or the same rows as PageArrays) as tabulate plain text,
    index first (each MultiIndex level a column)."""
    headers, columns, numeric = page_cells(page)
    text = plain_table(headers, columns, numeric)
    return tabulated(headers, columns, numeric) if text is None else text


def page_cells(page: Page) -> tuple[list[str], list[list], list[bool]]:
    """The headers, each column's cells (see ``_cells``), and which columns are numbers."""
    if isinstance(page, PageArrays):
        index_names, levels, labels, values = page
    else:
        index = page.index
        index_names, labels = index.names, page.columns
        levels = [index.get_level_values(i) for i in range(index.nlevels)]
        values = [column for _, column in page.items()]
    names = ["" if n is None else escape_controls(str(n)) for n in index_names]
    columns = [*levels, *values]
    headers = [*names, *(escape_controls(str(c)) for c in labels)]
    return headers, [_cells(c) for c in columns], [_is_numeric(c) for c in columns]


def tabulated(headers: list[str], columns: list[list], numeric: list[bool]) -> str:
    """tabulate's plain table of the columns' cells (see ``_cells``)."""
    rows = list(zip(*columns, strict=True))
    # Numbers are aligned and formatted by tabulate; strings are shown verbatim
    # (numparse would turn a string like '1e5' into 100000).
    text_columns = [i for i, is_number in enumerate(numeric) if not is_number]
    return tabulate(
        rows,
        headers=headers,
        tablefmt="plain",
        disable_numparse=(text_columns or False) if rows else True,
    )


# -- tabulate's plain table, fast ----------------------------------------------------------
# tabulate infers each cell's type and measures it several times over: most of a page's
# time, once its rows are read. The columns' dtypes are known here, so ``plain_table`` writes
# the same text as ``tabulated`` directly for the common cells: numbers of a numeric column
# (int: ``str``, float: ``format(v, "g")``, right-aligned on their decimal point), and ASCII
# text, times and bools (left-aligned, stripped, as tabulate's ``str`` columns). Anything
# else (bytes, bools among numbers, arrays, non-ASCII text, which tabulate may measure by
# display width, no rows) is left to tabulate. tests/test_loaders.py checks the two agree.
HEADER_PADDING = 2  # tabulate's MIN_PADDING: a column is its header's width plus this


def plain_table(headers: list[str], columns: list[list], numeric: list[bool]) -> str | None:
    """The text ``tabulated`` gives, or None when a cell needs tabulate's own rules."""
    if not columns or not columns[0] or not all(h.isascii() for h in headers):
        return None
    aligned = []
    for header, cells, is_number in zip(headers, columns, numeric, strict=True):
        texts = _number_texts(cells) if is_number else _plain_texts(cells)
        if texts is None:
            return None
        aligned.append(_aligned(header, texts, right=is_number))
    return "\n".join("  ".join(line).rstrip() for line in zip(*aligned, strict=True))


def _number_texts(cells: list) -> list[str] | None:
    """A numeric column's cells as tabulate writes them, padded on the right so that
    their decimal points (or exponents) line up."""
    if all(type(v) is int for v in cells):
        return [str(v) for v in cells]
    if not all(type(v) is float for v in cells):
        return None
    texts = [format(v, "g") for v in cells]
    points = [_after_point(text) for text in texts]
    most = max(points)
    return [text + " " * (most - point) for text, point in zip(texts, points, strict=True)]


def _after_point(text: str) -> int:
    """tabulate's _afterpoint for ``format(float, "g")``: characters after the point, or
    after the 'e' without one; -1 without either (integers, nan, inf)."""
    point = text.rfind(".")
    if point < 0:
        point = text.rfind("e")
    return -1 if point < 0 else len(text) - point - 1


def _plain_texts(cells: list) -> list[str] | None:
    """A text column's cells as tabulate writes them: stripped; None for any other kind.

    tabulate's type of a column of bools (or of bools and text) is bool (or str): its
    cells are written as ``str`` gives them, left-aligned, as text is."""
    texts = []
    for cell in cells:
        if isinstance(cell, str):
            text = cell
        elif hasattr(cell, "isoformat") or type(cell) is bool:  # tabulate writes them as text
            text = f"{cell}"
        else:
            return None
        if not text.isascii():
            return None
        texts.append(text.strip())
    return texts


def _aligned(header: str, texts: list[str], right: bool) -> list[str]:
    """The header and the cells, padded to the column's width."""
    width = max(len(header) + HEADER_PADDING, max(map(len, texts)))
    if right:
        return [header.rjust(width), *(text.rjust(width) for text in texts)]
    return [header.ljust(width), *(text.ljust(width) for text in texts)]


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
    if value is None:
        return True
    if isinstance(value, float):
        return value != value
    # Only pandas makes a NaT: look it up only once pandas is imported (maybe half-way,
    # by warm_up's thread), never import it for that.
    return value is getattr(sys.modules.get("pandas"), "NaT", None)


def page_content(name, rows, cols, start, stop, page: Page, where: str = "") -> str:
    """The header and the page's text; ``page`` a DataFrame or PageArrays."""
    return f"{header(name, rows, cols, start, stop, where)}\n\n{frame_text(page)}"


def raw_content(name, rows, cols, start, stop, raw: np.ndarray, where: str = "") -> str:
    """The `fast` page: numpy's own printing, no DataFrame."""
    body = np.array2string(np.asarray(raw), threshold=sys.maxsize, max_line_width=200)
    return f"{header(name, rows, cols, start, stop, where)}\n\n{body}"
