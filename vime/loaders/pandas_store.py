"""pandas HDFStore tables: metadata read with h5py, rows read with pandas.

Listing a file must be fast, so the pandas metadata (row count, columns,
dtypes) comes from the attributes pandas writes, read with h5py without
importing pandas or PyTables. Pages go through ``HDFStore.select`` with
``start``/``stop``, which reads only those rows for both formats and gives
exactly what pandas shows (categoricals, time zones, MultiIndex).
"""

from __future__ import annotations

import datetime
import io
import logging
import pickle
import posixpath
from typing import ClassVar

import h5py
import numpy as np

from vime.errors import ReadFailed
from vime.loaders.base import Table
from vime.loaders.convert import jsonable_attrs
from vime.loaders.h5 import dataset_storage, ensure_filters

log = logging.getLogger("vime.loaders.pandas")


# -- pandas attributes ---------------------------------------------------------
class _SafeUnpickler(pickle.Unpickler):
    """PyTables pickles list and dict attributes; load those, refuse any code.

    Only plain containers, strings, numbers and the datetime time zones
    pandas writes are accepted.
    """

    ALLOWED: ClassVar[dict] = {
        ("datetime", "timezone"): datetime.timezone,
        ("datetime", "timedelta"): datetime.timedelta,
    }

    def find_class(self, module, name):
        try:
            return self.ALLOWED[(module, name)]
        except KeyError:
            raise pickle.UnpicklingError(f"refusing {module}.{name}") from None


def attr_value(attrs, key: str, default=None):
    """A pandas attribute as Python: pickled values loaded, bytes decoded."""
    if key not in attrs:
        return default
    value = attrs[key]
    if isinstance(value, (bytes, np.bytes_)):
        raw = bytes(value)
        if raw.endswith(b".") and raw[:1] in (b"(", b"N", b"c", b"I", b"V", b"\x80"):
            try:
                return _SafeUnpickler(io.BytesIO(raw)).load()
            except Exception:
                pass
        return raw.decode("utf-8", "replace")
    if isinstance(value, h5py.Empty):
        return None
    if isinstance(value, np.generic):
        return value.item()
    return value


def is_pandas_group(group: h5py.Group) -> bool:
    return "pandas_type" in group.attrs


def pandas_table(group: h5py.Group, name: str, source) -> Table:
    """The right Table for a pandas group: table format or fixed format."""
    if "table_type" in group.attrs and "table" in group:
        return PandasTable(group, name, source)
    return PandasFixed(group, name, source)


def _shown_dtype(dtype: str, meta, tz) -> str:
    """The dtype pandas shows for a stored column."""
    if meta == "category":
        return "category"
    if meta == "str" or dtype.startswith("bytes"):
        return "str"
    if tz is not None and dtype.startswith("datetime64"):
        unit = dtype[len("datetime64[") : -1] or "ns"
        return f"datetime64[{unit}, {_tz_name(tz)}]"
    return dtype


def _tz_name(tz) -> str:
    if isinstance(tz, datetime.timezone):
        return "UTC" if tz == datetime.timezone.utc else str(tz)
    return str(tz)


# -- the tables -------------------------------------------------------------------
class PandasBase(Table):
    """What both formats share: the store handle, labels, page conversion."""

    def __init__(self, group: h5py.Group, name: str, source):
        self.group = group
        self.name = name
        self.file = source.path
        self._source = source
        self.attrs = jsonable_attrs(group.attrs, pandas=True)

    def info_attrs(self) -> dict:
        return jsonable_attrs(self.group.attrs, pandas=True, detail=True)

    def _layout(self) -> tuple[list[str], list[str]]:
        """Columns and dtypes from the attributes, else (odd or old files) from pandas."""
        try:
            return self._columns_and_dtypes()
        except Exception as exc:
            log.info("%s: metadata unreadable without pandas (%s); asking pandas", self.where, exc)
        import pandas as pd

        sample = self._select(0, min(self.rows, 1))
        if isinstance(sample, pd.Series):
            sample = sample.to_frame(name="values" if sample.name is None else sample.name)
        return [str(c) for c in sample.columns], [str(d) for d in sample.dtypes]

    def _columns_and_dtypes(self) -> tuple[list[str], list[str]]:
        raise NotImplementedError

    def _select(self, start: int, stop: int):
        store = self._source.store()
        if self.rows == 0:  # pandas fails to slice its placeholder for empty arrays
            start = stop = None
        try:
            return store.select(self.name, start=start, stop=stop)
        except Exception as exc:
            raise ReadFailed(f"{self.where}: cannot read: {type(exc).__name__}: {exc}") from None

    def _as_frame(self, data):
        """A Series becomes a one-column frame named like our column."""
        import pandas as pd

        if isinstance(data, pd.Series):
            return data.to_frame(name=self.columns[0])
        return data

    def _read(self, start, stop, columns, plane):
        frame = self._as_frame(self._select(start, stop))
        labels = {str(label): label for label in frame.columns}
        frame = frame[[labels[c] for c in columns]]
        frame.columns = columns
        return frame


