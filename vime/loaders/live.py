"""Files that another program is writing while vime reads them.

* A file whose superblock says a SWMR writer has it open is opened as a SWMR
  reader (``swmr=True``); so is a file a writer without SWMR holds (its write
  lock is seen, or it changed since vime opened it): SWMR reading does not
  stop at the end of the space the superblock recorded, which such a writer
  updates only now and then. HDF5 still checks a file's size at open for
  superblocks before version 2. A file flagged as open for write without
  SWMR cannot be opened by any reader: that is said plainly, never as damage.
* ``Changes`` tells whether the file changed since the last look, from its
  size and modification time, without reading it.
* A read that fails while the file changes is retried once after catching
  up (see ``Source.retrying``); then the error is named.
* SWMR reading also skips HDF5's end-of-file check, so that a truncated copy
  of a file being written would read as zeros: ``check_stored`` makes sure
  the chunks of a page lie inside the file.

vime never writes to the file and never locks it (HDF5 file locking is off).
"""

from __future__ import annotations

import os
import time
from itertools import product
from typing import NamedTuple

import h5py

from vime.errors import NotHDF5, ReadFailed
from vime.loaders.detect import FileStatus, check_file

RETRY_AFTER = 0.05  # seconds before the one retry of an open that failed mid-write
# A write in the same clock tick as a look leaves the modification time as it
# was, so a look less than a tick after the last change cannot rule out a later
# one. Some file systems keep whole seconds (ext3, HFS+, FAT's two) or tens of
# milliseconds (exFAT); where times have finer digits, the kernel stamps them
# from its coarse clock, whose tick is 10 ms at most (100 Hz): two of those.
COARSE_TICK_NS = 2_000_000_000
FINE_TICK_NS = 20_000_000
MAX_CHUNK_CHECKS = 1024  # chunk look-ups per page; more is a wide page, checked at its corners
NO_SWMR_WARNING = "being written (no SWMR): the view may lag or show partial rows"


def write_status(status: FileStatus) -> dict:
    """The `writing` field of a listing, and its `warning` for a writer without SWMR."""
    fields: dict = {"writing": status.writing}
    if status.writing == "no-swmr":
        fields["warning"] = NO_SWMR_WARNING
    return fields


def read_as_swmr(status: FileStatus, changed: bool) -> bool:
    """Whether to open the file as a SWMR reader (see the module's docstring)."""
    if status.superblock >= 2:
        return status.swmr
    return changed or status.writing is not None  # the locks looked up only if needed


def open_handle(path: str, status: FileStatus, swmr: bool) -> h5py.File:
    """Open read-only, locking off; a failure while the file is being written is retried
    once, then named: open elsewhere, being written, or damaged."""
    if status.refuses_readers:
        raise ReadFailed(status.open_elsewhere(path))
    try:
        return h5py.File(path, "r", locking=False, swmr=swmr)
    except OSError as exc:
        first = exc
    if status.writing is None and not swmr:
        raise _open_error(path, status, first)
    time.sleep(RETRY_AFTER)
    status = check_file(path)
    if status.refuses_readers:
        raise ReadFailed(status.open_elsewhere(path))
    try:
        return h5py.File(path, "r", locking=False, swmr=read_as_swmr(status, swmr))
    except OSError as exc:
        raise _open_error(path, status, exc) from None


def _open_error(path: str, status: FileStatus, exc: OSError):
    reason = str(exc)
    if "already open for write" in reason or "not already open for SWMR" in reason:
        return ReadFailed(status.open_elsewhere(path))  # a writer came between check and open
    if status.writing is not None:
        return ReadFailed(f"{path}: cannot be opened while it is being written "
                          f"({status.writing}): {reason}")  # fmt: skip
    return NotHDF5(f"{path}: truncated or damaged HDF5 file ({reason})")


class Changes:
    """Whether a file changed since the last look: size, modification time, inode."""

    def __init__(self, path: str):
        self.path = path
        self._looked_at = time.time_ns()  # before the stat: a write after it is a change
        self._seen = self._signature()
        self.changed_since_open = False

    def _signature(self) -> tuple[int, int, int] | None:
        try:
            info = os.stat(self.path)
        except OSError:  # gone, or not a local file
            return None
        return info.st_size, info.st_mtime_ns, info.st_ino

    def look(self) -> Look | None:
        """A Look when the file may have changed, else None. ``seen`` takes it once the
        change has been caught up with."""
        at = time.time_ns()
        signature = self._signature()
        if signature is None:
            return None  # gone: the open handle still reads what it read
        settled = self._looked_at - signature[1] >= same_tick_ns(signature[1])
        if signature == self._seen and settled:
            return None
        return Look(signature, at, signature != self._seen)

    def seen(self, look: Look) -> None:
        self.changed_since_open = self.changed_since_open or look.changed
        self._seen, self._looked_at = look.signature, look.at


def same_tick_ns(mtime_ns: int) -> int:
    """How long after ``mtime_ns`` a write may still leave the modification time as it
    was: a coarse file system's tick when the time is in tens of milliseconds."""
    return COARSE_TICK_NS if mtime_ns % 10_000_000 == 0 else FINE_TICK_NS


class Look(NamedTuple):
    signature: tuple[int, int, int] | None
    at: int  # time.time_ns() just before the look's stat
    changed: bool  # the signature differs (else: a change cannot be ruled out yet)


def check_stored(dataset: h5py.Dataset, key: tuple, path: str, where: str) -> None:
    """Raise ReadFailed when the stored bytes a selection reads lie past the end of the
    file (a truncated copy of a file being written: SWMR would read them as zeros)."""
    size = os.stat(path).st_size
    layout = dataset.id.get_create_plist().get_layout()
    if layout == h5py.h5d.CONTIGUOUS:
        offset = dataset.id.get_offset()
        if offset is not None and offset + dataset.id.get_storage_size() > size:
            raise _truncated(where, offset + dataset.id.get_storage_size(), size)
        return
    if layout != h5py.h5d.CHUNKED:
        return
    for corner in _chunk_corners(key, dataset.shape, dataset.chunks):
        info = dataset.id.get_chunk_info_by_coord(corner)
        if info.byte_offset is not None and info.byte_offset + info.size > size:
            raise _truncated(where, info.byte_offset + info.size, size)


def _truncated(where: str, needed: int, size: int) -> ReadFailed:
    return ReadFailed(f"{where}: truncated or damaged: its data reaches byte {needed:,} of a "
                      f"file of {size:,} bytes")  # fmt: skip


def _chunk_corners(key: tuple, shape: tuple, chunks: tuple) -> list[tuple]:
    """The first coordinates of the chunks an h5py selection key touches."""
    per_axis = []
    for axis, (extent, chunk) in enumerate(zip(shape, chunks, strict=True)):
        item = key[axis] if axis < len(key) else slice(None)
        per_axis.append(_chunk_starts(item, extent, chunk))
    count = 1
    for starts in per_axis:
        count *= len(starts)
    if count > MAX_CHUNK_CHECKS:
        per_axis = [sorted({starts[0], starts[-1]}) for starts in per_axis]
    return list(product(*per_axis))


def _chunk_starts(item, extent: int, chunk: int) -> list[int]:
    if isinstance(item, slice):
        start, stop, _step = item.indices(extent)
        if stop <= start:
            return []
        return list(range(start // chunk * chunk, stop, chunk))
    if isinstance(item, list):
        return sorted({index // chunk * chunk for index in item})
    return [int(item) // chunk * chunk]
