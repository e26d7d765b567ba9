"""Programs that write an HDF5 file while vime reads it, for the tests of live files.

``python -m tests.livewriters KIND PATH ROWS`` creates PATH, writes ROWS rows,
flushes and prints ``rows N T`` (N rows in the file, T the time of the flush).
Then it reads commands on stdin, one a line:

* ``append N``: append N rows, flush, print ``rows TOTAL T``;
* ``group NAME``: (pandas) append the rows written so far under a new key;
* ``remove NAME``: (pandas) remove a key;
* ``close``: close the file, print ``closed``, exit 0.

Row ``i`` holds values that follow from ``i`` alone (``expected_*``), so that a
reader can tell a right row from a wrong one, and the file's final contents
from what was written. KIND is one of:

* ``swmr``: h5py in SWMR mode (``libver="latest"``), a 1-D dataset ``/x`` and a
  2-D dataset ``/m`` of 3 columns, both appended to;
* ``pandas``: ``HDFStore.append`` of a frame under ``/data``, without SWMR;
* ``pytables``: a PyTables table ``/events`` appended to, without SWMR;
* ``latest``: h5py with ``libver="latest"`` and no SWMR: no reader may open it.

``LiveWriter`` runs one as a subprocess and talks to it.
"""

from __future__ import annotations

import os
import queue
import subprocess
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHUNK = 1000


# -- what row i holds ---------------------------------------------------------------
def expected_x(rows: range):
    import numpy as np

    return np.arange(rows.start, rows.stop, dtype="float64") * 0.5


def expected_m(rows: range):
    import numpy as np

    index = np.arange(rows.start, rows.stop, dtype="float64")[:, None]
    return index * np.array([1.0, 2.0, 3.0])


def expected_frame(rows: range):
    import numpy as np
    import pandas as pd

    index = np.arange(rows.start, rows.stop)
    return pd.DataFrame({"a": index.astype("int64"), "b": index * 0.25},
                        index=pd.RangeIndex(rows.start, rows.stop, name="row"))  # fmt: skip


def expected_events(rows: range):
    import numpy as np

    records = np.zeros(len(rows), dtype=[("id", "i8"), ("value", "f8")])
    records["id"] = np.arange(rows.start, rows.stop)
    records["value"] = records["id"] * 0.5
    return records


# -- the writers --------------------------------------------------------------------
class SwmrWriter:
    SWMR = True

    def __init__(self, path: str):
        import h5py

        self.file = h5py.File(path, "w", libver="latest")
        self.x = self.file.create_dataset("x", shape=(0,), maxshape=(None,), chunks=(CHUNK,),
                                          dtype="f8")  # fmt: skip
        self.m = self.file.create_dataset("m", shape=(0, 3), maxshape=(None, 3),
                                          chunks=(CHUNK, 3), dtype="f8")  # fmt: skip
        if self.SWMR:
            self.file.swmr_mode = True
        self.rows = 0

    def append(self, count: int) -> None:
        rows = range(self.rows, self.rows + count)
        for dataset, values in ((self.x, expected_x(rows)), (self.m, expected_m(rows))):
            dataset.resize(rows.stop, axis=0)
            dataset[rows.start : rows.stop] = values
            dataset.flush()
        self.rows = rows.stop

    def close(self) -> None:
        self.file.close()


class LatestWriter(SwmrWriter):
    """libver='latest' without SWMR: the superblock says 'open for write'."""

    SWMR = False

    def append(self, count: int) -> None:
        super().append(count)
        self.file.flush()


class PandasWriter:
    def __init__(self, path: str):
        import pandas as pd

        self.store = pd.HDFStore(path, "w")
        self.rows = 0

    def append(self, count: int) -> None:
        rows = range(self.rows, self.rows + count)
        self.store.append("data", expected_frame(rows), index=False)
        self.store.flush()
        self.rows = rows.stop

    def group(self, name: str) -> None:
        self.store.append(name, expected_frame(range(self.rows)), index=False)
        self.store.flush()

    def remove(self, name: str) -> None:
        self.store.remove(name)
        self.store.flush()

    def close(self) -> None:
        self.store.close()


