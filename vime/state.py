"""The one state object every handler works on.

It owns the open files, the compute results listed with them, the compute
job, the requests running in worker processes, and the lock that serialises
HDF5 calls. In a worker process a State of its own is built from a snapshot
of the loop's (``in_worker``): the same files, opened there on first use.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Callable, Iterator

from vime.domains import is_domain
from vime.errors import FileMissing, NoFileOpen, NoSuchTable

Notify = Callable[[str, dict], None]
Progress = Callable[..., None]  # (done, total=None, unit="rows", message=None)


def normalise_path(path: str) -> str:
    """A local file's real path; an HSDS domain's URL as written (vime.domains)."""
    if is_domain(path):
        return path
    return os.path.realpath(os.path.expanduser(path))


class State:
    def __init__(self) -> None:
        self.lock = threading.RLock()
        self.sources: dict = {}  # normalised path -> loaders.Source
        self.current_path: str | None = None
        self.last_table: tuple[str, str | None] | None = None  # (name, path) paged last
        self.job = None  # handlers.compute.ComputeJob, the running or the last one
        self.notify: Notify = lambda method, params: None  # set by the loop per request
        # Heavy handlers report how far they got; in the worker process this
        # pushes `progress` notifications, in the request loop it does nothing.
        self.progress: Progress = lambda done, total=None, unit="rows", message=None: None
        # A worker names each file it is writing, so that vime-rpc removes it
        # when the worker is cancelled or dies; the loop writes none.
        self.cleanup: Callable[[str], None] = lambda path: None
        self.requests: dict = {}  # request id -> worker.Task running it
        self.watches: dict = {}  # (path, table or None) -> handlers.watch.Watch
        self.stop_requested = False  # set by `shutdown`; the loop exits after replying
        self._workers = None
        self._config = None
        self._openable: set[str] = set()  # worker: files of the loop, opened on first use
        self._read_as_swmr: set[str] = set()  # worker: those the loop reads as a SWMR reader
        self._results = {}  # result file path -> loaders.Source, opened on first page

    @classmethod
    def in_worker(cls, snapshot: dict) -> State:
        """The State of a worker process, from the loop's ``snapshot()``."""
        state = cls()
        state._openable = set(snapshot["files"])
        state._read_as_swmr = set(snapshot["swmr"])
        state.current_path = snapshot["current"]
        state.last_table = tuple(snapshot["last_table"]) if snapshot["last_table"] else None
        return state

    def snapshot(self) -> dict:
        """What a worker needs to resolve the same names as the loop."""
        return {
            "files": list(self.sources),
            "swmr": [key for key, source in self.sources.items() if source.swmr],
            "current": self.current_path,
            "last_table": self.last_table,
        }

    @property
    def config(self):
        if self._config is None:
            from vime.config import Config

            self._config = Config.load()
        return self._config

    @property
    def workers(self):
        """The worker processes; the fork server starts at the first `open`."""
        if self._workers is None:
            from vime.worker import Workers

            self._workers = Workers(os.environ.get("VIME_LOG"), bool(os.environ.get("VIME_DEBUG")))
        return self._workers

    # -- files ---------------------------------------------------------------
    def open(self, path: str):
        """Open (or reopen) a file read-only and make it the current one.

        A file that fails to open leaves the files open before, and the
        current one, as they were.
        """
        from vime import loaders

        key = normalise_path(path)
        with self.lock:
            source = loaders.open_source(key)  # on failure, the files open stay as they are
            previous = self.sources.pop(key, None)
            if previous is not None:
                previous.close()
            self.sources[key] = source
        self.current_path = key
        if self._workers is None:  # the first open: what killed workers of old left behind
            from vime import results

            results.sweep_temps()
        self.workers.start()  # in the background: the first heavy request finds it warm
        if is_domain(key):
            self.workers.preload("vime.loaders.remote")
        return source

    def files(self) -> set[str]:
        """Every file this State can read: the open ones (and, in a worker, the loop's)."""
        return set(self.sources) | self._openable

    def source(self, path: str | None = None):
        """The open file at ``path``, or the one opened last."""
        if path is None:
            if self.current_path is None:
                raise NoFileOpen("no file is open: call open {path} first")
            path = self.current_path
        key = normalise_path(path)
        if key not in self.sources and key in self._openable:
            from vime import loaders

            self.sources[key] = loaders.open_source(key, swmr=key in self._read_as_swmr)
        if key not in self.sources:
            raise FileMissing(f"{path}: not open (open it first)")
        return self.sources[key]

    def close(self, path: str | None = None) -> list[str]:
        """Close one file, or every file when ``path`` is None."""
        keys = list(self.sources) if path is None else [self.source(path).path]
        with self.lock:
            for key in keys:
                self.sources.pop(key).close()
            for result in [r for r in self._results.values() if path is None or r.of in keys]:
                self._results.pop(result.path).close()
        if self.current_path not in self.sources:
            self.current_path = next(reversed(self.sources), None)
        return keys

    # -- tables --------------------------------------------------------------
    def table(self, name: str | None, path: str | None = None):
        """Resolve a table name: a compute result of the file, or the file's own."""
        from vime import results

        if name is None:
            if self.last_table is None:
                raise NoSuchTable("no table given and none paged yet: pass 'name'")
            name, path = self.last_table
        source = self.source(path)
        if results.is_result_name(name):
            return results.table(source.path, name, self._result_source)
        with self.lock:
            return source.table(name)

    def tables(self, path: str | None = None) -> list:
        """The file's tables followed by its compute results."""
        from vime import results

        source = self.source(path)
        with self.lock:
            listed = list(source.tables())
        return listed + results.tables(source.path, self._result_source)

    def _result_source(self, result_path: str, of: str):
        """The open result file (a pandas store in the results folder)."""
        if result_path not in self._results:
            from vime import loaders

            with self.lock:
                source = loaders.open_source(result_path)
            source.of = of
            self._results[result_path] = source
        return self._results[result_path]

    def open_results(self) -> set[str]:
        """The result files this process has open: eviction spares them."""
        return set(self._results)

    def forget_result(self, result_path: str) -> None:
        """Close a result file before it is removed."""
        source = self._results.pop(result_path, None)
        if source is not None:
            with self.lock:
                source.close()

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
