"""VirtualTable: an in-memory DataFrame (a compute result) seen as a Table."""

from __future__ import annotations

import numpy as np
import pandas as pd

from vime.loaders.base import Table


class VirtualTable(Table):
    kind = "virtual"

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
