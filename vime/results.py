"""Compute results: pandas table-format HDF5 files in a cache folder, listed with their source.

The folder is ``$VIME_RESULTS``, else ``$XDG_CACHE_HOME/vime/results``
(``~/.cache/vime/results``). A result is ``<folder>/<id>.h5`` with its rows under
the key ``/result`` and its provenance as attributes of that group. A worker
writes it chunk by chunk under a temp name and renames it when done, so a
half-written result is never listed; then it adds the result to
``index.json``, which maps each source file (path, size, mtime) to its
results. The index is small, re-read for every listing (another editor may
have added results) and rewritten atomically under an exclusive lock.

A result is named ``/__computed__/<name>`` and lives as long as its file: it
survives restarts of vime-rpc until ``drop`` or the cache limit
(``VIME_RESULTS_MAX``, 10 GiB) removes it. A result whose source changed
since is listed with ``stale: true``, never dropped silently.
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import logging
import os
import re
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from vime.atomic import commit, write_text
from vime.domains import is_domain
from vime.errors import InvalidParams, NoSuchTable, VimeError
from vime.loaders.base import PLAIN_KINDS, Table, numpy_dtype
from vime.paths import user_path
from vime.sizes import format_size, size_setting

log = logging.getLogger("vime.results")

PREFIX = "/__computed__/"
RESULT_KEY = "/result"
MAX_NAME = 40  # characters after the prefix
DEFAULT_MAX_BYTES = 10 << 30
INDEX_VERSION = 1

Opener = Callable[[str, str], object]  # (result file, source path) -> loaders.Source


def results_dir() -> Path:
    return user_path("VIME_RESULTS", "XDG_CACHE_HOME", ".cache", "vime", "results")


def is_result_name(name: str) -> bool:
    return name.startswith(PREFIX)


def given_name(name: str) -> str:
    """A name from compute_start's ``name`` param, under /__computed__/."""
    text = name.strip().removeprefix(PREFIX).strip("/")
    if not text:
        raise InvalidParams("param 'name' must not be empty")
    if len(text) > 200 or any(ch in text for ch in "\0\n"):
        raise InvalidParams(f"param 'name' is not a usable table name: {name!r}")
    return PREFIX + text


# -- the index ---------------------------------------------------------------------------
class Index:
    """index.json in the results folder: {"version": 1, "results": [entry, ...]}.

    An entry: name, file, source {path, size, mtime_ns, table}, created,
    rows, cols, columns, dtypes, bytes, provenance.
    """

    def __init__(self, folder: Path | None = None):
        self.folder = folder or results_dir()
        self.path = self.folder / "index.json"

    def entries(self) -> list[dict]:
        try:
            data = json.loads(self.path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            return []
        except (OSError, ValueError) as exc:
            log.warning("%s: unreadable results index (%s); no results listed", self.path, exc)
            return []
        entries = data.get("results") if isinstance(data, dict) else None
        return [e for e in entries if _is_entry(e)] if isinstance(entries, list) else []

    @contextlib.contextmanager
    def changing(self):
        """Yield the entries to change in place; written back atomically under a lock."""
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "index.lock", "a") as lock:
            fcntl.flock(lock, fcntl.LOCK_EX)
            entries = self.entries()
            yield entries
            write_text(self.path, json.dumps({"version": INDEX_VERSION, "results": entries},
                                             indent=1))  # fmt: skip

    def of(self, source_path: str) -> list[dict]:
        return [e for e in self.entries() if e["source"]["path"] == source_path]

    def file_of(self, entry: dict) -> str:
        return str(self.folder / entry["file"])


def _is_entry(entry) -> bool:
    return (
        isinstance(entry, dict)
        and isinstance(entry.get("name"), str)
        and isinstance(entry.get("file"), str)
        and isinstance(entry.get("source"), dict)
        and isinstance(entry["source"].get("path"), str)
    )


def source_identity(path: str) -> dict:
    """The source's path, size and last change; a domain's as its HSDS service reports them."""
    if is_domain(path):
        from vime.loaders.remote import domain_identity

        return {"path": path, **domain_identity(path)}
    info = os.stat(path)
    return {"path": path, "size": info.st_size, "mtime_ns": info.st_mtime_ns}


def is_stale(entry: dict) -> bool:
    """The source file changed (or vanished, or its service cannot tell) since the result
    was computed."""
    source = entry["source"]
    try:
        now = source_identity(source["path"])
    except (OSError, VimeError):
        return True
    return (now["size"], now["mtime_ns"]) != (source.get("size"), source.get("mtime_ns"))


