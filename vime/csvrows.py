"""CSV rows of numeric frames, the same text as ``DataFrame.to_csv``, about twice as fast.

pandas formats a float64 column with numpy's ``astype(str)``, which is slow. Python's
``repr`` (= ``str``) of a float gives the same shortest round-trip digits in the same
notation, so rows of plain numpy ints, uints, bools and float64s are formatted from
Python lists, one ``'%s,%s,...' % row`` per row. float16/float32 keep ``astype(str)``:
the repr of the widened Python float would show float64 digits. Everything else
(strings, datetimes, categoricals, extension dtypes, a MultiIndex) goes to ``to_csv``.

Rows are formatted a slice at a time: the Python objects of a slice cost about 60 bytes
a cell, so a slice, not the chunk, bounds the memory.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from typing import TextIO

import numpy as np
import pandas as pd

SLICE_ROWS = 20_000
# Kinds of numpy dtypes formatted here: bool, signed and unsigned ints, floats.
PLAIN_KINDS = frozenset("biuf")


def write_csv_rows(frame: pd.DataFrame, handle: TextIO, with_index: bool) -> None:
    """Write the frame's rows, without the header, as ``frame.to_csv`` would."""
    arrays = plain_arrays(frame, with_index)
    if arrays is None:
        frame.to_csv(handle, index=with_index, header=False)
        return
    for text in rows_text(arrays):
        handle.write(text)


def plain_arrays(frame: pd.DataFrame, with_index: bool) -> list[np.ndarray] | None:
    """The columns to write (the index first when written) as numpy arrays, or None
    when one of them is not a plain numeric or bool numpy array."""
    # The dtypes are checked before to_numpy(), which would turn Int64 into floats.
    dtypes = [*([frame.index.dtype] if with_index else []), *frame.dtypes]
    if not dtypes or not all(_is_plain(dtype) for dtype in dtypes):
        return None
    arrays = [frame.iloc[:, position].to_numpy() for position in range(frame.shape[1])]
    return [frame.index.to_numpy(), *arrays] if with_index else arrays


def _is_plain(dtype) -> bool:
    # A longdouble is a float too, but its Python float would drop digits.
    return isinstance(dtype, np.dtype) and dtype.kind in PLAIN_KINDS and dtype.itemsize <= 8


def rows_text(arrays: list[np.ndarray], slice_rows: int = SLICE_ROWS) -> Iterator[str]:
    """The CSV lines of the rows of these equally long arrays, one string per slice."""
    row_format = ",".join(["%s"] * len(arrays)) + os.linesep
    # The csv module quotes an empty field when it is the row's only one.
    missing = '""' if len(arrays) == 1 else ""
    for start in range(0, len(arrays[0]), slice_rows):
        cells = [_cells(array[start : start + slice_rows], missing) for array in arrays]
        yield "".join(map(row_format.__mod__, zip(*cells, strict=True)))


def _cells(values: np.ndarray, missing: str) -> list:
    """Python values whose str() is the cell's text; NaN is ``missing``."""
    if values.dtype.kind != "f":
        return values.tolist()
    # float16 and float32 keep their own shortest digits, as pandas writes them.
    cells = values.tolist() if values.dtype.itemsize == 8 else values.astype(str).tolist()
    for position in np.flatnonzero(np.isnan(values)).tolist():
        cells[position] = missing
    return cells
