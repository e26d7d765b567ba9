"""The fixed launcher: every measured child is spawned by this small process.

On Linux a child's ``ru_maxrss`` starts from its parent's high-water mark:
it carries through fork and exec. The harness may hold hundreds of MB
(pandas, a generated file, a test's data), so children it spawned itself
would report the harness's memory as theirs. This launcher is a fresh
``python -I -S`` that imports nothing heavy and never grows; a child forked
from it reports its own peak (at least this process's few MB).

Run as ``python -I -S launcher.py FD``, FD being one end of a SOCK_SEQPACKET
socket pair. Each request is one JSON message ``{"argv", "env", "cwd"}``
carrying the child's stdin, stdout and stderr as passed descriptors; the
launcher answers ``{"spawned": pid}`` and, when that child exits,
``{"exited": pid, "code": exit code, "peak_kib": ru_maxrss}``. It ends when
the harness closes its end.
"""

import json
import os
import select
import socket
import sys

MAX_MESSAGE = 1 << 20


def spawn(request: dict, fds: list[int]) -> int:
    pid = os.fork()
    if pid == 0:  # the child: its stdio from the passed descriptors, then exec
        try:
            for target, fd in enumerate(fds):
                os.dup2(fd, target)
            os.chdir(request["cwd"])
            os.execve(request["argv"][0], request["argv"], request["env"])
        except BaseException as exc:
            os.write(2, f"launcher: cannot run {request['argv'][0]}: {exc}\n".encode())
        finally:
            os._exit(127)
    for fd in fds:
        os.close(fd)
    return pid


def serve(sock: socket.socket) -> None:
    poller = select.poll()
    poller.register(sock, select.POLLIN)
    children = {}  # pidfd -> pid
    while True:
        for fd, _ in poller.poll():
            if fd == sock.fileno():
                message, fds, _, _ = socket.recv_fds(sock, MAX_MESSAGE, 3, socket.MSG_CMSG_CLOEXEC)
                if not message:
                    return
                pid = spawn(json.loads(message), fds)
                pidfd = os.pidfd_open(pid)
                children[pidfd] = pid
                poller.register(pidfd, select.POLLIN)
                sock.send(json.dumps({"spawned": pid}).encode())
            else:
                pid = children.pop(fd)
                poller.unregister(fd)
                os.close(fd)
                _, status, usage = os.wait4(pid, 0)
                code = os.waitstatus_to_exitcode(status)
                reply = {"exited": pid, "code": code, "peak_kib": usage.ru_maxrss}
                sock.send(json.dumps(reply).encode())


def main() -> None:
    fd = int(sys.argv[1])
    os.set_inheritable(fd, False)  # the measured children must not hold the socket
    serve(socket.socket(fileno=fd))


if __name__ == "__main__":
    main()
