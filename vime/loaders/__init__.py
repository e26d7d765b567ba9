"""Open any HDF5 file read-only and see its tables.

``open_source(path)`` checks the file, opens it with h5py (read-only, HDF5
file locking off, so a file another program is writing can be viewed) and
lists its tables: pandas HDFStore groups become pandas tables, every other
dataset an h5py table. Links that do not resolve are listed with their error.
"""

from __future__ import annotations

import logging
import os
import threading

# Must be set before HDF5 opens a file: h5py passes locking=False for its own
# handle, and this covers PyTables and the targets of external links.
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")

import h5py

from vime.errors import NoSuchTable, NotHDF5
from vime.loaders.base import Table
from vime.loaders.convert import jsonable_attrs
from vime.loaders.detect import check_file
from vime.loaders.h5 import BrokenTable, dataset_table
from vime.loaders.pandas_store import is_pandas_group, pandas_tables

log = logging.getLogger("vime.loaders")
STORE_CHUNK_CACHE = 1 << 20  # bytes of PyTables chunk cache per open store

__all__ = ["Source", "Table", "open_source", "warm_up"]


def warm_up(source: Source) -> None:
    """Import the page readers in the background while the user looks at the listing.

    Listing a file needs only h5py; the first page needs pandas, which takes
    half a second to import (pandas stores are read with h5py, not PyTables).
    """
    global _warming
    if _warming:
        return
    _warming = True
    threading.Thread(target=_import_readers, daemon=True).start()


_warming = False


def _import_readers() -> None:
    import pandas  # noqa: F401
    import tabulate  # noqa: F401


def open_source(path: str) -> Source:
    """Open ``path`` (already normalised) read-only; raise a VimeError if it cannot be."""
    check_file(path)
    try:
        handle = h5py.File(path, "r", locking=False)
    except OSError as exc:
        raise NotHDF5(f"{path}: truncated or damaged HDF5 file ({exc})") from None
    return Source(path, handle)


class Source:
    """An open file: its tables, listed once at open, read lazily."""

    def __init__(self, path: str, handle: h5py.File):
        self.path = path
        self.h5 = handle
        self.attrs = jsonable_attrs(handle.attrs)
        self._store = None
        self._tables: dict[str, Table] = {}
        self._walk(handle, "")

    # -- listing ---------------------------------------------------------------
    def _walk(self, group: h5py.Group, prefix: str, seen: set | None = None) -> None:
        seen = seen if seen is not None else {group.id}
        for key in group:
            name = f"{prefix}/{key}"
            try:
                node = group[key]
            except Exception as exc:  # dangling soft link, missing external file
                self._add(BrokenTable(name, self.path, _link_error(group, key, exc)))
                continue
            if isinstance(node, h5py.Dataset):
                self._add_dataset(node, name)
            elif isinstance(node, h5py.Group) and node.id not in seen:
                seen.add(node.id)
                if is_pandas_group(node):
                    self._add_pandas(node, name)
                else:
                    self._walk(node, name, seen)

    def _add(self, table: Table) -> None:
        self._tables[table.name] = table

    def _add_dataset(self, dataset: h5py.Dataset, name: str) -> None:
        if _is_netcdf_dimension_only(dataset):
            return
        try:
            self._add(dataset_table(dataset, name, self.path))
        except Exception as exc:  # never let one odd dataset break the listing
            log.exception("%s:%s: cannot describe dataset", self.path, name)
            self._add(BrokenTable(name, self.path, f"cannot describe: {exc}"))

    def _add_pandas(self, group: h5py.Group, name: str) -> None:
        try:
            tables = pandas_tables(group, name, self)  # raw datasets if its pickles are unsafe
        except Exception as exc:
            log.exception("%s:%s: cannot read the pandas metadata", self.path, name)
            tables = [BrokenTable(name, self.path, f"unreadable pandas metadata: {exc}")]
        for table in tables:
            self._add(table)

    # -- the Source interface ----------------------------------------------------
    def tables(self) -> list[Table]:
        return list(self._tables.values())

    def table(self, name: str) -> Table:
        key = name if name.startswith("/") else f"/{name}"
        if key in self._tables:
            return self._tables[key]
        node = self.h5.get(key)
        if isinstance(node, h5py.Dataset):  # a dataset the listing hides, e.g. inside a store
            return dataset_table(node, key, self.path)
        known = ", ".join(list(self._tables)[:10]) or "none"
        raise NoSuchTable(f"{self.path}: no table {name!r}; tables: {known}")

    def store(self):
        """The pandas HDFStore, opened read-only on first use."""
        if self._store is None:
            import pandas as pd

            # A 1 MiB chunk cache, not PyTables' 16 MiB: random pages would
            # otherwise grow the process by the whole cache per open store.
            self._store = pd.HDFStore(self.path, mode="r", chunk_cache_size=STORE_CHUNK_CACHE)
        return self._store

    def close(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None
        self.h5.close()


def _is_netcdf_dimension_only(dataset: h5py.Dataset) -> bool:
    """netCDF-4 writes a placeholder dataset for a dimension without a variable."""
    name = dataset.attrs.get("NAME") if "NAME" in dataset.attrs else None
    return isinstance(name, bytes) and name.startswith(b"This is a netCDF dimension but not")


def _link_error(group: h5py.Group, key: str, exc: Exception) -> str:
    link = group.get(key, getlink=True)
    if isinstance(link, h5py.SoftLink):
        return f"dangling soft link to {link.path}"
    if isinstance(link, h5py.ExternalLink):
        return f"external link to {link.filename}:{link.path} does not resolve ({exc})"
    return f"cannot open: {exc}"