class PandasTable(PandasBase):
    """format='table': a PyTables Table of compound rows under group/table."""

    kind = "pandas-table"

    def __init__(self, group, name, source):
        super().__init__(group, name, source)
        self.table_dataset = group["table"]
        self.rows = int(self.table_dataset.shape[0])
        self.columns, self.dtypes = self._layout()
        self.index_names = self._index_names()
        self.shape = [self.rows, len(self.columns)]

    def _columns_and_dtypes(self) -> tuple[list[str], list[str]]:
        attrs = self.group.attrs
        table_attrs = self.table_dataset.attrs
        axes = attr_value(attrs, "non_index_axes")
        if not (isinstance(axes, list) and axes and isinstance(axes[0][1], list)):
            raise ValueError(f"non_index_axes is {axes!r}")
        levels = attr_value(attrs, "levels")
        index_levels = set(levels) if isinstance(levels, list) else set()
        names = [str(c) for c in axes[0][1] if c not in index_levels]
        info = attr_value(attrs, "info") or {}
        by_column = {}
        for block in attr_value(attrs, "values_cols") or []:
            stored = attr_value(table_attrs, f"{block}_dtype", "")
            meta = attr_value(table_attrs, f"{block}_meta")
            tz = (info.get(block) or {}).get("tz") if isinstance(info, dict) else None
            for column in attr_value(table_attrs, f"{block}_kind") or []:
                by_column[str(column)] = _shown_dtype(str(stored), meta, tz)
        return names, [by_column.get(c, "object") for c in names]

    def _index_names(self) -> list[str]:
        """The MultiIndex levels, or the index's name when the info attribute can tell."""
        levels = attr_value(self.group.attrs, "levels")
        if isinstance(levels, list):
            return [str(level) for level in levels]
        info = attr_value(self.group.attrs, "info")
        index = info.get("index") if isinstance(info, dict) else None
        name = index.get("index_name") if isinstance(index, dict) else None
        return [] if name is None else [str(name)]

    def _read_raw(self, start, stop, plane) -> np.ndarray:
        ensure_filters(self.table_dataset)
        return self.table_dataset[start:stop]

    def storage(self) -> dict:
        return dataset_storage(self.table_dataset)


class PandasFixed(PandasBase):
    """format='fixed': the index and one 2-D array per dtype block."""

    kind = "pandas-fixed"

    def __init__(self, group, name, source):
        super().__init__(group, name, source)
        self.series = attr_value(group.attrs, "pandas_type") == "series"
        self.rows = self._row_count()
        self.columns, self.dtypes = self._layout()
        self.index_names = self._index_names()
        self.shape = [self.rows, len(self.columns)]

    def _row_count(self) -> int:
        axis = "index" if self.series else "axis1"
        if attr_value(self.group.attrs, f"{axis}_variety") == "multi":
            return _stored_length(self.group[f"{axis}_label0"])
        return _stored_length(self.group[axis])

    def _index_names(self) -> list[str]:
        """The names of the index levels, from the 'name' attribute of their arrays."""
        axis = "index" if self.series else "axis1"
        if attr_value(self.group.attrs, f"{axis}_variety") == "multi":
            count = int(attr_value(self.group.attrs, f"{axis}_nlevels", 0))
            names = [attr_value(self.group[f"{axis}_level{i}"].attrs, "name") for i in range(count)]
            return [f"level_{i}" if n is None else str(n) for i, n in enumerate(names)]
        name = attr_value(self.group[axis].attrs, "name") if axis in self.group else None
        return [] if name is None else [str(name)]

    def _columns_and_dtypes(self) -> tuple[list[str], list[str]]:
        if self.series:
            name = attr_value(self.group.attrs, "name")
            values = self.group["values"]
            return [str(name) if name is not None else "values"], [_block_dtype(values)]
        names = [_label(v) for v in self.group["axis0"][()]]
        by_column = {}
        for i in range(int(attr_value(self.group.attrs, "nblocks", 0))):
            dtype = _block_dtype(self.group[f"block{i}_values"])
            for item in self.group[f"block{i}_items"][()]:
                by_column[_label(item)] = dtype
        return names, [by_column.get(c, "object") for c in names]

    def _blocks(self) -> list[h5py.Dataset]:
        if self.series:
            return [self.group["values"]]
        count = int(attr_value(self.group.attrs, "nblocks", 0))
        return [self.group[f"block{i}_values"] for i in range(count)]

    def _read_raw(self, start, stop, plane) -> np.ndarray:
        """The index and the block arrays as stored, when none is pickled objects."""
        axis = "index" if self.series else "axis1"
        if axis not in self.group or any(b.dtype.kind == "O" for b in self._blocks()):
            return super()._read_raw(start, stop, plane)
        parts = [self.group[axis], *self._blocks()]
        for part in parts:
            ensure_filters(part)
        names = [axis, *(posixpath.basename(b.name) for b in self._blocks())]
        fields = [(n, d.dtype, d.shape[1:]) for n, d in zip(names, parts, strict=True)]
        records = np.empty(stop - start, dtype=fields)
        for name, part in zip(names, parts, strict=True):
            records[name] = part[start:stop]
        return records

    def storage(self) -> dict:
        parts = [dataset_storage(block) for block in self._blocks()]
        first = parts[0] if parts else {"chunks": None, "compression": None, "filters": []}
        return {
            "chunks": first["chunks"],
            "compression": first["compression"],
            "filters": first["filters"],
            "bytes": sum(part["bytes"] for part in parts),
        }


def _stored_length(dataset: h5py.Dataset) -> int:
    """pandas stores an empty array as one element plus a 'shape' attribute."""
    shape = attr_value(dataset.attrs, "shape")
    if shape is not None:
        return int(np.asarray(shape).ravel()[0])
    return int(dataset.shape[0])


def _label(value) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def _block_dtype(dataset: h5py.Dataset) -> str:
    """The pandas dtype of a fixed-format block array."""
    value_type = attr_value(dataset.attrs, "value_type")
    if value_type is not None:
        tz = attr_value(dataset.attrs, "tz")
        return _shown_dtype(str(value_type), None, tz)
    if dataset.id.get_type().get_class() == h5py.h5t.BITFIELD:
        return "bool"  # PyTables stores bool as an 8-bit bitfield
    return str(dataset.dtype)
