"""Say clearly why a path is not an HDF5 file, before HDF5 tries to open it."""

from __future__ import annotations

import codecs
import os
import stat

from vime.errors import FileMissing, NotHDF5, ReadFailed

HDF5_SIGNATURE = b"\x89HDF\r\n\x1a\n"

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


def check_file(path: str) -> None:
    """Raise FileMissing, ReadFailed or NotHDF5 naming the path and the reason."""
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
            found = _has_signature(handle, head, info.st_size)
    except PermissionError:
        raise ReadFailed(f"{path}: permission denied") from None
    except OSError as exc:
        raise ReadFailed(f"{path}: cannot read: {exc.strerror}") from None
    if not head:
        raise NotHDF5(f"{path}: empty file (0 bytes), not HDF5")
    if not found:
        raise NotHDF5(f"{path}: {_what_it_is(head)}")


def _has_signature(handle, head: bytes, size: int) -> bool:
    """HDF5 puts its signature at 0, 512, 1024, 2048, ... (after a user block)."""
    if head.startswith(HDF5_SIGNATURE):
        return True
    offset = 512
    while offset + len(HDF5_SIGNATURE) <= size:
        handle.seek(offset)
        if handle.read(len(HDF5_SIGNATURE)) == HDF5_SIGNATURE:
            return True
        offset *= 2
    return False


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
