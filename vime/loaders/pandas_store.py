"""pandas HDFStore tables: listed from their attributes, read with h5py.

Listing a file must be fast, so the pandas metadata (row count, columns,
dtypes) comes from the attributes pandas writes, read with h5py without
importing pandas or PyTables. Pages, chunks and plot arrays are rebuilt by
vime.loaders.pandas_h5 from the same HDF5 layout, equal to what
``HDFStore.select`` gives. pandas itself reads only layouts that reader does
not know, and only nodes whose pickles vime's restricted unpickler accepted
(vime.loaders.pandas_safety): PyTables unpickles them with plain pickle.
"""

from __future__ import annotations

import logging
import posixpath
from collections.abc import Iterator

import numpy as np

from vime.errors import NoSuchColumn, ReadFailed, VimeError
from vime.loaders.base import CHUNK_ROWS, PageArrays, Table
from vime.loaders.convert import jsonable_attrs
from vime.loaders.h5 import BrokenTable, dataset_storage, dataset_table, ensure_filters
from vime.loaders.nodes import is_dataset
from vime.loaders.pandas_h5 import (
    Cached,
    UnsupportedLayout,
    attr_value,
    is_object_array,
    store_layout,
    stored_length,
)
from vime.loaders.pandas_safety import (
    UNSAFE,
    is_index_container,
    refused_attributes,
    refused_object_arrays,
)

log = logging.getLogger("vime.loaders.pandas")

__all__ = ["attr_value", "is_pandas_group", "pandas_table", "pandas_tables", "raw_tables"]


def is_pandas_group(group) -> bool:
    return "pandas_type" in group.attrs


def pandas_tables(group, name: str, source) -> list[Table]:
    """How a pandas group is listed: as one pandas table, or, when PyTables would
    run one of its pickles, as the HDF5 datasets it is made of, with a warning."""
    node = Cached.of(group)  # the check and the layout share one read of the attributes
    refused = refused_attributes(node, indexes=False)
    if refused:
        log.warning("%s:%s: %s: %s", source.path, name, UNSAFE, "; ".join(refused))
        return raw_tables(group, name, source.path, UNSAFE)
    return [pandas_table(node, name, source)]


def pandas_table(group, name: str, source) -> Table:
    """The right Table for a pandas group: table format or fixed format."""
    if "table_type" in group.attrs and "table" in group:
        return PandasTable(group, name, source)
    return PandasFixed(group, name, source)


def raw_tables(group, name: str, file: str, warning: str) -> list[Table]:
    """A pandas node shown as the HDF5 it is: each dataset under it, through h5py.

    PyTables' index containers (``_i_table``) are its own bookkeeping and are
    left out. Every table carries ``warning``.
    """
    tables = []
    for key in group:
        path = f"{name}/{key}"
        try:
            node = group[key]
        except Exception as exc:  # a link that does not resolve
            tables.append(BrokenTable(path, file, f"cannot open: {exc}"))
            continue
        if is_dataset(node):
            tables.append(_raw_dataset(node, path, file))
        elif not is_index_container(node):
            tables += raw_tables(node, path, file, warning)
    for table in tables:
        table.warning = warning
    return tables


def _raw_dataset(dataset, name: str, file: str) -> Table:
    try:
        return dataset_table(dataset, name, file)
    except Exception as exc:
        log.exception("%s:%s: cannot describe dataset", file, name)
        return BrokenTable(name, file, f"cannot describe: {exc}")


