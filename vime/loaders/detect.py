"""Say clearly why a path is not an HDF5 file, and whether a program is writing it,
before HDF5 tries to open it.

Superblocks of version 2 and 3 (files written with ``libver="latest"``) keep
status flags: "open for write" while a writer has the file open, plus "SWMR
write access" when it writes in SWMR mode (single writer, multiple readers).
HDF5 refuses a plain reader of a flagged file, and a SWMR reader of a file
flagged without SWMR. Older superblocks (pandas, PyTables, h5py's default)
say nothing: a writer shows only by the write lock HDF5 takes on the file,
which Linux lists in /proc/locks (a writer with locking off shows nowhere).
Nothing here locks or writes the file.
"""

from __future__ import annotations

import codecs
import os
import stat
from dataclasses import dataclass, field
from functools import cached_property

from vime.errors import FileMissing, NotHDF5, ReadFailed

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"
WRITE_ACCESS = 0x01  # superblock status flags (H5Fsuper.c)
SWMR_WRITE_ACCESS = 0x04
LOCKS = "/proc/locks"

# Magic numbers of files people mistake for HDF5, and what to call them.
KNOWN_FORMATS = (
    (b"CDF\x01", "NetCDF-3 classic, not HDF5"),
    (b"CDF\x02", "NetCDF-3 classic (64-bit offset), not HDF5"),
    (b"CDF\x05", "NetCDF-3 classic (CDF-5), not HDF5"),
    (b"MATLAB 5.0 MAT-file", "MATLAB v5 MAT-file, not HDF5 (save it with -v7.3)"),
    (b"PAR1", "Parquet file, not HDF5"),
    (b"PK\x03\x04", "zip archive (or .npz), not HDF5"),
    (b"\x1f\x8b", "gzip-compressed file, not HDF5 (decompress it first)"),
    (b"\x93NUMPY", "NumPy .npy file, not HDF5"),
    (b"ARROW1", "Arrow file, not HDF5"),
)


@dataclass(frozen=True)
class FileStatus:
    """What the superblock and the file locks say about a program writing the file.

    The locks are looked up on first use of ``writer_pid``: reading /proc/locks
    can take milliseconds (a page catching up with a writer asked it every time),
    and what the superblock says is enough to catch up with one.
    """

    superblock: int  # version: 0 and 1 have no status flags
    flags: int
    info: os.stat_result | None = field(default=None, repr=False)  # the file's, for its locks

    @cached_property
    def writer_pid(self) -> int | None:
        """A process holding a write lock on the file (see ``writer_pid``)."""
        return None if self.info is None else writer_pid(self.info)

    @property
    def swmr(self) -> bool:
        """A writer has it open in SWMR mode: read it as a SWMR reader."""
        return self.superblock >= 2 and bool(self.flags & SWMR_WRITE_ACCESS)

    @property
    def refuses_readers(self) -> bool:
        """Flagged as open for write without SWMR: HDF5 opens it for no reader."""
        return self.superblock >= 2 and bool(self.flags & WRITE_ACCESS) and not self.swmr

    @property
    def writing(self) -> str | None:
        """'swmr', 'no-swmr', or None when nothing says a program is writing it."""
        if self.swmr:
            return "swmr"
        if self.refuses_readers or self.writer_pid is not None:
            return "no-swmr"
        return None

    def open_elsewhere(self, path: str) -> str:
        """Why a file flagged as open for write cannot be read, and what to do."""
        if self.writer_pid is not None:
            return (f"{path}: is open for writing in another program (pid {self.writer_pid}) "
                    "without SWMR; HDF5 lets no reader open it until that program closes it "
                    "(a writer with libver='latest' can set swmr_mode = True)")  # fmt: skip
        return (f"{path}: is marked as open for writing without SWMR, by a program still "
                "writing it or one that crashed; HDF5 lets no reader open it until the writer "
                "closes it (if none is running, 'h5clear -s' clears the mark)")  # fmt: skip


def check_file(path: str) -> FileStatus:
    """Raise FileMissing, ReadFailed or NotHDF5 naming the path and the reason; else
    say whether a program is writing the file."""
    try:
        info = os.stat(path)
    except FileNotFoundError:
        raise FileMissing(f"{path}: no such file") from None
    except OSError as exc:
        raise ReadFailed(f"{path}: cannot access: {exc.strerror}") from None
    if stat.S_ISDIR(info.st_mode):
        raise NotHDF5(f"{path}: is a directory, not an HDF5 file")
    try:
        with open(path, "rb") as handle:
            head = handle.read(64)
            offset = _signature_offset(handle, head, info.st_size)
            superblock = _superblock_head(handle, head, offset)
    except PermissionError:
        raise ReadFailed(f"{path}: permission denied") from None
    except OSError as exc:
        raise ReadFailed(f"{path}: cannot read: {exc.strerror}") from None
    if not head:
        raise NotHDF5(f"{path}: empty file (0 bytes), not HDF5")
    if offset < 0:
        raise NotHDF5(f"{path}: {_what_it_is(head)}")
    version = superblock[8] if len(superblock) > 8 else 0
    flags = superblock[11] if version >= 2 and len(superblock) > 11 else 0
    return FileStatus(version, flags, info)


def _signature_offset(handle, head: bytes, size: int) -> int:
    """HDF5 puts its signature at 0, 512, 1024, 2048, ... (after a user block); -1: none."""
    if head.startswith(HDF5_SIGNATURE):
        return 0
    offset = 512
    while offset + len(HDF5_SIGNATURE) <= size:
        handle.seek(offset)
        if handle.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE:
            return offset
        offset *= 2
    return -1


def _superblock_head(handle, head: bytes, offset: int) -> bytes:
    """The signature, version, sizes and status flags of the superblock."""
    if offset == 0:
        return head[:12]
    if offset < 0:
        return b""
    handle.seek(offset)
    return handle.read(12)


def writer_pid(info: os.stat_result) -> int | None:
    """The process holding a write lock on the file (HDF5 takes one for a writer), from
    Linux's /proc/locks; None elsewhere, when none does, or when the writer turned
    locking off. Reading the list takes no lock, so no writer can fail because of it."""
    wanted = f"{os.major(info.st_dev):02x}:{os.minor(info.st_dev):02x}:{info.st_ino}"
    try:
        with open(LOCKS, encoding="ascii", errors="replace") as locks:
            lines = locks.readlines()
    except OSError:
        return None
    for line in lines:
        # "1: FLOCK  ADVISORY  WRITE 14243 fe:00:2246576 0 EOF"; "->" marks a waiter
        fields = line.split()
        if "->" in fields or len(fields) < 6:
            continue
        if fields[3] == "WRITE" and fields[5] == wanted and fields[4].isdigit():
            pid = int(fields[4])
            if pid != os.getpid():
                return pid
    return None


def _what_it_is(head: bytes) -> str:
    for magic, description in KNOWN_FORMATS:
        if head.startswith(magic):
            return description
    if _looks_like_text(head):
        preview = head[:24].decode("utf-8", "replace").splitlines()[0] if head.strip() else ""
        return f"a text file, not HDF5 (starts with {preview!r})"
    return "not an HDF5 file (no HDF5 signature)"


def _looks_like_text(head: bytes) -> bool:
    try:  # incremental: a character cut at the end of ``head`` is fine
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
    except UnicodeDecodeError:
        return False
    return all(byte >= 32 or byte in b"\t\r\n\f" for byte in head)
