"""HSDS domains, read through h5pyd (the optional extra ``vime[hsds]``).

A domain is a ``Source`` like a file: the same walk, the same tables, the
same pandas reader (vime.loaders.pandas_h5). Its nodes are thin wrappers
around h5pyd's that offer the part of h5py's API the loaders use (see
vime.loaders.nodes), and every way h5pyd differs from h5py is handled here:

- **Errors.** h5pyd turns a refused connection into ``OSError("Connection
  Error")``, a timeout into ``OSError("Unexpected exception")`` and an HTTP
  status into ``OSError(status, reason)``. Each becomes one vime error that
  names the domain, the endpoint and the reason (``remote_error``); a
  dropped connection mid-job is one such error.
- **Ids.** h5pyd's object ids do not hash; a wrapper's ``id`` is the uuid.
- **What is read once.** Opening a domain fetches its whole structure in one
  or two requests, and h5pyd keeps it: links, shapes, dtypes and attributes
  are the ones of ``open`` (as a file's listing is), and a page is one
  request per dataset it reads, for its rows alone. Values are read afresh on
  each page, so values another client writes show on the next page; new
  datasets, a new shape or new attributes show once the domain is opened
  again (``Source.sync`` has no file to watch). h5pyd gives ``h5pyd.Empty``
  for an empty attribute, which the wrappers give as ``h5py.Empty``.
- **Latency.** Each request costs a round trip. A read of many rows is cut
  along its rows into pieces of whole HSDS chunks, fetched
  ``VIME_REMOTE_CONCURRENCY`` (default 4) at a time by a few threads, which
  also keeps the service's data nodes busy in parallel.
- **Connections.** requests_unixsocket keeps one pool of connections per URL,
  query included, so each page to an http+unix:// endpoint opened a socket:
  the domain's session gets one pool per socket (``_one_pool_per_socket``).
- **Waiting.** h5pyd's defaults (10 retries with back-off, a 180 s timeout)
  would hold a request for minutes when the service is down: 2 retries, and
  ``VIME_REMOTE_TIMEOUT`` seconds (default 60) per request.
- **Logging.** Opening a domain sets the root logger's level to ERROR, and
  h5pyd logs each request with its params (an API key among them): the level
  is put back, and h5pyd's and urllib3's records never reach vime's log.
- **PyTables** cannot open a domain, so a pandas layout that vime's own
  reader does not know cannot be read (``store()`` says so). h5pyd's
  ``Table.read_where`` and ``Dataset.query`` are never called (they give
  wrong results, and hang the data node on pandas block fields): search,
  count and compute read chunks and filter them in vime, as for files.

The endpoint, user and password come from h5pyd's settings (HS_ENDPOINT,
HS_USERNAME, HS_PASSWORD, ~/.hscfg) or from the URL. vime stores none of
them, and names an endpoint without the user or password a URL may hold.
"""

from __future__ import annotations

import contextlib
import functools
import itertools
import logging
import math
import os
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import ThreadPoolExecutor

import h5py
import numpy as np

from vime.errors import FileMissing, InvalidParams, ReadFailed, VimeError
from vime.loaders import Source

try:
    import h5pyd
except ImportError:  # the optional extra: domains then fail with a message naming it
    h5pyd = None

EXTRA = "pip install 'vime[hsds]'"
DEFAULT_CONCURRENCY = 4
DEFAULT_TIMEOUT = 60.0  # seconds per request
RETRIES = 2  # h5pyd's 10, with back-off, wait minutes for a service that is down
PIECE_BYTES = 1 << 20  # a read is cut into pieces of about this size (whole HSDS chunks),
PIECE_CHUNKS = 16  # of at most this many chunks: HSDS's tasks per node per request
BUSY, BUSY_RETRIES, BUSY_PAUSE = 503, 6, 0.05  # HSDS's "too many tasks": wait and ask again
MISSING = (404, 410)
UNIX_SCHEME = "http+unix://"


def concurrency_setting() -> int:
    """Requests in flight for one read: VIME_REMOTE_CONCURRENCY if a positive integer."""
    value = os.environ.get("VIME_REMOTE_CONCURRENCY", "")
    return int(value) if value.isdigit() and int(value) > 0 else DEFAULT_CONCURRENCY


