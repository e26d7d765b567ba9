"""Entry point: ``vime-rpc`` / ``python -m vime`` runs the stdio loop."""

from __future__ import annotations

import os
import sys
from types import SimpleNamespace

import vime

DESCRIPTION = """\
The vime backend: one JSON message per line on stdin, one per line on stdout.
Requests are [id, {"method": M, "params": {...}}] (Vim channel form) or
JSON-RPC 2.0 objects. Try:  printf '[1,{"method":"methods"}]\\n' | vime-rpc
"""


def parse_args(argv):
    if not argv:
        # The editor starts us without arguments: skip argparse's import cost.
        return SimpleNamespace(log=os.environ.get("VIME_LOG"), debug=False)
    import argparse

    parser = argparse.ArgumentParser(
        prog="vime-rpc",
        description=DESCRIPTION,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--log",
        metavar="FILE",
        default=os.environ.get("VIME_LOG"),
        help="append the log to FILE (default: $VIME_LOG, else stderr)",
    )
    parser.add_argument("--debug", action="store_true", help="log every request with its duration")
    parser.add_argument("--version", action="version", version=f"vime {vime.__version__}")
    return parser.parse_args(argv)


def setup_logging(log_file: str | None, debug: bool) -> None:
    import logging

    handler = logging.FileHandler(log_file) if log_file else logging.StreamHandler(sys.stderr)
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
    root = logging.getLogger()
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if debug else logging.INFO)


def claim_stdout():
    """Keep the real stdout for the protocol; point fd 1 and sys.stdout at stderr.

    Libraries (and C code under them) that print would otherwise corrupt the
    protocol stream.
    """
    protocol_fd = os.dup(sys.stdout.fileno())
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    sys.stdout = sys.stderr
    return os.fdopen(protocol_fd, "wb", buffering=0)


def main(argv=None) -> int:
    args = parse_args(sys.argv[1:] if argv is None else argv)
    if args.log or args.debug:
        setup_logging(args.log, args.debug)
    # Otherwise logging stays unimported until something logs: its last-resort
    # handler then prints warnings to stderr, which the editor keeps as a log.
    from vime.loop import serve

    vime.defer_pyarrow()
    out = claim_stdout()
    code = serve(sys.stdin.buffer, out, debug=args.debug)
    if "logging" in sys.modules:
        sys.modules["logging"].shutdown()
    # A compute thread may sit inside an HDF5 call; skip interpreter teardown
    # so that exit is immediate and cannot crash in a half-closed library.
    os._exit(code)


if __name__ == "__main__":
    main()