# -- the tables -------------------------------------------------------------------
class PandasBase(Table):
    """What both formats share: the layout, the labels, the pandas fallback."""

    def __init__(self, group, name: str, source):
        self.group = group
        self.name = name
        self.file = source.path
        self._source = source
        self._pandas_checked = False
        self.attrs = jsonable_attrs(group.attrs, pandas=True)
        try:
            self.layout = store_layout(group)
        except UnsupportedLayout as exc:
            log.info("%s: %s; pages come from pandas", self.where, exc)
            self.layout = None
        self.rows = self.layout.rows if self.layout else self._stored_rows()
        if self.layout:
            self._labels = {str(label): label for label in self.layout.labels}
            self.columns = list(self._labels)
            self.dtypes = self.layout.dtypes  # shared: a fixed store learns object dtypes
            self.index_names = list(self.layout.index_names)
        else:
            self._labels = None
            self.columns, self.dtypes, self.index_names = self._layout_from_pandas()
        self.shape = [self.rows, len(self.columns)]

    def _stored_rows(self) -> int:
        raise NotImplementedError

    def info_attrs(self) -> dict:
        return jsonable_attrs(self.group.attrs, pandas=True, detail=True)

    # -- reading ----------------------------------------------------------------------
    def _read(self, start, stop, columns, plane):
        frame = self._from_layout(lambda layout, labels: layout.frame(start, stop, labels), columns)
        if frame is None:
            frame = self._as_frame(self._select(start, stop))
            labels = {str(label): label for label in frame.columns}
            frame = frame[[labels[c] for c in columns]]
        frame.columns = columns
        return frame

    def _read_arrays(self, start, stop, columns, plane) -> PageArrays | None:
        arrays = self._from_layout(lambda layout, labels: layout.page_arrays(start, stop, labels),
                                   columns)  # fmt: skip
        return None if arrays is None else arrays._replace(names=list(columns))

    @property
    def pages_need_pandas(self) -> bool:
        return self.layout is None or not self.layout.plain_pages

    def _from_layout(self, read, columns):
        """``read(layout, labels of columns)`` by the h5py reader; None without a layout,
        or once it fails on a layout it does not know after all (pandas reads then)."""
        if self.layout is None:
            return None
        try:
            return read(self.layout, [self._labels[c] for c in columns])
        except VimeError:
            raise
        except Exception as exc:
            self._give_up_layout(exc)
            return None

    def _give_up_layout(self, exc: Exception) -> None:
        if isinstance(exc, UnsupportedLayout):
            log.info("%s: %s; pages come from pandas from now on", self.where, exc)
        else:
            log.exception("%s: the h5py reader failed; pages come from pandas", self.where)
        self.layout = None

    def arrays(
        self,
        columns=None,
        start: int = 0,
        stop: int | None = None,
        chunk_rows: int = CHUNK_ROWS,
        plane=None,
    ) -> Iterator[dict[str, np.ndarray]]:
        """Only the named columns' fields (or block columns), as numpy; the index by name."""
        names = list(self.columns) if columns is None else list(columns)
        keys = [self._array_key(name) for name in names]
        if self.layout is None:
            yield from self._arrays_from_frames(names, keys, start, stop, chunk_rows)
            return
        labels = list(dict.fromkeys(self._labels[k] for k in keys if not isinstance(k, _Level)))
        levels = list(dict.fromkeys(k.number for k in keys if isinstance(k, _Level)))
        start, stop = self.clamp(start, self.rows if stop is None else stop)
        for first in range(start, stop, max(1, chunk_rows)):
            got = self.layout.arrays(labels, levels, first, min(stop, first + chunk_rows))
            yield {
                name: got[key.number if isinstance(key, _Level) else self._labels[key]]
                for name, key in zip(names, keys, strict=True)
            }

    def _arrays_from_frames(self, names, keys, start, stop, chunk_rows):
        """arrays() for layouts only pandas reads: through the pages, index included."""
        columns = list(dict.fromkeys(k for k in keys if not isinstance(k, _Level)))
        for frame in self.chunks(columns, start, stop, chunk_rows):
            yield {
                name: (
                    frame.index.get_level_values(key.number).to_numpy()
                    if isinstance(key, _Level)
                    else frame[key].to_numpy()
                )
                for name, key in zip(names, keys, strict=True)
            }

    def _array_key(self, name: str):
        """The column of that name, or the index level it (or 'index') stands for."""
        if name in self.columns:
            return name
        if name in self.index_names:
            return _Level(self.index_names.index(name))
        if name == "index":
            return _Level(0)
        known = ", ".join([*self.columns[:20], *self.index_names])
        raise NoSuchColumn(f"{self.where}: no column {name!r}; columns are {known}")

    # -- pandas, for layouts the h5py reader does not know ----------------------------------
    def _layout_from_pandas(self) -> tuple[list[str], list[str], list[str]]:
        import pandas as pd

        sample = self._as_frame(self._select(0, min(self.rows, 1)))
        names = [
            (f"level_{i}" if n is None else str(n))
            if isinstance(sample.index, pd.MultiIndex)
            else ("index" if n is None else str(n))
            for i, n in enumerate(sample.index.names)
        ]
        return [str(c) for c in sample.columns], [str(d) for d in sample.dtypes], names

    def _select(self, start: int, stop: int):
        self._check_before_pandas()
        store = self._source.store()
        if self.rows == 0:  # pandas fails to slice its placeholder for empty arrays
            start = stop = None
        try:
            return store.select(self.name, start=start, stop=stop)
        except Exception as exc:
            raise ReadFailed(f"{self.where}: cannot read: {type(exc).__name__}: {exc}") from None

    def _check_before_pandas(self) -> None:
        """PyTables unpickles with plain pickle: check every pickle it will load first."""
        if self._pandas_checked:
            return
        node = getattr(self.group, "node", self.group)  # read afresh, as PyTables will
        refused = refused_attributes(node) + refused_object_arrays(node)
        if refused:
            raise ReadFailed(f"{self.where}: unsafe pickled data, not read: {refused[0]}")
        self._pandas_checked = True

    @staticmethod
    def _as_frame(data):
        """A Series becomes a one-column frame, named 'values' when it has no name."""
        import pandas as pd

        if isinstance(data, pd.Series):
            return data.to_frame(name="values" if data.name is None else data.name)
        return data


class _Level:
    """An index level named where a column is expected."""

    def __init__(self, number: int):
        self.number = number


class PandasTable(PandasBase):
    """format='table': a PyTables Table of compound rows under group/table."""

    kind = "pandas-table"

    def __init__(self, group, name, source):
        self.table_dataset = group["table"]
        super().__init__(group, name, source)

    def _stored_rows(self) -> int:
        return int(self.table_dataset.shape[0])

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
        self.series = attr_value(group.attrs, "pandas_type") == "series"
        super().__init__(group, name, source)

    def _stored_rows(self) -> int:
        axis = "index" if self.series else "axis1"
        if attr_value(self.group.attrs, f"{axis}_variety") == "multi":
            return stored_length(self.group[f"{axis}_label0"])
        return stored_length(self.group[axis])

    def _blocks(self) -> list:
        if self.series:
            return [self.group["values"]]
        count = int(attr_value(self.group.attrs, "nblocks", 0))
        return [self.group[f"block{i}_values"] for i in range(count)]

    def _read_raw(self, start, stop, plane) -> np.ndarray:
        """The index and the block arrays as stored, when none is pickled objects."""
        axis = "index" if self.series else "axis1"
        blocks = self._blocks()
        if axis not in self.group or any(is_object_array(b) for b in blocks):
            return super()._read_raw(start, stop, plane)
        parts = [self.group[axis], *blocks]
        for part in parts:
            ensure_filters(part)
        names = [axis, *(posixpath.basename(b.name) for b in blocks)]
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