def timeout_setting() -> float:
    """Seconds to wait for one answer: VIME_REMOTE_TIMEOUT if a positive number."""
    try:
        value = float(os.environ.get("VIME_REMOTE_TIMEOUT", ""))
    except ValueError:
        return DEFAULT_TIMEOUT
    return value if value > 0 else DEFAULT_TIMEOUT


# -- opening ----------------------------------------------------------------------------
def open_domain(path: str) -> RemoteSource:
    """Open the domain ``path`` names (see vime.domains) read-only."""
    if _has_password(path):  # vime would keep it in its listings, results and log
        raise InvalidParams(
            f"{_scrubbed(path)}: put the user and password in HS_USERNAME and HS_PASSWORD "
            "(or ~/.hscfg), not in the URL"
        )
    with _opening(path):
        handle = _file(path)
    _one_pool_per_socket(handle, concurrency_setting())
    return RemoteSource(path, RemoteFile(handle, path))


def folder_entries(folder: str) -> list[dict]:
    """The domains and folders in an HSDS folder (``hdf5://home/u/``), by name:
    [{name, kind: "folder" | "domain"}]. h5pyd's Folder reads only hdf5:// names."""
    if not (folder.startswith("hdf5://") and folder.endswith("/")):
        raise InvalidParams(f"{folder!r}: a folder is hdf5://... ending in /, e.g. hdf5://home/u/")
    with _opening(folder):
        listing = h5pyd.Folder(folder, mode="r", retries=RETRIES)
        try:
            entries = [{"name": name, "kind": _kind(listing[name])} for name in listing]
        finally:
            listing.close()
    return sorted(entries, key=lambda entry: entry["name"])


def _kind(entry: dict | None) -> str:
    return "folder" if entry and entry.get("class") == "folder" else "domain"


def domain_identity(path: str) -> dict:
    """What tells that a domain changed: its size and last change, as HSDS's scan of it
    reports them (a scan runs some seconds after a change)."""
    with _opening(path), _file(path) as f:
        return {"size": int(f.total_size), "mtime_ns": int(float(f.modified) * 1e9)}


def _file(path: str):
    """h5pyd's File, read-only, with vime's retries and timeout."""
    return _file_class()(path, "r", retries=RETRIES, timeout=timeout_setting())


@functools.cache
def _file_class() -> type:
    """h5pyd's File, but handing ``retries`` and ``timeout`` to the connection, which
    h5pyd 1.0's File takes and leaves out (its connection keeps 10 and 180 s)."""

    class File(h5pyd.File):
        def __init__(self, domain, mode, retries, timeout):
            self._settings = {"retries": retries, "timeout": timeout}
            super().__init__(domain, mode, retries=retries, timeout=timeout)

        def _init_db(self, domain, **kwargs):
            return super()._init_db(domain, **{**kwargs, **self._settings})

    return File


def _one_pool_per_socket(handle, connections: int) -> None:
    """Keep the connections to an http+unix:// endpoint open from one request to the next.

    requests_unixsocket, h5pyd's way to a unix socket, keeps a pool of
    connections per URL, its query included: each page (a new ``select``) opened
    a socket, and closed one 25 pages on. One pool per socket instead, of as
    many connections as a read has requests in flight.
    """
    try:
        session = handle.id.db.plugin.http_conn._s
    except AttributeError:  # another h5pyd: its connections are its own
        return
    if UNIX_SCHEME in getattr(session, "adapters", {}):
        session.mount(UNIX_SCHEME, _socket_adapter_class()(connections))


@functools.cache
def _socket_adapter_class() -> type:
    from urllib.parse import urlsplit

    import urllib3
    from requests_unixsocket.adapters import UnixAdapter, UnixHTTPConnectionPool

    class SocketPool(UnixHTTPConnectionPool):
        def __init__(self, socket_url: str, timeout, connections: int):
            urllib3.HTTPConnectionPool.__init__(
                self, "localhost", timeout=timeout, maxsize=connections
            )
            self.socket_path = socket_url  # what UnixHTTPConnection takes the path from
            self.timeout = timeout

    class SocketAdapter(UnixAdapter):
        def __init__(self, connections: int):
            super().__init__()
            self.connections = connections

        def get_connection(self, url, proxies=None):
            socket_url = f"{UNIX_SCHEME}{urlsplit(url).netloc}/"
            with self.pools.lock:
                pool = self.pools.get(socket_url)
                if pool is None:
                    pool = SocketPool(socket_url, self.timeout, self.connections)
                    self.pools[socket_url] = pool
            return pool

    return SocketAdapter