class TablesWriter:
    def __init__(self, path: str):
        import tables

        self.file = tables.open_file(path, "w")
        self.table = self.file.create_table("/", "events", expected_events(range(0)),
                                            chunkshape=(CHUNK,))  # fmt: skip
        self.rows = 0

    def append(self, count: int) -> None:
        rows = range(self.rows, self.rows + count)
        self.table.append(expected_events(rows))
        self.table.flush()
        self.file.flush()
        self.rows = rows.stop

    def close(self) -> None:
        self.file.close()


WRITERS = {"swmr": SwmrWriter, "latest": LatestWriter, "pandas": PandasWriter,
           "pytables": TablesWriter}  # fmt: skip


def say(line: str) -> None:
    """A line to the test, at once: stdout is how the writer answers."""
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def main() -> None:
    kind, path, rows = sys.argv[1], sys.argv[2], int(sys.argv[3])
    writer = WRITERS[kind](path)
    writer.append(rows)
    say(f"rows {writer.rows} {time.time():.6f}")
    for line in sys.stdin:
        command, _, argument = line.strip().partition(" ")
        if command == "append":
            writer.append(int(argument))
            say(f"rows {writer.rows} {time.time():.6f}")
        elif command in ("group", "remove"):
            getattr(writer, command)(argument)
            say(f"{command} {argument}")
        elif command == "close":
            writer.close()
            say("closed")
            return
    writer.close()


# -- the writer as a subprocess -------------------------------------------------------
class LiveWriter:
    """A writer subprocess: ``append`` returns once the rows are flushed."""

    def __init__(self, kind: str, path: Path, rows: int = 1000, timeout: float = 60):
        env = {key: value for key, value in os.environ.items()
               if key != "HDF5_USE_FILE_LOCKING"}  # fmt: skip  # writers lock, as by default
        self.kind, self.path, self.timeout = kind, path, timeout
        self.process = subprocess.Popen(
            [sys.executable, "-m", "tests.livewriters", kind, str(path), str(rows)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=ROOT,
            env=env,
            text=True,
        )
        self._lines: queue.Queue = queue.Queue()
        threading.Thread(target=self._read, daemon=True).start()
        self.rows, self.flushed_at = self._rows()

    def _read(self) -> None:
        for line in self.process.stdout:
            self._lines.put(line.strip())
        self._lines.put(None)

    def _line(self) -> str:
        try:
            line = self._lines.get(timeout=self.timeout)
        except queue.Empty:
            raise AssertionError(
                f"the {self.kind} writer said nothing in {self.timeout} s"
            ) from None
        if line is None:
            raise AssertionError(f"the {self.kind} writer exited: {self.process.stderr.read()}")
        return line

    def _rows(self) -> tuple[int, float]:
        word, rows, flushed_at = self._line().split()
        assert word == "rows"
        return int(rows), float(flushed_at)

    def send(self, command: str) -> None:
        self.process.stdin.write(command + "\n")
        self.process.stdin.flush()

    def append(self, count: int) -> int:
        self.send(f"append {count}")
        self.rows, self.flushed_at = self._rows()
        return self.rows

    def group(self, name: str) -> None:
        self.send(f"group {name}")
        assert self._line() == f"group {name}"

    def remove(self, name: str) -> None:
        self.send(f"remove {name}")
        assert self._line() == f"remove {name}"

    def finish(self) -> str:
        """Close the file; return the writer's stderr (it must exit 0)."""
        self.send("close")
        assert self._line() == "closed"
        self.process.stdin.close()
        code = self.process.wait(self.timeout)
        errors = self.process.stderr.read()
        assert code == 0, errors
        return errors

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


if __name__ == "__main__":
    main()
