"""Open any HDF5 file read-only and see its tables.

``open_source(path)`` checks the file, opens it with h5py (read-only, HDF5
file locking off, so a file another program is writing can be viewed; as a
SWMR reader when a writer has it open, see vime.loaders.live) and lists its
tables: pandas HDFStore groups become pandas tables, every other dataset an
h5py table. Links that do not resolve are listed with their error.
``Source.sync()`` catches up with a program writing the file.
"""

from __future__ import annotations

import contextlib
import logging
import os
import re
import threading
from collections.abc import Callable
from typing import TypeVar

# Must be set before HDF5 opens a file: h5py passes locking=False for its own
# handle, and this covers PyTables and the targets of external links.
os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")

import h5py

from vime.domains import is_domain
from vime.errors import NoSuchTable, ReadFailed, VimeError
from vime.loaders import live
from vime.loaders.base import Table
from vime.loaders.convert import jsonable_attrs
from vime.loaders.detect import FileStatus, check_file
from vime.loaders.h5 import BrokenTable, dataset_table
from vime.loaders.nodes import is_dataset, is_group
from vime.loaders.pandas_store import is_pandas_group, pandas_tables

log = logging.getLogger("vime.loaders")
STORE_CHUNK_CACHE = 1 << 20  # bytes of PyTables chunk cache per open store
T = TypeVar("T")

__all__ = ["Source", "Table", "open_source", "warm_up"]


def warm_up(tables: list[Table]) -> None:
    """Import the page readers in the background while the user looks at the listing.

    Listing a file needs only h5py. Pages of numbers and bools are written from
    numpy arrays (``Table.page_arrays``); other pages need pandas, which takes half
    a second to import and 36 MB, so it is imported only for a file with such a
    table (pandas stores are read with h5py, not PyTables).
    """
    global _warmed_pages, _warmed_pandas
    with_pandas = not _warmed_pandas and any(table.pages_need_pandas for table in tables)
    if _warmed_pages and not with_pandas:
        return
    _warmed_pages = True
    _warmed_pandas = _warmed_pandas or with_pandas
    threading.Thread(target=_import_readers, args=(with_pandas,), daemon=True).start()


_warmed_pages = False  # the page writer imported (or being imported)
_warmed_pandas = False


def _import_readers(with_pandas: bool) -> None:
    import vime.loaders.format  # noqa: F401 - tabulate

    if with_pandas:
        import pandas  # noqa: F401


def open_source(path: str, swmr: bool | None = None) -> Source:
    """Open ``path`` (already normalised) read-only; raise a VimeError if it cannot be.

    A path that names an HSDS domain (vime.domains) is read through h5pyd.
    ``swmr``: how the loop reads the file, for a worker opening it again. Then the
    file's write lock is not looked up, unless the open fails: reading /proc/locks
    can take 15 ms (here, after a second without a read), a worker's whole start.
    """
    if is_domain(path):
        from vime.loaders.remote import open_domain

        return open_domain(path)
    changes = live.Changes(path)  # before the open: a write after it is seen as a change
    status = check_file(path)
    if swmr is None or status.superblock >= 2:  # from the superblock, else the locks
        swmr = live.read_as_swmr(status, changed=False)
    return Source(path, live.open_handle(path, status, swmr), status, swmr, changes)


class Source:
    """An open file: its tables, read lazily.

    Opening reads only the file's attributes. The whole file is walked on
    the first ``tables()``; ``table(name)`` resolves one node without a walk
    (a worker process opens the file for one table and needs it fast).
    """

    def __init__(self, path: str, handle: h5py.File, status: FileStatus | None = None,
                 swmr: bool = False, changes: live.Changes | None = None):  # fmt: skip
        self.path = path
        self.h5 = handle
        self.attrs = jsonable_attrs(handle.attrs)
        self.status = status or FileStatus(0, 0)  # what says a program writes it
        self.swmr = swmr  # opened as a SWMR reader
        self._changes = changes or live.Changes(path)
        self._closed = False  # by a failed reopen: the next sync tries again
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

    # -- a file another program is writing --------------------------------------------
    def write_status(self) -> dict:
        """``writing`` ('swmr', 'no-swmr' or None) and, without SWMR, a ``warning``: looked
        up afresh, as a writer may have started or finished."""
        with contextlib.suppress(VimeError):  # gone: the open handle still reads what it read
            self.status = check_file(self.path)
        return live.write_status(self.status)

    def sync(self) -> bool:
        """Catch up with a program writing the file; True when it may have changed since
        the last look. The tables of a SWMR file refresh in place; any other file is
        opened again and its tables made anew on demand (resolve tables after syncing)."""
        look = self._changes.look()
        if look is None and not self._closed:
            return False
        try:
            status = check_file(self.path)
        except VimeError as exc:
            if self._closed:
                raise
            # Replaced by something else, or removed: the open handle still reads the
            # file it opened, as a file rewritten by another program did before.
            log.info("%s: %s; keeping the file opened before", self.path, exc.message)
            return False
        if status.refuses_readers:  # its writer turned SWMR off: no reader may open it now
            raise ReadFailed(status.open_elsewhere(self.path))
        # A failed reopen (no look now) followed a change too.
        changed = self._changes.changed_since_open or look is None or look.changed
        if self._closed or not (self.swmr and status.swmr and self._refresh_tables()):
            self._reopen(status, changed)
        self.status = status
        if look is not None:
            self._changes.seen(look)
        return True

    def _refresh_tables(self) -> bool:
        """Refresh every table made so far in place; False if one cannot be."""
        return all(table.refresh() for table in self._tables.values() if table is not None)

    def _reopen(self, status: FileStatus, changed: bool) -> None:
        """Close, then open again: HDF5 would share a handle still open, and with it the
        metadata it cached. On failure the Source stays closed, and tries again next time."""
        self.close()
        self._closed = True
        self._tables, self._listed = {}, None
        swmr = live.read_as_swmr(status, changed)
        self.h5, self.swmr = live.open_handle(self.path, status, swmr), swmr
        self._closed = False
        self.attrs = jsonable_attrs(self.h5.attrs)

    def retrying(self, read: Callable[[], T]) -> T:
        """Run ``read``; when it fails and the file changed meanwhile (a writer extended
        a dataset, wrote a chunk or made a group mid-read), catch up and read once more.
        ``read`` must resolve its tables itself: catching up may make them anew."""
        try:
            return read()
        except (ReadFailed, NoSuchTable) as exc:
            if not self.sync():
                raise
            log.info("%s changed during a read (%s); reading again", self.path, exc.message)
        except VimeError:
            raise
        except Exception as exc:  # h5py's own errors, from a structure changing under it
            if not self.sync():
                raise
            log.info("%s changed during a read (%s); reading again", self.path, exc)
        try:
            return read()
        except VimeError:
            raise
        except Exception as exc:
            raise ReadFailed(f"{self.path}: read failed while the file was being written: "
                             f"{type(exc).__name__}: {exc}") from None  # fmt: skip


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