@contextlib.contextmanager
def _opening(path: str) -> Iterator[None]:
    """A request of h5pyd about ``path``: its errors made vime's, the log kept as it was."""
    if h5pyd is None:
        raise ReadFailed(f"{path}: opening an HSDS domain needs h5pyd: {EXTRA}")
    _keep_out_of_the_log()
    root = logging.getLogger()
    level = root.level  # h5pyd.File sets the root logger's level to ERROR
    try:
        yield
    except VimeError:
        raise
    except Exception as exc:
        raise remote_error(exc, path, endpoint_of(path)) from None
    finally:
        root.setLevel(level)


_QUIET = ("h5pyd", "urllib3")  # they log request URLs and params: an API key is one


def _keep_out_of_the_log() -> None:
    for name in _QUIET:
        logger = logging.getLogger(name)
        logger.propagate = False
        if not any(isinstance(h, logging.NullHandler) for h in logger.handlers):
            logger.addHandler(logging.NullHandler())  # not logging's last resort either
    root = logging.getLogger()
    if _from_h5pyd not in root.filters:
        root.addFilter(_from_h5pyd)  # h5pyd logs to the root logger too


def _from_h5pyd(record: logging.LogRecord) -> bool:
    """False for a record h5pyd (or h5json under it) made on the root logger."""
    path = record.pathname.replace(os.sep, "/")
    return "/h5pyd/" not in path and "/h5json/" not in path


def endpoint_of(path: str) -> str:
    """The endpoint serving the domain, as messages name it (never with a password)."""
    for scheme in ("http+unix://", "http://", "https://"):
        if path.startswith(scheme):
            rest = path[len(scheme) :]
            return scheme + _without_user(rest.split("/", 1)[0])
    configured = ""
    if h5pyd is not None:
        with contextlib.suppress(Exception):
            configured = h5pyd.get_config().get("hs_endpoint") or ""
    configured = configured or os.environ.get("HS_ENDPOINT", "")
    return _scrubbed(configured) if configured else "no endpoint set"


def _without_user(host: str) -> str:
    return host.rsplit("@", 1)[-1]


def _has_password(path: str) -> bool:
    """An http(s):// URL with user information (``user:password@host``)."""
    for scheme in ("http://", "https://"):
        if path.startswith(scheme):
            return "@" in path[len(scheme) :].split("/", 1)[0]
    return False


def _scrubbed(path: str) -> str:
    scheme, _, rest = path.partition("://")
    host, slash, tail = rest.partition("/")
    return f"{scheme}://{_without_user(host)}{slash}{tail}"


# -- errors -------------------------------------------------------------------------------
def remote_error(exc: BaseException, where: str, endpoint: str) -> VimeError:
    """One vime error for whatever h5pyd (or requests under it) raised."""
    service = f"HSDS at {endpoint}"
    status = _status(exc)
    if status in MISSING:
        return FileMissing(f"{where}: no such domain on {service} ({_text(exc)})")
    if status == 401:
        return FileMissing(
            f"{where}: {service} refused the user name or password (401): "
            "set HS_USERNAME and HS_PASSWORD, or hs_username and hs_password in ~/.hscfg"
        )
    if status == 403:
        return FileMissing(f"{where}: {service}: this user may not read the domain (403)")
    if _caused_by(exc, _timeouts()):
        return ReadFailed(
            f"{where}: {service} did not answer within {timeout_setting():g} s "
            "(VIME_REMOTE_TIMEOUT)"
        )
    if _caused_by(exc, _connection_errors()) or str(exc) == "Connection Error":
        return ReadFailed(f"{where}: cannot reach {service}: {_connection_reason(exc)}")
    if status is not None:
        return ReadFailed(f"{where}: {service} answered {status} ({_text(exc)})")
    if isinstance(exc, ValueError) and "endpoint" in str(exc):
        return ReadFailed(
            f"{where}: no HSDS endpoint: set HS_ENDPOINT (or hs_endpoint in ~/.hscfg), "
            "or open an http(s):// URL"
        )
    return ReadFailed(f"{where}: {service}: {type(exc).__name__}: {_text(exc)}")


