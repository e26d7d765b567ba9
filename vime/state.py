"""The one state object every handler works on.

It owns the open files, the virtual tables made by compute jobs, the running
job and the lock that serialises every HDF5 call (PyTables is not
thread-safe, and the compute thread reads while the loop pages).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator

from vime.errors import FileMissing, NoFileOpen, NoSuchTable

Notify = Callable[[str, dict], None]
Progress = Callable[..., None]  # (done, total=None, unit="rows", message=None)


def normalise_path(path: str) -> str:
    return os.path.realpath(os.path.expanduser(path))


class State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.sources: dict = {}  # normalised path -> loaders.Source
        self.current_path: str | None = None
        self.last_table: tuple[str, str | None] | None = None  # (name, path) paged last
        self.virtual: dict = {}  # name -> loaders.virtual.VirtualTable
        self.job = None  # compute.Job, the running or the last one
        self.notify: Notify = lambda method, params: None  # set by the loop per request
        # Heavy handlers report how far they got; in the worker process this
        # pushes `progress` notifications, in the request loop it does nothing.
        self.progress: Progress = lambda done, total=None, unit="rows", message=None: None
        self._config = None
        self.stop_requested = False  # set by `shutdown`; the loop exits after replying

    @property
    def config(self):
        if self._config is None:
            from vime.config import Config

            self._config = Config.load()
        return self._config

    # -- files ---------------------------------------------------------------
    def open(self, path: str):
        """Open (or reopen) a file read-only and make it the current one."""
        from vime import loaders

        key = normalise_path(path)
        with self.lock:
            source = loaders.open_source(key)  # on failure, the files open stay as they are
            previous = self.sources.pop(key, None)
            if previous is not None:
                previous.close()
            self.sources[key] = source
        self.current_path = key
        return source

    def source(self, path: str | None = None):
        """The open file at ``path``, or the one opened last."""
        if path is None:
            if self.current_path is None:
                raise NoFileOpen("no file is open: call open {path} first")
            return self.sources[self.current_path]
        key = normalise_path(path)
        if key not in self.sources:
            raise FileMissing(f"{path}: not open (open it first)")
        return self.sources[key]

    def close(self, path: str | None = None) -> list[str]:
        """Close one file, or every file when ``path`` is None."""
        keys = list(self.sources) if path is None else [self.source(path).path]
        with self.lock:
            for key in keys:
                self.sources.pop(key).close()
        if self.current_path not in self.sources:
            self.current_path = next(reversed(self.sources), None)
        return keys

    # -- tables --------------------------------------------------------------
    def table(self, name: str | None, path: str | None = None):
        """Resolve a table name: virtual tables first, then the file's own."""
        if name is None:
            if self.last_table is None:
                raise NoSuchTable("no table given and none paged yet: pass 'name'")
            name, path = self.last_table
        if name in self.virtual:
            return self.virtual[name]
        source = self.source(path)
        with self.lock:
            return source.table(name)

    def tables(self, path: str | None = None) -> list:
        """The file's tables followed by the virtual ones."""
        listed = []
        if path is not None or self.current_path is not None:
            source = self.source(path)
            with self.lock:
                listed = list(source.tables())
        return listed + list(self.virtual.values())

    def locked_chunks(self, chunks: Iterator) -> Iterator:
        """Yield from a chunk iterator, holding the HDF5 lock only per read."""
        iterator = iter(chunks)
        while True:
            with self.lock:
                chunk = next(iterator, None)
            if chunk is None:
                return
            yield chunk
            del chunk  # before the next read, so that one chunk is alive at a time