# -- results as tables ---------------------------------------------------------------------
class ComputedTable(Table):
    """A result, listed from its index entry and read through the loader of its file."""

    kind = "computed"

    def __init__(self, entry: dict, result_path: str, opener: Opener):
        self.entry = entry
        self.name = entry["name"]
        self.file = entry["source"]["path"]
        self.result_path = result_path
        self.rows = int(entry.get("rows", 0))
        self.columns = list(entry.get("columns", []))
        self.dtypes = list(entry.get("dtypes", []))
        self.shape = [self.rows, len(self.columns)]
        self.attrs = dict(entry.get("provenance", {}))
        self._opener = opener
        self._inner = None

    @property
    def inner(self) -> Table:
        if self._inner is None:
            self._inner = self._opener(self.result_path, self.file).table(RESULT_KEY)
            self.index_names = list(self._inner.index_names)
        return self._inner

    @property
    def pages_need_pandas(self) -> bool:
        """Judged by the listed dtypes of its columns: its index is its source table's
        (listed beside it, and judged there) or row numbers (a group-by's, a script's)."""
        dtypes = [numpy_dtype(text) for text in self.dtypes]
        return not all(dtype is not None and dtype.kind in PLAIN_KINDS for dtype in dtypes)

    def _read(self, start, stop, columns, plane):
        return self.inner._read(start, stop, columns, plane)

    def _read_arrays(self, start, stop, columns, plane):
        return self.inner._read_arrays(start, stop, columns, plane)

    def _read_raw(self, start, stop, plane):
        return self.inner._read_raw(start, stop, plane)

    def arrays(self, columns=None, start=0, stop=None, chunk_rows=None, plane=None):
        chunk = {} if chunk_rows is None else {"chunk_rows": chunk_rows}
        return self.inner.arrays(columns, start, stop, plane=plane, **chunk)

    def storage(self) -> dict:
        return self.inner.storage()

    def summary(self) -> dict:
        entry = super().summary()
        source = self.entry["source"]
        entry["source"] = {"path": source["path"], "table": source.get("table")}
        entry["stale"] = is_stale(self.entry)
        entry["provenance"] = self.attrs
        entry["created"] = self.entry.get("created")
        return entry


def tables(source_path: str, opener: Opener, index: Index | None = None) -> list[Table]:
    index = index or Index()
    return [ComputedTable(e, index.file_of(e), opener) for e in index.of(source_path)]


def table(source_path: str, name: str, opener: Opener, index: Index | None = None) -> Table:
    index = index or Index()
    for entry in index.of(source_path):
        if entry["name"] == name:
            return ComputedTable(entry, index.file_of(entry), opener)
    known = ", ".join(e["name"] for e in index.of(source_path)) or "none"
    raise NoSuchTable(f"{source_path}: no computed table {name!r}; computed tables: {known}")


# -- names -------------------------------------------------------------------------------
_OPERATORS = [
    (">=", " ge "),
    ("<=", " le "),
    ("==", " eq "),
    ("!=", " ne "),
    (">", " gt "),
    ("<", " lt "),
    ("&", " and "),
    ("|", " or "),
    ("~", " not "),
    ("-", " minus "),
    ("+", " plus "),
    ("*", " times "),
    ("/", " over "),
]


def words(text: str) -> str:
    """'signal > 3' -> 'signal_gt_3': a readable identifier for a name."""
    for symbol, word in _OPERATORS:
        text = text.replace(symbol, word)
    return re.sub(r"[^0-9A-Za-z]+", "_", text).strip("_").lower()


def derive_name(params: dict, source_table: str) -> str:
    """A short readable name from what the request asks: signal_gt_3, by_station_mean_signal."""
    parts = []
    if params.get("query"):
        parts.append(words(params["query"]))
    if params.get("assign"):
        parts.append("with_" + "_".join(words(k) for k in params["assign"]))
    if params.get("script"):
        parts.append("script_" + words(str(params["script"]).rpartition(":")[2]))
    if params.get("groupby") or params.get("agg"):
        parts.append(_aggregation_words(params))
    if params.get("sort"):
        desc = "_desc" if params.get("descending") else ""
        parts.append("sorted_by_" + "_".join(words(s) for s in _as_list(params["sort"])) + desc)
    if params.get("limit") is not None:
        parts.append(f"first_{params['limit']}")
    if not parts:
        parts.append("copy_of_" + words(source_table.rsplit("/", 1)[-1]))
    return PREFIX + _shorten("_".join(p for p in parts if p) or "result", MAX_NAME)