def _status(exc: BaseException) -> int | None:
    """The HTTP status h5pyd put in an OSError's errno (not an errno of the OS)."""
    if type(exc) not in (OSError, FileNotFoundError):
        return None
    code = exc.errno
    return code if isinstance(code, int) and 400 <= code < 600 else None


def _text(exc: BaseException) -> str:
    if isinstance(exc, OSError) and exc.strerror:
        return str(exc.strerror)
    return str(exc) or type(exc).__name__


def _timeouts() -> tuple:
    import requests
    import urllib3

    return (requests.exceptions.Timeout, urllib3.exceptions.TimeoutError, TimeoutError)


def _connection_errors() -> tuple:
    import http.client

    import requests
    import urllib3

    return (
        requests.exceptions.ConnectionError,
        requests.exceptions.ChunkedEncodingError,
        urllib3.exceptions.ProtocolError,
        http.client.HTTPException,
        ConnectionError,
    )


def _chain(exc: BaseException) -> Iterator[BaseException]:
    """The exception and every one under it: causes, contexts, reasons and arguments."""
    seen, stack = set(), [exc]
    while stack:
        current = stack.pop()
        if id(current) in seen:
            continue
        seen.add(id(current))
        yield current
        under = [current.__cause__, current.__context__, getattr(current, "reason", None)]
        under += list(getattr(current, "args", ()))
        stack += [item for item in under if isinstance(item, BaseException)]


def _caused_by(exc: BaseException, kinds: tuple) -> bool:
    return any(isinstance(item, kinds) for item in _chain(exc))


def _connection_reason(exc: BaseException) -> str:
    """Why a connection failed, in a few words (never the URL, which may carry a key)."""
    import http.client
    import socket

    for item in _chain(exc):
        if isinstance(item, socket.gaierror):
            return "unknown host"
        if isinstance(item, (http.client.RemoteDisconnected, http.client.IncompleteRead)):
            return "the connection dropped"
        if type(item) in _OS_REASONS:
            return _OS_REASONS[type(item)]
        if isinstance(item, OSError) and item.strerror and item.errno:
            return item.strerror.lower()
    return "the connection dropped"


_OS_REASONS = {
    ConnectionRefusedError: "connection refused",
    ConnectionResetError: "the connection dropped",
    ConnectionAbortedError: "the connection dropped",
    BrokenPipeError: "the connection dropped",
    FileNotFoundError: "no such socket",
}


# -- the nodes ------------------------------------------------------------------------------
class RemoteNode:
    """An h5pyd object, answering what the loaders ask of h5py's."""

    def __init__(self, node, file: RemoteFile):
        self._node = node
        self.file = file
        self.name = node.name
        self.id = node.id.uuid  # h5pyd's ids do not hash; the uuid names the object
        self._attrs = None

    @property
    def attrs(self) -> Attributes:
        if self._attrs is None:
            self._attrs = Attributes(self)
        return self._attrs


class Attributes(Mapping):
    """A node's attributes, each converted once."""

    def __init__(self, node: RemoteNode):
        self._node = node
        self._names = node.file.call(lambda: list(node._node.attrs), node.name)
        self._values: dict = {}

    def __getitem__(self, key):
        if key not in self._values:
            value = self._node.file.call(lambda: self._node._node.attrs[key], self._node.name)
            if isinstance(value, h5pyd.Empty):
                value = h5py.Empty(value.dtype)
            self._values[key] = value
        return self._values[key]

    def __iter__(self):
        return iter(self._names)

    def __len__(self) -> int:
        return len(self._names)

    def __contains__(self, key) -> bool:
        return key in self._names


class RemoteGroup(RemoteNode):
    def keys(self) -> list[str]:
        return self.file.call(lambda: list(self._node), self.name)

    def __iter__(self):
        return iter(self.keys())

    def __len__(self) -> int:
        return len(self.keys())

    def __contains__(self, name) -> bool:
        if not isinstance(name, str):
            return False  # HSDS names are text; h5py's bytes names are not
        return self.file.call(lambda: name in self._node, self.name)

    def __getitem__(self, key):
        where = key if key.startswith("/") else f"{self.name.rstrip('/')}/{key}"
        return self.file.wrap(self.file.call(lambda: self._node[key], where))

    def get(self, key, default=None, getlink: bool = False):
        if getlink:
            return self.file.call(lambda: self._node.get(key, getlink=True), self.name)
        if key not in self:
            return default
        return self[key]


