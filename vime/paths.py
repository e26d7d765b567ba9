"""Where vime keeps its files: an explicit setting, else the XDG folder, else its default."""

from __future__ import annotations

import os
from pathlib import Path


def user_path(explicit: str, xdg: str, fallback: str, *parts: str) -> Path:
    """``$explicit`` as given, else ``$xdg/parts``, else ``~/fallback/parts``.

    e.g. ``user_path("VIME_CONFIG", "XDG_CONFIG_HOME", ".config", "vime", "config.json")``.
    """
    given = os.environ.get(explicit)
    if given:
        return Path(given).expanduser()
    base = os.environ.get(xdg) or os.path.join(os.path.expanduser("~"), fallback)
    return Path(base, *parts)