def _aggregation_words(params: dict) -> str:
    keys = _as_list(params.get("groupby") or [])
    text = "by_" + "_".join(words(k) for k in keys) if keys else "all"
    for column, aggs in (params.get("agg") or {}).items():
        for how in _as_list(aggs):
            text += f"_{how}_{words(column)}"
    return text


def _as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def _shorten(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    cut = text[:limit]
    return cut[: cut.rfind("_")] if "_" in cut[limit // 2 :] else cut


def unique_name(base: str, taken: set[str]) -> str:
    """``base``, else base_2, base_3... still within MAX_NAME."""
    if base not in taken:
        return base
    stem = base.removeprefix(PREFIX)
    for number in range(2, 10_000):
        suffix = f"_{number}"
        name = PREFIX + _shorten(stem, MAX_NAME - len(suffix)).rstrip("_") + suffix
        if name not in taken:
            return name
    raise InvalidParams(f"too many results named {base!r}; drop some")


def names_of(source_path: str, index: Index | None = None) -> set[str]:
    return {e["name"] for e in (index or Index()).of(source_path)}


# -- writing (in a worker) ---------------------------------------------------------------
class ResultFile:
    """A result being written: a temp file in the results folder until ``publish``."""

    def __init__(self, index: Index | None = None):
        self.index = index or Index()
        self.index.folder.mkdir(parents=True, exist_ok=True)
        self.id = uuid.uuid4().hex[:16]
        self.final = str(self.index.folder / f"{self.id}.h5")
        self.temp = str(self.index.folder / f".tmp-{os.getpid()}-{self.id}.h5")

    def publish(self, name: str, source: dict, table_meta: dict, provenance: dict) -> dict:
        """Rename the finished file into place and list it; replaces a same-named result."""
        commit(self.temp, self.final)
        entry = {
            "name": name,
            "file": os.path.basename(self.final),
            "source": source,
            "created": time.time(),
            "bytes": os.path.getsize(self.final),
            "provenance": provenance,
            **table_meta,
        }
        with self.index.changing() as entries:
            replaced = [e for e in entries if _same_result(e, entry)]
            entries[:] = [e for e in entries if e not in replaced] + [entry]
        for old in replaced:
            _remove(self.index.file_of(old))
        return entry


def _same_result(a: dict, b: dict) -> bool:
    return a["name"] == b["name"] and a["source"]["path"] == b["source"]["path"]


def sweep_temps(folder: Path | None = None) -> None:
    """Remove temp files (results being written, sort runs) of workers that died without
    cleaning up: vime-rpc itself was killed."""
    folder = folder or results_dir()
    for path in folder.glob(".tmp-*-*"):
        pid = path.name.split("-")[1]
        if pid.isdigit() and not _alive(int(pid)):
            _remove(str(path))


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


# -- removing ------------------------------------------------------------------------------
def drop(source_path: str, name: str, before_remove: Callable[[str], None]) -> dict:
    index = Index()
    with index.changing() as entries:
        found = [e for e in entries if e["name"] == name and e["source"]["path"] == source_path]
        if not found:
            known = ", ".join(e["name"] for e in entries if e["source"]["path"] == source_path)
            raise NoSuchTable(
                f"{source_path}: no computed table {name!r}; computed tables: {known or 'none'}"
            )
        entries[:] = [e for e in entries if e not in found]
    for entry in found:
        before_remove(index.file_of(entry))
        _remove(index.file_of(entry))
    return {"dropped": name, "file": index.file_of(found[0])}


def evict(keep: set[str], before_remove: Callable[[str], None]) -> list[str]:
    """Remove the oldest results past VIME_RESULTS_MAX, sparing the files in ``keep``."""
    limit = size_setting("VIME_RESULTS_MAX", DEFAULT_MAX_BYTES)
    index = Index()
    removed = []
    with index.changing() as entries:
        total = sum(int(e.get("bytes", 0)) for e in entries)
        for entry in sorted(entries, key=lambda e: e.get("created", 0)):
            if total <= limit:
                break
            path = index.file_of(entry)
            if path in keep:
                continue
            entries.remove(entry)
            total -= int(entry.get("bytes", 0))
            removed.append(entry)
    for entry in removed:
        path = index.file_of(entry)
        before_remove(path)
        _remove(path)
        log.info("evicted %s of %s (%s): results over VIME_RESULTS_MAX %s", entry["name"],
                 entry["source"]["path"], format_size(int(entry.get("bytes", 0))),
                 format_size(limit))  # fmt: skip
    return [e["name"] for e in removed]


def _remove(path: str) -> None:
    with contextlib.suppress(OSError):
        os.remove(path)
