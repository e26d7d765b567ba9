"""The user's column order per file and table, kept in a JSON file.

The file is ``$VIME_CONFIG``, else ``$XDG_CONFIG_HOME/vime/config.json``
(``~/.config/vime/config.json``). It holds::

    {"version": 1, "tables": {"<file path>": {"<table>": {"order": [...], "hidden": [...]}}}}

Merging keeps the user's order, appends the columns that are new in the file
and drops the ones that vanished. Every write is atomic (temp file, then
``os.replace``) and re-reads the file first, so two editors sharing it keep
each other's tables. A corrupt or unreadable file logs a warning and gives
the defaults, never a failure; a corrupt one is kept aside as
``config.json.corrupt`` on the next save, and a failed write only logs.
"""

from __future__ import annotations

import json
import logging
import os
from pathlib import Path

from vime.atomic import write_text
from vime.paths import user_path

log = logging.getLogger("vime.config")

VERSION = 1


def config_path() -> Path:
    return user_path("VIME_CONFIG", "XDG_CONFIG_HOME", ".config", "vime", "config.json")


class Config:
    def __init__(self, path: Path, data: dict, corrupt: bool = False):
        self.path = path
        self.data = data
        self._corrupt = corrupt  # the file on disk is not a valid config

    @classmethod
    def load(cls, path: Path | None = None) -> Config:
        path = path or config_path()
        data, status = _read(path)
        return cls(path, data if data is not None else _empty(), status == CORRUPT)

    # -- reading ---------------------------------------------------------------
    def entry(self, file: str, table: str) -> dict:
        return self.data["tables"].get(file, {}).get(table, {})

    def merged(self, file: str, table: str, columns: list[str]) -> list[str]:
        """The table's columns in the user's order, hidden ones left out."""
        entry = self.entry(file, table)
        hidden = set(entry.get("hidden", []))
        return [c for c in merge_order(entry.get("order", []), columns) if c not in hidden]

    # -- writing ---------------------------------------------------------------
    def save(
        self,
        file: str,
        table: str,
        columns: list[str],
        order: list[str] | None = None,
        hidden: list[str] | None = None,
    ) -> dict:
        """Store a new order and/or hidden set; return the merged entry."""
        self._reload()  # keep what another process saved meanwhile
        entry = dict(self.entry(file, table))
        entry["order"] = merge_order(entry.get("order", []) if order is None else order, columns)
        known = set(columns)
        wanted_hidden = entry.get("hidden", []) if hidden is None else hidden
        entry["hidden"] = [c for c in dict.fromkeys(wanted_hidden) if c in known]
        self.data["tables"].setdefault(file, {})[table] = entry
        self._write()
        return entry

    def _reload(self) -> None:
        data, status = _read(self.path)
        if data is not None:
            self.data = data
        self._corrupt = self._corrupt or status == CORRUPT

    def _write(self) -> None:
        """Replace the file atomically; a failure is logged, the change kept in memory."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            if self._corrupt and self.path.exists():
                os.replace(self.path, self.path.with_name(self.path.name + ".corrupt"))
                log.warning("kept the corrupt config as %s.corrupt", self.path)
            self._corrupt = False
            write_text(self.path, json.dumps(self.data, indent=1, sort_keys=True) + "\n")
        except OSError as exc:
            log.warning("cannot save config %s (%s); the order lasts this session", self.path, exc)


def merge_order(saved: list[str], columns: list[str]) -> list[str]:
    """Saved order first (minus vanished columns), then columns new in the file."""
    present = set(columns)
    kept = [c for c in dict.fromkeys(saved) if c in present]
    placed = set(kept)
    return kept + [c for c in columns if c not in placed]


def _empty() -> dict:
    return {"version": VERSION, "tables": {}}


OK, MISSING, UNREADABLE, CORRUPT = "ok", "missing", "unreadable", "corrupt"


def _read(path: Path) -> tuple[dict | None, str]:
    """(data or None, status); only a missing or valid file gives data."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return _empty(), MISSING
    except OSError as exc:
        log.warning("cannot read config %s (%s); using defaults", path, exc)
        return None, UNREADABLE
    except UnicodeDecodeError as exc:
        log.warning("config %s is not UTF-8 (%s); using defaults", path, exc)
        return None, CORRUPT
    try:
        data = json.loads(text)
    except ValueError as exc:
        log.warning("config %s is not valid JSON (%s); using defaults", path, exc)
        return None, CORRUPT
    if not _valid(data):
        log.warning("config %s has an unexpected layout; using defaults", path)
        return None, CORRUPT
    return data, OK


def _valid(data) -> bool:
    if not isinstance(data, dict) or not isinstance(data.get("tables"), dict):
        return False
    for tables in data["tables"].values():
        if not isinstance(tables, dict):
            return False
        for entry in tables.values():
            if not isinstance(entry, dict):
                return False
            for key in ("order", "hidden"):
                value = entry.get(key, [])
                if not (isinstance(value, list) and all(isinstance(c, str) for c in value)):
                    return False
    return True
