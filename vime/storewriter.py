"""Append DataFrame chunks to a pandas ``table``-format HDF5 store, memory bounded.

Compute results and HDF5 exports are written with this, a chunk at a time.
A table-format string column has a fixed width, set by the first chunk; when
a later chunk holds a longer string, the rows written so far are copied once
into a new file with wider columns (twice the longest seen), so widths are
never measured ahead in a separate pass over the data.
"""

from __future__ import annotations

import os
import warnings

import pandas as pd

WIDTH_ERROR = "Trying to store a string with len"
COPY_ROWS = 500_000  # rows per read when a store is copied into wider columns


class StoreWriter:
    def __init__(self, path: str, key: str):
        self.path = path
        self.key = key
        self.rows = 0
        self.columns: list[str] | None = None
        self._store: pd.HDFStore | None = None
        self._empty: pd.DataFrame | None = None  # the schema, for a result with no rows

    def append(self, frame: pd.DataFrame) -> None:
        frame = storable(frame)
        if self.columns is None:
            self.columns = [str(c) for c in frame.columns]
        if len(frame) == 0:
            self._empty = frame.iloc[:0] if self._empty is None else self._empty
            return
        try:
            self._append(frame, None)
        except ValueError as exc:
            if WIDTH_ERROR not in str(exc):
                raise
            self._widen(frame)
            self._append(frame, self._widths())

    def close(self) -> None:
        """Finish the file; a result with no rows is stored as an empty fixed-format frame."""
        if self._store is None:
            empty = self._empty if self._empty is not None else pd.DataFrame()
            with pd.HDFStore(self.path, mode="w") as store:
                store.put(self.key, empty, format="fixed", track_times=False)
            return
        self._store.close()
        self._store = None

    def abort(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    # -- internals --------------------------------------------------------------
    def _append(self, frame: pd.DataFrame, widths: dict | None) -> None:
        if self._store is None:
            self._store = pd.HDFStore(self.path, mode="w")
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", pd.errors.PerformanceWarning)
            self._store.append(self.key, frame, format="table", data_columns=True, index=False,
                               min_itemsize=widths)  # fmt: skip
        self.rows += len(frame)

    def _widths(self) -> dict[str, int]:
        """The width of every string column of the stored table."""
        table = self._store.get_storer(self.key).table
        return {
            name: table.coldescrs[name].itemsize
            for name in table.colnames
            if table.coldescrs[name].kind == "string"
        }

    def _widen(self, frame: pd.DataFrame) -> None:
        """Copy the rows so far into a file whose string columns fit ``frame`` too."""
        widths = self._widths()
        for name, longest in text_widths(frame).items():
            if name in widths:
                widths[name] = max(longest, 2 * widths[name])
        old, wider = self._store, pd.HDFStore(self.path + ".wider", mode="w")
        for start in range(0, self.rows, COPY_ROWS):
            part = old.select(self.key, start=start, stop=start + COPY_ROWS)
            wider.append(self.key, part, format="table", data_columns=True, index=False,
                         min_itemsize=widths)  # fmt: skip
        old.close()
        wider.close()
        os.replace(self.path + ".wider", self.path)
        self._store = pd.HDFStore(self.path, mode="a")


def storable(frame: pd.DataFrame) -> pd.DataFrame:
    """String column labels, unique ('a', 'a_2'), MultiIndex labels joined by '.'."""
    labels = [
        ".".join(map(str, label)) if isinstance(label, tuple) else str(label)
        for label in frame.columns
    ]
    seen: dict[str, int] = {}
    unique = []
    for label in labels:
        count = seen.get(label, 0) + 1
        seen[label] = count
        unique.append(label if count == 1 else f"{label}_{count}")
    if unique == list(frame.columns):
        return frame
    frame = frame.copy(deep=False)
    frame.columns = unique
    return frame


def text_widths(frame: pd.DataFrame) -> dict[str, int]:
    """The longest UTF-8 value of each text column, and of a text index as 'index'."""
    widths = {}
    named = {str(c): frame[c] for c in frame.columns}
    if frame.index.nlevels == 1:
        named["index"] = frame.index.to_series()
    for name, values in named.items():
        if pd.api.types.is_string_dtype(values.dtype) or values.dtype == object:
            longest = values.dropna().astype(str).str.encode("utf-8").str.len().max()
            widths[name] = int(longest) if pd.notna(longest) else 1
    return widths