class RemoteDataset(RemoteNode):
    @property
    def shape(self):
        return self._node.shape

    @property
    def dtype(self) -> np.dtype:
        return self._node.dtype

    @property
    def chunks(self):
        return self._node.chunks

    @property
    def compression(self):
        return self._node.compression

    @property
    def ndim(self) -> int:
        return len(self.shape or ())

    @property
    def size(self) -> int:
        return math.prod(self.shape or ())

    def __len__(self) -> int:
        return self.shape[0]

    def __getitem__(self, key):
        return self.file.read(self, key)

    def fields(self, names) -> Fields:
        return Fields(self, names)

    def storage(self) -> dict:
        """What ``info`` shows of the storage; the bytes as HSDS's last scan counted them."""
        filters = [f.get("name") or f.get("class") for f in self._node.id.filters]
        return {
            "chunks": list(self.chunks) if self.chunks else None,
            "compression": self.compression,
            "filters": filters,
            "bytes": self.file.call(self._allocated_bytes, self.name),
        }

    def _allocated_bytes(self) -> int | None:
        """Asked of the service: h5pyd 1.0's ``allocated_size`` is always 0."""
        try:
            connection = self._node.id.db.plugin.http_conn
        except AttributeError:  # another h5pyd: no verbose request to make
            return None
        reply = connection.GET(f"/datasets/{self.id}", params={"verbose": 1})
        size = reply.json().get("allocated_size") if reply.status_code == 200 else None
        return None if size is None else int(size)


class Fields:
    """Some fields of a compound dataset, as h5py's ``Dataset.fields`` gives them."""

    def __init__(self, dataset: RemoteDataset, names):
        self.dataset = dataset
        self.names = names

    def __getitem__(self, key):
        return self.dataset.file.read(self.dataset, key, self.names)


class RemoteFile(RemoteGroup):
    """The domain's root group, and the one place its requests go through."""

    def __init__(self, handle, path: str):
        self.path = path
        self.filename = path  # what h5py calls it: messages name nodes by it
        self.endpoint = endpoint_of(path)
        self.concurrency = concurrency_setting()
        super().__init__(handle, self)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a dead connection has nothing to close
            self._node.close()

    def call(self, request: Callable, name: str):
        """``request()``, its failure made one vime error naming the domain and node.

        HSDS answers 503 when its nodes have too many chunk reads in flight: the
        request is made again, after a pause that doubles each time.
        """
        for attempt in itertools.count():
            try:
                return request()
            except (VimeError, KeyError):
                raise
            except Exception as exc:
                if _status(exc) == BUSY and attempt < BUSY_RETRIES:
                    time.sleep(BUSY_PAUSE * 2**attempt)
                    continue
                if _is_remote_failure(exc):
                    raise remote_error(exc, f"{self.path}:{name}", self.endpoint) from None
                raise

    def wrap(self, node):
        if isinstance(node, h5pyd.Dataset):
            return RemoteDataset(node, self)
        if isinstance(node, h5pyd.Group):
            return RemoteGroup(node, self)
        return node  # a committed datatype: neither a group nor a dataset

    def has(self, path: str) -> bool:
        """Whether a link is at ``path``, every group on the way included."""
        group = self
        parts = [part for part in path.split("/") if part]
        for depth, part in enumerate(parts):
            if part not in group:
                return False
            if depth < len(parts) - 1:
                group = group[part]
                if not isinstance(group, RemoteGroup):
                    return False
        return True

    # -- reading -----------------------------------------------------------------------
    def read(self, dataset: RemoteDataset, key, fields=None) -> np.ndarray:
        """``dataset[key]`` (``fields``: of those fields), many rows fetched in pieces.

        Field names may also come in the key, as h5py takes them.
        """
        key = key if isinstance(key, tuple) else (key,)
        named = [item for item in key if isinstance(item, str)]
        key = tuple(item for item in key if not isinstance(item, str))
        if fields is None and named:
            fields = named[0] if len(named) == 1 else named  # one name: its values alone
        pieces = _pieces(dataset, key)

        def fetch(piece: tuple) -> np.ndarray:
            return self.call(lambda: _fetch(dataset._node, piece, fields), dataset.name)

        if len(pieces) == 1:
            return fetch(pieces[0])
        with ThreadPoolExecutor(min(self.concurrency, len(pieces))) as pool:
            return _joined(pool.map(fetch, pieces), sum(_rows(piece) for piece in pieces))


