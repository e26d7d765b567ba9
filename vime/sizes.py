"""Byte sizes as people write them in settings ('4G', '512M') and read them in messages."""

from __future__ import annotations

import os

_UNITS = {"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40}


def parse_size(text: str, setting: str) -> int:
    """'4G', '512M', '1.5GiB' or a number of bytes; ``setting`` names it in errors."""
    number = text.strip().lower().removesuffix("ib").removesuffix("b")
    unit = number[-1:] if number[-1:] in _UNITS else ""
    try:
        value = int(float(number[: len(number) - len(unit)]) * _UNITS[unit])
    except ValueError:
        value = -1
    if value <= 0:
        raise ValueError(f"{setting}: not a size: {text!r} (e.g. 4G, 512M)")
    return value


def size_setting(name: str, default: int) -> int:
    """A size from the environment variable ``name``, else ``default``."""
    value = os.environ.get(name, "").strip()
    return parse_size(value, name) if value else default


def format_size(size: int) -> str:
    for unit, scale in (("GiB", 1 << 30), ("MiB", 1 << 20), ("KiB", 1 << 10)):
        if size >= scale:
            return f"{size / scale:.3g} {unit}"
    return f"{size} bytes"
