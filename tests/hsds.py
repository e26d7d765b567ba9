"""A real HSDS service for the tests, and local fixture files copied into its domains.

``Service`` runs ``hsds`` (the pip package, no Docker) with POSIX storage under
a folder of the test's and reachable only through a unix socket: no port, so
two services on one host (two xdist workers) never share a data node. It is
ready when ``/about`` says READY (its own READY line comes after a fixed
wait), and stops with SIGKILL to its process group (SIGTERM to the parent
would orphan its nodes; its storage is scratch, so there is nothing to flush).
Its background scans are made frequent (``SCAN_ENV``), so that a rescan, which
the tests ask for after every write, answers in about a second, not three.

``copy_to_domain`` writes a local HDF5 file into a domain with h5pyd directly,
group by group and dataset by dataset (much faster than ``hsload``), leaving
out PyTables' index containers, which only PyTables reads and which multiply
the requests.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from urllib.parse import quote

USER, PASSWORD = "u", "vime-test-Pass-3141"  # a password no log may hold
BUCKET = "vimetest"
HOME = f"/home/{USER}"
SOCKET_PATH_LIMIT = 63  # characters of a unix socket path that every platform accepts
READY_TIMEOUT = 120.0  # seconds; about 2 s on an idle machine
START_ATTEMPTS = 3
WRITE_ROWS = 250_000  # rows per write request when copying a large dataset
# hsds config overrides (environment variables): objects are written to storage at the
# next sync (each second), and the scan loop naps 0.1 s, not 1 s, after work.
SCAN_ENV = {"S3_AGE_TIME": "0", "SCAN_SLEEP_TIME": "1", "SCAN_WAIT_TIME": "1"}


def hsds_command() -> str | None:
    """The hsds launcher of this interpreter's environment, else the one on PATH."""
    here = Path(sys.executable).parent / "hsds"
    return str(here) if here.exists() else shutil.which("hsds")


