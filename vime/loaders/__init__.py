"""Open any HDF5 file read-only and see its tables.

``open_source(path)`` checks the file, opens it with h5py (read-only, HDF5
file locking off, so a file another program is writing can be viewed) and
lists its tables: pandas HDFStore groups become pandas tables, every other
dataset an h5py table. Links that do not resolve are listed with their error.
"""

from __future__ import annotations

import logging
import os
import re
import threading

# Must be set before HDF5 opens a file: h5py passes locking=False for its own
# handle, and this covers PyTables and the targets of external links.
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")

import h5py

from vime.domains import is_domain
from vime.errors import NoSuchTable, NotHDF5
from vime.loaders.base import Table
from vime.loaders.convert import jsonable_attrs
from vime.loaders.detect import check_file
from vime.loaders.h5 import BrokenTable, dataset_table
from vime.loaders.nodes import is_dataset, is_group
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
    """Open ``path`` (already normalised) read-only; raise a VimeError if it cannot be.

    A path that names an HSDS domain (vime.domains) is read through h5pyd.
    """
    if is_domain(path):
        from vime.loaders.remote import open_domain

        return open_domain(path)
    check_file(path)
    try:
        handle = h5py.File(path, "r", locking=False)
    except OSError as exc:
        raise NotHDF5(f"{path}: truncated or damaged HDF5 file ({exc})") from None
    return Source(path, handle)


class Source:
    """An open file: its tables, read lazily.

    Opening reads only the file's attributes. The whole file is walked on
    the first ``tables()``; ``table(name)`` resolves one node without a walk
    (a worker process opens the file for one table and needs it fast).
    """

    def __init__(self, path: str, handle: h5py.File):
        self.path = path
        self.h5 = handle
        self.attrs = jsonable_attrs(handle.attrs)
        self._store = None
        self._tables: dict[str, Table] = {}  # every table made so far, by name
        self._listed: list[str] | None = None  # the listing's names, once walked

    # -- listing ---------------------------------------------------------------
    def _walk(self, group: h5py.Group, prefix: str, seen: set) -> None:
        for key in group:
            name = f"{prefix}/{readable_name(key)}"
            try:
                node = group[key]
            except Exception as exc:  # dangling soft link, missing external file
                self._list(name, BrokenTable(name, self.path, _link_error(group, key, exc)))
                continue
            if is_dataset(node):
                if not _is_netcdf_dimension_only(node):
                    self._list(name, node)
            elif is_group(node) and node.id not in seen:
                seen.add(node.id)
                if is_pandas_group(node):
                    self._list_pandas(node, name)
                else:
                    self._walk(node, name, seen)

    def _list(self, name: str, found) -> None:
        """List a table (or the node to make it from), reusing one ``table(name)`` made."""
        if name not in self._tables:
            self._tables[name] = found if isinstance(found, Table) else self._make(found, name)
        self._listed.append(name)

    def _list_pandas(self, group: h5py.Group, name: str) -> None:
        """One pandas table, or the raw datasets of a group whose pickles are unsafe."""
        for table in self._pandas(group, name):
            self._listed.append(table.name)

    def _make(self, node, name: str) -> Table | None:
        """The table at a node; None for a pandas group shown raw (its datasets are tables)."""
        if is_dataset(node):
            return self._dataset(node, name)
        self._pandas(node, name)
        return self._tables.get(name)

    def _dataset(self, dataset: h5py.Dataset, name: str) -> Table:
        try:
            return dataset_table(dataset, name, self.path)
        except Exception as exc:  # never let one odd dataset break the listing
            log.exception("%s:%s: cannot describe dataset", self.path, name)
            return BrokenTable(name, self.path, f"cannot describe: {exc}")

    def _pandas(self, group: h5py.Group, name: str) -> list[Table]:
        """Make (once) and keep the tables of a pandas group."""
        try:
            tables = pandas_tables(group, name, self)  # raw datasets if its pickles are unsafe
        except Exception as exc:
            log.exception("%s:%s: cannot read the pandas metadata", self.path, name)
            tables = [BrokenTable(name, self.path, f"unreadable pandas metadata: {exc}")]
        return [self._tables.setdefault(table.name, table) for table in tables]

    def _resolve(self, name: str) -> Table | None:
        """The table at ``name`` found directly, None when no table is there."""
        path = self._h5_path(name)
        if path is None:
            return None
        inside = self._inside_pandas_group(name)
        if inside is not None:
            return inside
        try:
            node = self.h5[path]
        except Exception as exc:  # a link that does not resolve
            return BrokenTable(name, self.path, _link_error(self.h5, path, exc))
        if is_dataset(node) or is_pandas_group(node):
            return self._make(node, name)  # datasets the listing hides too, e.g. in a store
        return None

    def _inside_pandas_group(self, name: str) -> Table | None:
        """A dataset of a pandas group shown raw (its pickles are unsafe) has the group's
        warning: make the group's tables first, then look again."""
        parts = name.strip("/").split("/")
        for depth in range(1, len(parts)):
            group_name = "/" + "/".join(parts[:depth])
            group_path = self._h5_path(group_name)
            if group_path is None or group_name in self._tables:
                continue
            group = self.h5[group_path]
            if is_group(group) and is_pandas_group(group):
                self._pandas(group, group_name)
                return self._tables.get(name)
        return None

    def _h5_path(self, name: str) -> str | bytes | None:
        """The HDF5 path of a listed name: as written, or with its \\xNN escapes as bytes."""
        for path in (name, _unescaped(name)):
            if path is not None and self._has_link(path):
                return path
        return None

    def _has_link(self, path: str | bytes) -> bool:
        """Whether a link is at ``path``; h5py's ``get`` fails on names that are not UTF-8."""
        raw = path if isinstance(path, bytes) else path.encode("utf-8")
        prefix = b""
        try:
            for part in raw.strip(b"/").split(b"/"):  # every group on the way must exist
                prefix += b"/" + part
                if not part or not self.h5.id.links.exists(prefix):
                    return False
        except (KeyError, ValueError):
            return False
        return True

    # -- the Source interface ----------------------------------------------------
    def tables(self) -> list[Table]:
        if self._listed is None:
            self._listed = []
            self._walk(self.h5, "", {self.h5.id})
        return [self._tables[name] for name in self._listed]

    def table(self, name: str) -> Table:
        key = name if name.startswith("/") else f"/{name}"
        if key not in self._tables:
            found = self._resolve(key)
            if found is None:
                known = ", ".join(t.name for t in self.tables()[:10]) or "none"
                raise NoSuchTable(f"{self.path}: no table {name!r}; tables: {known}")
            self._tables[key] = found
        return self._tables[key]

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


def readable_name(key: str | bytes) -> str:
    """A link name as text: h5py gives bytes for a name that is not UTF-8.

    Bad bytes are written as \\xNN, so that the name stays readable, plain
    JSON for the editor, and distinct; ``table`` maps it back.
    """
    return key.decode("utf-8", "backslashreplace") if isinstance(key, bytes) else key


def _unescaped(name: str) -> bytes | None:
    """The bytes a name written by ``readable_name`` stands for; None without escapes."""
    if "\\x" not in name:
        return None
    pieces = re.split(r"\\x([0-9a-f]{2})", name)
    raw = bytearray()
    for i, piece in enumerate(pieces):
        raw += bytes([int(piece, 16)]) if i % 2 else piece.encode("utf-8")
    return bytes(raw)


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
