"""In-memory tables for handler tests: a DataFrame seen as a Table, and a State holding them."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vime.errors import NoSuchTable
from vime.loaders.base import Table
from vime.state import State


class FrameTable(Table):
    kind = "frame"

    def __init__(self, name: str, frame: pd.DataFrame, attrs: dict | None = None):
        self.name = name
        self.frame = frame
        # Display names are strings; keep the real labels to select with.
        self._labels = {str(label): label for label in frame.columns}
        self.columns = list(self._labels)
        self.dtypes = [str(dtype) for dtype in frame.dtypes]
        self.rows = len(frame)
        self.shape = [self.rows, len(self.columns)]
        self.attrs = dict(attrs or {})

    def _read(self, start, stop, columns, plane) -> pd.DataFrame:
        page = self.frame.iloc[start:stop]
        page = page[[self._labels[c] for c in columns]]
        page.columns = columns
        return page

    def _read_raw(self, start, stop, plane) -> np.ndarray:
        return self.frame.iloc[start:stop].to_numpy()

    def storage(self) -> dict:
        memory = int(self.frame.memory_usage(index=True, deep=True).sum())
        return {"chunks": None, "compression": None, "filters": [], "bytes": memory}


class FrameState(State):
    """A State whose tables are in-memory frames, resolved by name."""

    def __init__(self, *tables: Table):
        super().__init__()
        self.frames = {table.name: table for table in tables}

    def add(self, table: Table) -> Table:
        self.frames[table.name] = table
        return table

    def table(self, name, path=None):
        name = name if name is not None else self.last_table[0]
        if name not in self.frames:
            raise NoSuchTable(f"no table {name!r}")
        return self.frames[name]