def _fetch(node, key: tuple, fields) -> np.ndarray:
    """``node[key]`` with h5py's answer for fields: a list of names gives records of
    those fields, one name (a str) the values of that field.

    h5pyd fetches whole records whatever fields are asked, and its own field
    selection differs from h5py's (a list of one name gives the field's values,
    one name of a nested compound fails): the fields are taken here.
    """
    records = node[key]
    if fields is None:
        return records
    if isinstance(fields, str):
        return np.ascontiguousarray(records[fields])
    from numpy.lib import recfunctions

    return recfunctions.repack_fields(records[list(fields)])


def _is_remote_failure(exc: BaseException) -> bool:
    """h5pyd's way of failing a request: an OSError, or what requests raised under it."""
    return isinstance(exc, OSError) or _caused_by(exc, _connection_errors() + _timeouts())


def _pieces(dataset: RemoteDataset, key: tuple) -> list[tuple]:
    """``key`` cut along its rows (its first sliced axis) into pieces of whole HSDS
    chunks, of about PIECE_BYTES and at most PIECE_CHUNKS chunks each; one piece when
    it reads little."""
    shape = dataset.shape or ()
    axis = next((i for i, item in enumerate(key) if not isinstance(item, (int, np.integer))), None)
    if axis is None or axis >= len(shape) or not isinstance(key[axis], slice):
        return [key]
    start, stop, step = key[axis].indices(shape[axis])
    if step != 1 or stop - start <= 1:
        return [key]
    chunks = dataset.chunks or shape
    items, across = _row_extent(key, shape, chunks, axis)
    wanted = math.ceil(PIECE_BYTES / max(dataset.dtype.itemsize * items * chunks[axis], 1))
    rows = max(1, min(wanted, PIECE_CHUNKS // across)) * chunks[axis]
    if stop - start <= rows:
        return [key]
    first = start - start % chunks[axis]  # pieces end on chunk boundaries: none read twice
    edges = [start, *range(first + rows, stop, rows), stop]
    return [(*key[:axis], slice(a, b), *key[axis + 1 :]) for a, b in itertools.pairwise(edges)]


def _row_extent(key: tuple, shape: tuple, chunks: tuple, axis: int) -> tuple[int, int]:
    """Of one row of the selection: its values, and the chunks it spans (at least 1)."""
    items, across = 1, 1
    for position in range(axis + 1, len(shape)):
        item = key[position] if position < len(key) else slice(None)
        if isinstance(item, slice):
            picked = range(*item.indices(shape[position]))
        elif isinstance(item, (list, tuple, np.ndarray)):
            picked = list(item)
        else:
            picked = [item]
        items *= len(picked)
        across *= max(1, len({i // chunks[position] for i in picked}))
    return items, across


def _rows(piece: tuple) -> int:
    row_slice = next(item for item in piece if isinstance(item, slice))
    return row_slice.stop - row_slice.start


def _joined(parts: Iterator[np.ndarray], rows: int) -> np.ndarray:
    """The pieces, in order, copied into one array as they come (their first axis is
    the rows), so that memory holds the result and the pieces in flight."""
    out, done = None, 0
    for part in parts:
        if out is None:
            out = np.empty((rows, *part.shape[1:]), dtype=part.dtype)
        out[done : done + len(part)] = part
        done += len(part)
    return out


# -- the source ------------------------------------------------------------------------------
class RemoteSource(Source):
    """A domain: listed and read by loaders.Source through the wrappers above."""

    def _has_link(self, path: str | bytes) -> bool:
        if isinstance(path, bytes):
            return False  # HSDS names are text: no \\xNN escapes to map back
        return self.h5.has(path)

    def sync(self) -> bool:
        return False  # a domain is written through the service: no local file to watch

    def write_status(self) -> dict:
        return {"writing": None}

    def store(self):
        raise ReadFailed(
            f"{self.path}: this pandas layout needs PyTables, which cannot read an HSDS domain"
        )
