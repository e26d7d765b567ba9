"""Export a table (from a file, or a compute result) to a new CSV, HDF5 or Parquet file.

Runs in a worker process. The table is read in chunks and written to a temp
file in the target's folder, which is synced and renamed over the target only
when complete: a failed, cancelled or killed export leaves nothing behind (the
temp file is named to vime-rpc, which removes it if the worker dies). An
existing target is replaced only with ``overwrite``, and a file open as a
source is never written.

CSV: a header line, then the rows (numeric rows through vime.csvrows, the same
text as ``to_csv``, faster); the index is written as the first column unless it
is plain row numbers. HDF5: a pandas ``table``-format store
(readable by ``pd.read_hdf`` and by vime) under the table's own key. Parquet:
through pyarrow, the optional extra ``vime[parquet]``.
"""

from __future__ import annotations

import logging
import os

import pandas as pd

from vime import import_pyarrow
from vime.atomic import replaced_on_success
from vime.compute import chunk_rows_setting
from vime.csvrows import write_csv_rows
from vime.domains import is_domain
from vime.errors import ExportFailed, InvalidParams, VimeError
from vime.state import normalise_path

log = logging.getLogger("vime.export")

FORMATS = ("csv", "hdf5", "parquet")
EXTENSIONS = {
    ".csv": "csv",
    ".h5": "hdf5",
    ".hdf5": "hdf5",
    ".hdf": "hdf5",
    ".he5": "hdf5",
    ".parquet": "parquet",
    ".pq": "parquet",
}


def format_for(path: str, given: str | None) -> str:
    """The export format: the one given, else guessed from the extension."""
    if given is not None:
        return given
    guessed = EXTENSIONS.get(os.path.splitext(path)[1].lower())
    if guessed is None:
        raise InvalidParams(
            f"cannot tell the format of {path!r}: use .csv, .h5, .hdf5 or .parquet, "
            "or pass format csv, hdf5 or parquet"
        )
    return guessed


def export_table(state, table, to: str, fmt: str, overwrite: bool = False,
                 chunk_rows: int | None = None) -> dict:  # fmt: skip
    """Write ``table`` to ``to``; return {path, format, rows, cols, bytes[, key]}."""
    if is_domain(to):
        raise ExportFailed(f"{to}: export writes a local file, not an HSDS domain")
    target = normalise_path(to)
    check_target(target, state.files(), overwrite)
    writer = Export(state, table, chunk_rows or chunk_rows_setting())
    write = {"csv": writer.csv, "hdf5": writer.hdf5, "parquet": writer.parquet}[fmt]
    try:
        with replaced_on_success(target) as temp:
            state.cleanup(temp)
            rows = write(temp)
    except (VimeError, MemoryError):
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
        raise ExportFailed(f"{target} exists; pass overwrite: true to replace it", exists=True)


def _same_file(a: str, b: str) -> bool:
    try:
        return os.path.samefile(a, b)
    except OSError:
        return False


class Export:
    """Writes one table's chunks, pushing progress after each."""

    def __init__(self, state, table, chunk_rows: int):
        self.state, self.table, self.chunk_rows = state, table, chunk_rows
        self.key = table.name if table.name.startswith("/") else f"/{table.name}"

    def chunks(self):
        done = 0
        for chunk in self.table.chunks(chunk_rows=self.chunk_rows):
            yield chunk
            done += len(chunk)
            self.state.progress(done, self.table.rows, "rows", f"exporting {self.table.name}")

    def csv(self, path: str) -> int:
        """The header, then every chunk; the index only when it is not row numbers."""
        rows, with_index = 0, not _is_row_numbers(self.table.page(0, 1).index)
        with open(path, "x", encoding="utf-8", newline="") as handle:
            self.table.page(0, 0).to_csv(handle, index=with_index)
            for chunk in self.chunks():
                write_csv_rows(chunk, handle, with_index)
                rows += len(chunk)
        return rows

    def hdf5(self, path: str) -> int:
        from vime.storewriter import StoreWriter

        writer = StoreWriter(path, self.key)
        try:
            for chunk in self.chunks():
                writer.append(chunk)
            if writer.rows == 0:
                writer.append(self.table.page(0, 0))
        except BaseException:
            writer.abort()
            raise
        writer.close()
        return writer.rows

    def parquet(self, path: str) -> int:
        try:
            pa = import_pyarrow()
            import pyarrow.parquet as pq
        except ImportError:
            raise ExportFailed(
                "Parquet export needs pyarrow, the optional extra: pip install 'vime[parquet]' "
                "(or pip install pyarrow)"
            ) from None
        rows, output = 0, None
        with_index = not _is_row_numbers(self.table.page(0, 1).index)
        try:
            for chunk in self.chunks():
                batch = pa.Table.from_pandas(chunk, preserve_index=with_index)
                output = output or pq.ParquetWriter(path, batch.schema)
                output.write_table(batch)
                rows += len(chunk)
            if output is None:
                empty = pa.Table.from_pandas(self.table.page(0, 0), preserve_index=with_index)
                pq.write_table(empty, path)
        finally:
            if output is not None:
                output.close()
        return rows


def _is_row_numbers(index: pd.Index) -> bool:
    return isinstance(index, pd.RangeIndex) and index.step == 1 and index.start == 0
