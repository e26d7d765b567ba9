"""Export a table (from a file, or a virtual one) to a new CSV or HDF5 file.

The table is read in chunks and written to a temp file in the target's
directory, which is renamed over the target only when complete: a failed or
interrupted export leaves nothing behind. An existing target is replaced only
with ``overwrite``, and a file open as a source is never written.

CSV: a header line, then the rows; the index is written as the first column
unless it is plain row numbers. HDF5: a pandas ``table``-format store
(readable by ``pd.read_hdf`` and by vime) under the table's own key.
"""

from __future__ import annotations

import logging
import os

import pandas as pd

from vime.atomic import replaced_on_success
from vime.compute import chunk_rows_setting
from vime.errors import ExportFailed, InvalidParams, VimeError
from vime.state import normalise_path

log = logging.getLogger("vime.export")

FORMATS = ("csv", "hdf5")
EXTENSIONS = {".csv": "csv", ".h5": "hdf5", ".hdf5": "hdf5", ".hdf": "hdf5", ".he5": "hdf5"}


def format_for(path: str, given: str | None) -> str:
    """The export format: the one given, else guessed from the extension."""
    if given is not None:
        return given
    guessed = EXTENSIONS.get(os.path.splitext(path)[1].lower())
    if guessed is None:
        raise InvalidParams(f"cannot tell the format of {path!r}: pass format csv or hdf5")
    return guessed


def export_table(state, table, to: str, fmt: str, overwrite: bool = False,
                 chunk_rows: int | None = None) -> dict:  # fmt: skip
    """Write ``table`` to ``to``; return {path, format, rows, cols, bytes[, key]}."""
    target = normalise_path(to)
    check_target(target, set(state.sources), overwrite)
    writer = Export(state, table, chunk_rows or chunk_rows_setting())
    try:
        with replaced_on_success(target) as temp:
            rows = writer.csv(temp) if fmt == "csv" else writer.hdf5(temp)
    except VimeError:
        raise
    except Exception as exc:
        log.exception("export of %s to %s failed", table.name, target)
        raise ExportFailed(f"export to {target}: {type(exc).__name__}: {exc}") from exc
    result = {"path": target, "format": fmt, "rows": rows, "cols": len(table.columns)}
    if fmt == "hdf5":
        result["key"] = writer.key
    return {**result, "bytes": os.path.getsize(target)}


def check_target(target: str, sources: set[str], overwrite: bool) -> None:
    """Refuse sources, directories, missing folders and (without overwrite) files."""
    if target in sources or any(_same_file(target, source) for source in sources):
        raise ExportFailed(f"{target} is open as a source; export to another file")
    if os.path.isdir(target):
        raise ExportFailed(f"{target} is a directory; give a file name")
    if not os.path.isdir(os.path.dirname(target)):
        raise ExportFailed(f"{os.path.dirname(target)}: no such directory")
    if os.path.exists(target) and not overwrite:
        raise ExportFailed(f"{target} exists; pass overwrite: true to replace it")


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


class Export:
    """Writes one table's chunks, reading them under the state's HDF5 lock."""

    def __init__(self, state, table, chunk_rows: int):
        self.state, self.table, self.chunk_rows = state, table, chunk_rows
        self.key = table.name if table.name.startswith("/") else f"/{table.name}"

    def chunks(self, columns=None):
        reader = self.table.chunks(columns=columns, chunk_rows=self.chunk_rows)
        return self.state.locked_chunks(reader)

    def head(self, rows: int) -> pd.DataFrame:
        with self.state.lock:
            return self.table.page(0, rows)

    def csv(self, path: str) -> int:
        """The header, then every chunk; the index only when it is not row numbers."""
        rows, with_index = 0, not _is_row_numbers(self.head(1).index)
        with open(path, "x", encoding="utf-8", newline="") as handle:
            self.head(0).to_csv(handle, index=with_index)
            for chunk in self.chunks():
                chunk.to_csv(handle, index=with_index, header=False)
                rows += len(chunk)
        return rows

    def hdf5(self, path: str) -> int:
        """Append chunks to a pandas table; text column widths are measured first."""
        widths = self.text_widths()
        rows = 0
        with self.state.lock:
            store = pd.HDFStore(path, mode="w")
        try:
            for chunk in self.chunks():
                with self.state.lock:
                    store.append(self.key, chunk, format="table", data_columns=True,
                                 index=False, min_itemsize=widths or None)  # fmt: skip
                rows += len(chunk)
            if rows == 0:  # pandas writes nothing for an empty table-format frame
                with self.state.lock:
                    store.put(self.key, self.head(0), format="fixed", track_times=False)
        finally:
            with self.state.lock:
                store.close()
        return rows

    def text_widths(self) -> dict[str, int]:
        """The longest UTF-8 value of each text column: a table's string width is set once."""
        first = self.head(1)
        text_columns = [name for name in first.columns if _is_text(first[name])]
        widths = dict.fromkeys(text_columns, 1)
        if not text_columns:
            return widths
        for chunk in self.chunks(text_columns):
            for name in text_columns:
                longest = chunk[name].dropna().astype(str).str.encode("utf-8").str.len().max()
                if pd.notna(longest):
                    widths[name] = max(widths[name], int(longest))
        return widths


def _is_row_numbers(index: pd.Index) -> bool:
    return isinstance(index, pd.RangeIndex) and index.step == 1 and index.start == 0


def _is_text(series: pd.Series) -> bool:
    return pd.api.types.is_string_dtype(series.dtype) or series.dtype == object