class Service:
    """One HSDS instance: its storage under ``folder``, its socket in a short temp folder."""

    def __init__(self, folder: Path):
        self.folder = folder
        self.root = folder / "storage"
        self.root.mkdir(parents=True)
        # A socket path longer than ~100 bytes cannot be bound; pytest's tmp_path is long.
        self.sockets = Path(tempfile.mkdtemp(prefix="vh"))
        self.socket = self.sockets / "sn_1.sock"
        assert len(str(self.socket)) < SOCKET_PATH_LIMIT, self.socket
        self.log = folder / "hsds.log"
        self.endpoint = "http+unix://" + quote(str(self.socket), safe="")
        self.process: subprocess.Popen | None = None

    @property
    def env(self) -> dict[str, str]:
        """What a vime-rpc (or h5pyd) needs to reach this service as the test user."""
        return {"HS_ENDPOINT": self.endpoint, "HS_USERNAME": USER, "HS_PASSWORD": PASSWORD}

    def start(self) -> Service:
        """Start the service and wait until it is READY.

        hsds gives its nodes a fixed 10 s to make their sockets, which a loaded
        machine can miss; then it exits, and it is started again.
        """
        for _attempt in range(START_ATTEMPTS):
            self._launch()
            if self._wait_ready():
                self._make_home()
                return self
            self.kill()
        raise RuntimeError(f"hsds did not start in {START_ATTEMPTS} attempts: {self.tail()}")

    def _launch(self) -> None:
        command = [hsds_command(), "--root_dir", str(self.root), "--bucket_name", BUCKET,
                   "--hs_username", USER, "--hs_password", PASSWORD, "--count", "1",
                   "--socket_dir", str(self.sockets), "--logfile", str(self.log)]  # fmt: skip
        # hsds 1.0 makes the --bucket_name folder but its nodes take the bucket from
        # their config, which BUCKET_NAME sets; LOG_LEVEL keeps its log small. The
        # service is not vime: coverage (bin/vime-test --all) does not trace it.
        env = {key: value for key, value in os.environ.items() if not key.startswith("COVERAGE_")}
        env.update(BUCKET_NAME=BUCKET, LOG_LEVEL="ERROR", **SCAN_ENV)
        with open(self.folder / "hsds.out", "ab") as out:
            self.process = subprocess.Popen(
                command, stdout=out, stderr=subprocess.STDOUT, env=env, start_new_session=True
            )

    def _wait_ready(self) -> bool:
        """Whether /about said READY before the process exited (or the deadline)."""
        deadline = time.monotonic() + READY_TIMEOUT
        while time.monotonic() < deadline and self.process.poll() is None:
            if self.about().get("state") == "READY":
                return True
            time.sleep(0.1)
        return False

    def about(self) -> dict:
        """GET /about over the socket; {} while the service node is not answering."""
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(5)
                conn.connect(str(self.socket))
                conn.sendall(b"GET /about HTTP/1.0\r\nHost: localhost\r\n\r\n")
                reply = b""
                while chunk := conn.recv(65536):
                    reply += chunk
        except OSError:
            return {}
        head, _, body = reply.partition(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.") or b" 200 " not in head.split(b"\r\n")[0]:
            return {}
        try:
            return json.loads(body)
        except ValueError:
            return {}

    def _make_home(self) -> None:
        """/home/u/; the data node may come up a moment after /about says READY."""
        import h5pyd

        deadline = time.monotonic() + READY_TIMEOUT
        for folder in ("/home/", f"{HOME}/"):
            while True:
                try:
                    h5pyd.Folder(folder, mode="x", **self.credentials())
                    break
                except FileExistsError:
                    break
                except OSError as exc:
                    if exc.errno not in (500, 503) or time.monotonic() > deadline:
                        raise
                    time.sleep(0.1)

    def credentials(self) -> dict[str, str]:
        return {"endpoint": self.endpoint, "username": USER, "password": PASSWORD}

    def tail(self) -> str:
        text = ""
        for name in ("hsds.out", "hsds.log"):
            path = self.folder / name
            if path.exists():
                text += path.read_text(errors="replace")[-2000:]
        return text

    def pause(self) -> None:
        """Freeze every node of the service (requests then hang until ``resume``)."""
        os.killpg(self.process.pid, signal.SIGSTOP)

    def resume(self) -> None:
        os.killpg(self.process.pid, signal.SIGCONT)

    def stop(self) -> None:
        self.kill()
        shutil.rmtree(self.sockets, ignore_errors=True)

    def kill(self) -> None:
        """SIGKILL to every process of the service: its connections drop at once."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait()
        self.process = None
        for stale in self.sockets.glob("*.sock"):
            stale.unlink()

    # -- domains -----------------------------------------------------------------
    def domain_url(self, domain: str) -> str:
        """The domain as an http+unix:// URL: the endpoint, then the domain's path."""
        return f"{self.endpoint}{domain}"

    def copy(self, local: Path, name: str | None = None) -> str:
        """Copy a local file into /home/u/<name>, then have the service scan it (its size
        and last change, which vime's results keep, and its metadata in one request)."""
        name = name or local.name
        return self.copy_many({name: local})[name]

    def copy_many(self, files: dict[str, Path]) -> dict[str, str]:
        """``copy`` of each name's local file, the scans waited for together."""
        domains = {name: f"{HOME}/{name}" for name in files}
        for name, local in files.items():
            copy_to_domain(local, domains[name], self.credentials())
        with ThreadPoolExecutor(len(domains)) as pool:
            list(pool.map(self.rescan, domains.values()))
        return domains

    def rescan(self, domain: str) -> None:
        """HSDS's own rescan request, which answers when the scan is complete."""
        import h5pyd

        with h5pyd.File(domain, "a", **self.credentials()) as f:
            reply = f.id.db.plugin.http_conn.PUT("/", params={"rescan": 1})
        assert reply.status_code in (200, 204), reply.status_code


def copy_to_domain(local: Path, domain: str, credentials: dict) -> None:
    """Every group, dataset and attribute of ``local`` written into ``domain`` (replaced)."""
    import h5py
    import h5pyd
    import hdf5plugin  # noqa: F401 - the local file's compressed datasets

    with h5py.File(local, "r") as source, h5pyd.File(domain, "w", **credentials) as target:
        _copy_group(source, target)


def _copy_group(source, target) -> None:
    import h5py

    _copy_attrs(source, target)
    for key in source:
        node = source.get(key)
        if isinstance(node, h5py.Group):
            if _is_index_container(node):
                continue
            _copy_group(node, target.create_group(key))
        elif isinstance(node, h5py.Dataset):
            _copy_dataset(node, target, key)


def _copy_dataset(node, target, key: str) -> None:
    import h5pyd

    if node.shape is None:
        dataset = target.create_dataset(key, data=h5pyd.Empty(node.dtype))
    elif node.size == 0 or node.ndim == 0:
        data = node[()] if node.size else None
        dataset = target.create_dataset(key, shape=node.shape, dtype=node.dtype, data=data)
    elif _is_vlen_array(node):  # h5pyd writes such elements (a pickle's bytes) one by one
        dataset = target.create_dataset(key, shape=node.shape, dtype=node.dtype)
        for i in range(node.shape[0]):
            dataset[i] = node[i]
    else:
        chunks = node.chunks and tuple(
            min(c, n) for c, n in zip(node.chunks, node.shape, strict=True)
        )
        dataset = target.create_dataset(key, shape=node.shape, dtype=node.dtype, chunks=chunks)
        for start in range(0, node.shape[0], WRITE_ROWS):
            stop = min(node.shape[0], start + WRITE_ROWS)
            dataset[start:stop] = node[start:stop]
    _copy_attrs(node, dataset)


def _copy_attrs(source, target) -> None:
    import h5py
    import h5pyd

    for key in source.attrs:
        value = source.attrs[key]
        if isinstance(value, h5py.Empty):
            value = h5pyd.Empty(value.dtype)
        target.attrs[key] = value


def _is_vlen_array(node) -> bool:
    import h5py

    base = h5py.check_vlen_dtype(node.dtype)
    return base is not None and base not in (str, bytes)


def _is_index_container(group) -> bool:
    return group.attrs.get("CLASS") == b"TINDEX"
