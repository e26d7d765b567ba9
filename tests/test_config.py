"""The column-order config: location, merge semantics, atomic writes, bad files."""

from __future__ import annotations

import json
import logging
import os

import pytest

from vime import config as config_module
from vime.config import Config, config_path, merge_order

COLUMNS = ["a", "b", "c", "d"]


@pytest.fixture
def path(tmp_path):
    return tmp_path / "vime" / "config.json"


def test_location_is_vime_config_else_xdg_else_home(tmp_path, monkeypatch):
    monkeypatch.setenv("VIME_CONFIG", str(tmp_path / "mine.json"))
    assert config_path() == tmp_path / "mine.json"
    monkeypatch.delenv("VIME_CONFIG")
    monkeypatch.setenv("XDG_CONFIG_HOME", str(tmp_path / "xdg"))
    assert config_path() == tmp_path / "xdg" / "vime" / "config.json"
    monkeypatch.delenv("XDG_CONFIG_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert config_path() == tmp_path / "home" / ".config" / "vime" / "config.json"


def test_load_uses_the_environment(tmp_path, monkeypatch):
    monkeypatch.setenv("VIME_CONFIG", str(tmp_path / "env.json"))
    config = Config.load()
    config.save("/f.h5", "/t", COLUMNS, order=["b"])
    assert (
        json.loads((tmp_path / "env.json").read_text())["tables"]["/f.h5"]["/t"]["order"][0] == "b"
    )


def test_merge_keeps_user_order_appends_new_and_drops_vanished():
    assert merge_order(["c", "gone", "a"], COLUMNS) == ["c", "a", "b", "d"]
    assert merge_order([], COLUMNS) == COLUMNS
    assert merge_order(["d", "d", "a"], COLUMNS) == ["d", "a", "b", "c"]


def test_without_a_file_the_order_is_the_files(path):
    config = Config.load(path)
    assert config.merged("/f.h5", "/t", COLUMNS) == COLUMNS
    assert not path.exists()  # reading never writes


def test_save_persists_order_and_hidden_per_file_and_table(path):
    config = Config.load(path)
    entry = config.save("/f.h5", "/t", COLUMNS, order=["c", "a"], hidden=["d"])
    assert entry == {"order": ["c", "a", "b", "d"], "hidden": ["d"]}
    again = Config.load(path)
    assert again.merged("/f.h5", "/t", COLUMNS) == ["c", "a", "b"]
    assert again.merged("/f.h5", "/other", COLUMNS) == COLUMNS
    assert again.merged("/g.h5", "/t", COLUMNS) == COLUMNS


def test_order_and_hidden_are_saved_independently(path):
    config = Config.load(path)
    config.save("/f.h5", "/t", COLUMNS, order=["d"])
    config.save("/f.h5", "/t", COLUMNS, hidden=["a"])
    assert config.merged("/f.h5", "/t", COLUMNS) == ["d", "b", "c"]
    config.save("/f.h5", "/t", COLUMNS, hidden=[])
    assert config.merged("/f.h5", "/t", COLUMNS) == ["d", "a", "b", "c"]


def test_merge_applies_when_the_file_changes(path):
    config = Config.load(path)
    config.save("/f.h5", "/t", COLUMNS, order=["c", "b"], hidden=["a"])
    assert config.merged("/f.h5", "/t", ["a", "b", "e"]) == ["b", "e"]


def test_two_editors_sharing_the_file_keep_each_others_tables(path):
    first, second = Config.load(path), Config.load(path)
    first.save("/f.h5", "/one", COLUMNS, order=["d"])
    second.save("/f.h5", "/two", COLUMNS, order=["c"])
    final = Config.load(path)
    assert final.merged("/f.h5", "/one", COLUMNS)[0] == "d"
    assert final.merged("/f.h5", "/two", COLUMNS)[0] == "c"


def test_writes_are_atomic_and_leave_no_temp_files(path, monkeypatch):
    config = Config.load(path)
    config.save("/f.h5", "/t", COLUMNS, order=["b"])
    before = path.read_bytes()
    replaced = []
    real_replace = os.replace

    def failing_replace(source, target):
        replaced.append((source, target))
        raise OSError(28, "No space left on device")

    monkeypatch.setattr(config_module.os, "replace", failing_replace)
    config.save("/f.h5", "/t", COLUMNS, order=["c"])  # logs, does not raise
    monkeypatch.setattr(config_module.os, "replace", real_replace)
    assert replaced and str(replaced[0][1]) == str(path)
    assert path.read_bytes() == before  # the old file is whole
    assert sorted(p.name for p in path.parent.iterdir()) == ["config.json"]
    assert config.merged("/f.h5", "/t", COLUMNS)[0] == "c"  # kept for the session


@pytest.mark.parametrize(
    "content",
    [b"{not json", b"[1, 2]", b'{"tables": {"/f": {"/t": {"order": "abc"}}}}', b"\xff\xfe"],
)
def test_corrupt_config_warns_gives_defaults_and_is_kept_aside(path, content, caplog):
    path.parent.mkdir(parents=True)
    path.write_bytes(content)
    with caplog.at_level(logging.WARNING, logger="vime.config"):
        config = Config.load(path)
    assert config.merged("/f.h5", "/t", COLUMNS) == COLUMNS
    assert any("using defaults" in record.message for record in caplog.records)
    config.save("/f.h5", "/t", COLUMNS, order=["b"])
    assert path.with_name("config.json.corrupt").read_bytes() == content
    assert Config.load(path).merged("/f.h5", "/t", COLUMNS)[0] == "b"


def test_unreadable_config_warns_and_never_fails(path, caplog):
    path.mkdir(parents=True)  # a directory where the file should be: reads and writes fail
    with caplog.at_level(logging.WARNING, logger="vime.config"):
        config = Config.load(path)
        entry = config.save("/f.h5", "/t", COLUMNS, order=["d"])
    assert entry["order"][0] == "d"
    assert config.merged("/f.h5", "/t", COLUMNS)[0] == "d"
    messages = " ".join(record.message for record in caplog.records)
    assert "cannot read config" in messages and "cannot save config" in messages
    assert path.is_dir()  # not renamed away: it was unreadable, not corrupt
