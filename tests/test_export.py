"""Export through its functions: round trips, refusals, nothing left on failure."""

from __future__ import annotations

import os

import numpy as np
import pandas as pd
import pytest

from tests.frametable import FrameState, FrameTable
from vime.errors import ExportFailed, InvalidParams
from vime.export import export_table, format_for


@pytest.fixture
def frame():
    rows = 250
    return pd.DataFrame(
        {
            "x": np.linspace(0, 1, rows),
            "n": np.arange(rows, dtype="int64"),
            "flag": np.arange(rows) % 3 == 0,
            # Later rows are longer: the HDF5 string width must fit all chunks.
            "text": [f"t{'é' * (i // 10)}" for i in range(rows)],
        },
        index=pd.Index(np.arange(rows) * 2, name="idx"),
    )


@pytest.fixture
def state(frame):
    return FrameState(FrameTable("/result", frame))


def test_csv_round_trip_keeps_the_index(state, frame, tmp_path):
    target = tmp_path / "out.csv"
    reply = export_table(state, state.table("/result"), str(target), "csv", chunk_rows=40)
    assert reply["rows"] == len(frame) and reply["format"] == "csv"
    assert reply["bytes"] == target.stat().st_size
    back = pd.read_csv(target, index_col="idx")
    pd.testing.assert_frame_equal(back, frame, check_dtype=False)
    assert back["text"].tolist() == frame["text"].tolist()


def test_csv_skips_row_number_index(state, frame, tmp_path):
    state.add(FrameTable("/plain", frame.reset_index(drop=True)))
    target = tmp_path / "plain.csv"
    reply = export_table(state, state.table("/plain"), str(target), "csv", chunk_rows=40)
    assert (reply["rows"], reply["bytes"]) == (len(frame), target.stat().st_size)
    assert target.read_text().splitlines()[0] == "x,n,flag,text"


def test_hdf5_round_trip_with_growing_strings(state, frame, tmp_path):
    target = tmp_path / "out.h5"
    reply = export_table(state, state.table("/result"), str(target), "hdf5", chunk_rows=40)
    assert reply["key"] == "/result"
    pd.testing.assert_frame_equal(pd.read_hdf(target, "/result"), frame)


def test_empty_table_exports_its_header(state, frame, tmp_path):
    state.add(FrameTable("/none", frame.iloc[:0]))
    assert export_table(state, state.table("/none"), str(tmp_path / "e.csv"), "csv")["rows"] == 0
    assert (tmp_path / "e.csv").read_text().startswith("idx,x,n,flag,text")
    assert export_table(state, state.table("/none"), str(tmp_path / "e.h5"), "hdf5")["rows"] == 0
    assert list(pd.read_hdf(tmp_path / "e.h5", "/none").columns) == list(frame.columns)


def test_existing_file_needs_overwrite(state, tmp_path):
    target = tmp_path / "there.csv"
    target.write_text("keep me")
    with pytest.raises(ExportFailed, match="overwrite"):
        export_table(state, state.table("/result"), str(target), "csv")
    assert target.read_text() == "keep me"
    reply = export_table(state, state.table("/result"), str(target), "csv", overwrite=True)
    assert reply["rows"] == 250 and target.read_text().startswith("idx,x,n")


def test_never_writes_into_an_open_source(state, tmp_path, pandas_file):
    state.open(str(pandas_file))
    before = pandas_file.read_bytes()
    link = tmp_path / "link.h5"
    link.symlink_to(pandas_file)
    for target in (pandas_file, link):
        with pytest.raises(ExportFailed, match="open as a source"):
            export_table(state, state.table("/result"), str(target), "hdf5", overwrite=True)
    assert pandas_file.read_bytes() == before
    state.close()


def test_missing_folder_and_directory_target(state, tmp_path):
    with pytest.raises(ExportFailed, match="no such directory"):
        export_table(state, state.table("/result"), str(tmp_path / "no" / "x.csv"), "csv")
    with pytest.raises(ExportFailed, match="is a directory"):
        export_table(state, state.table("/result"), str(tmp_path), "csv")


class FailingTable(FrameTable):
    """Fails on its third chunk, after some rows are written."""

    def chunks(self, columns=None, start=0, stop=None, chunk_rows=10, plane=None):
        for number, chunk in enumerate(super().chunks(columns, start, stop, chunk_rows, plane)):
            if number == 2 and columns is None:
                raise OSError("disk on fire")
            yield chunk


@pytest.mark.parametrize("fmt", ["csv", "hdf5"])
def test_failure_leaves_nothing_behind(state, frame, tmp_path, fmt):
    table = FailingTable("/bad", frame)
    target = tmp_path / f"bad.{fmt}"
    with pytest.raises(ExportFailed, match="disk on fire"):
        export_table(state, table, str(target), fmt, chunk_rows=40)
    assert os.listdir(tmp_path) == []


def test_interrupt_leaves_nothing_behind(state, frame, tmp_path):
    class Interrupted(FailingTable):
        def chunks(self, *args, **kwargs):
            yield from super().chunks(*args, **kwargs)
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        export_table(state, Interrupted("/i", frame), str(tmp_path / "i.csv"), "csv", 1000)
    assert os.listdir(tmp_path) == []


def test_format_from_extension():
    assert format_for("a/b.CSV", None) == "csv"
    assert format_for("a/b.hdf5", None) == "hdf5"
    assert format_for("a/b.txt", "csv") == "csv"
    with pytest.raises(InvalidParams, match="pass format"):
        format_for("a/b.txt", None)
