"""A warm kernel factory, run inside the grading sandbox (never in the grader's own process).

Importing torch, numpy, matplotlib and ipykernel costs about two seconds of
CPU per process. This server pays it once: it imports everything a course
notebook needs, then forks one fresh IPython kernel per submission. The fork
starts in milliseconds and shares the imported modules copy-on-write.

It talks to the grader over its stdin/stdout, one JSON object per line:

    {"op": "start", "connection_file": ..., "env": {...}, "limits": {...}}  ->  {"pid": 12}
    {"op": "poll", "pid": 12}                                              ->  {"exit": null | code}
    {"op": "signal", "pid": 12, "signal": 9}                               ->  {"ok": true}
    {"op": "reap"}                                                         ->  {"reaped": 3}

``reap`` kills every other process in the sandbox (a student's detached
daemons included) and deletes the last submission's working folder, so the
next submission starts clean. The server itself never runs student code and
holds no secrets. Run by root, it keeps only the capabilities to switch users
and kill, and each kernel becomes the unprivileged ``--kernel-uid`` before
any student line runs, so student code can neither signal nor trace the
server. Without root (server and kernels share the user's uid) the server is
not ptrace-able (``PR_SET_DUMPABLE`` 0), and if a submission kills it the
grader starts a new one.

This file imports nothing from the course's packages, so the sandbox needs
only the interpreter, its site-packages and ``utils``.
"""

from __future__ import annotations

import ctypes
import json
import os
import resource
import shutil
import signal
import sys

PR_SET_DUMPABLE = 4
PR_SET_NO_NEW_PRIVS = 38
KERNEL_UID: int | None = None  # set from --kernel-uid: the uid student code runs as
MiB = 1024 * 1024


def warm_up() -> None:
    """Import what course notebooks use, single-threaded, without running any parallel op."""
    import torch

    torch.set_num_threads(1)
    import matplotlib

    matplotlib.use("module://matplotlib_inline.backend_inline")
    import matplotlib.pyplot  # noqa: F401 -- builds the font cache once, here
    import matplotlib_inline.backend_inline  # noqa: F401
    import numpy  # noqa: F401
    import torch.nn  # noqa: F401
    import torch.optim  # noqa: F401
    import torch.utils.data  # noqa: F401
    import tqdm.auto  # noqa: F401

    import utils  # noqa: F401
    import utils.checks  # noqa: F401
    import utils.gradcheck  # noqa: F401
    import utils.plots  # noqa: F401

    # The first optimizer of a process imports torch._dynamo (~0.8 s); construct one, run nothing.
    torch.optim.SGD([torch.zeros(1, requires_grad=True)], lr=0.1)

    import IPython.core.interactiveshell  # noqa: F401
    import ipykernel.debugger  # noqa: F401 -- debugpy: a third of a kernel's start-up
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401
    import ipykernel.zmqshell  # noqa: F401
    import pdb  # noqa: F401
    import pydoc  # noqa: F401
    import tornado.locks  # noqa: F401
    import tornado.queues  # noqa: F401


def apply_limits(limits: dict) -> None:
    """Resource limits of one kernel; inherited by everything it starts."""
    pairs = {
        resource.RLIMIT_CPU: limits["cpu_seconds"],
        resource.RLIMIT_NPROC: limits["processes"],
        resource.RLIMIT_NOFILE: limits["open_files"],
        resource.RLIMIT_FSIZE: limits["file_size_mib"] * MiB,
        resource.RLIMIT_CORE: 0,
    }
    if limits.get("address_space_mib"):
        pairs[resource.RLIMIT_AS] = limits["address_space_mib"] * MiB
    for which, value in pairs.items():
        resource.setrlimit(which, (int(value), int(value)))


def become_kernel(request: dict, protocol_fds: tuple[int, int]) -> None:
    """In the forked child: detach, limit, and run an IPython kernel until it exits."""
    try:
        os.setsid()
        for fd in protocol_fds:
            os.close(fd)
        devnull = os.open(os.devnull, os.O_RDWR)
        for fd in (0, 1, 2):
            os.dup2(devnull, fd)
        if KERNEL_UID is not None:  # become the unprivileged sandbox user; every capability goes
            os.setgroups([])
            os.setresgid(KERNEL_UID, KERNEL_UID, KERNEL_UID)
            os.setresuid(KERNEL_UID, KERNEL_UID, KERNEL_UID)
            ctypes.CDLL(None).prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        workdir = request["cwd"]
        os.makedirs(workdir, exist_ok=True)
        os.chdir(workdir)
        os.environ.clear()
        os.environ.update(request["env"])
        apply_limits(request["limits"])
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)

        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize(["-f", request["connection_file"], "--HistoryManager.enabled=False",
                        "--IPKernelApp.parent_handle=0"])
        app.start()
    finally:
        os._exit(0)


def reap(children: set[int], workdir: str | None, own_pid_namespace: bool) -> int:
    """Kill what the last submission left running, and wait for this server's children.

    In its own PID namespace the server kills every process it may signal
    (detached daemons included). Without one (grading without a sandbox) it
    kills only the process groups of its own kernels: ``kill(-1)`` there would
    reach every process of the user.
    """
    if own_pid_namespace:
        targets = [-1]
    else:
        targets = [-pid for pid in children]
    for target in targets:
        try:
            os.kill(target, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    reaped = 0
    while True:
        try:
            pid, _ = os.waitpid(-1, 0)
        except ChildProcessError:
            break
        children.discard(pid)
        reaped += 1
    if workdir:
        shutil.rmtree(workdir, ignore_errors=True)
    return reaped


def serve(requests, replies, own_pid_namespace: bool) -> None:
    children: set[int] = set()
    exits: dict[int, int] = {}
    last_workdir = None
    for line in requests:
        request = json.loads(line)
        op = request.get("op")
        if op == "start":
            last_workdir = request["cwd"]
            pid = os.fork()
            if pid == 0:
                become_kernel(request, (requests.fileno(), replies.fileno()))
            children.add(pid)
            reply = {"pid": pid}
        elif op == "poll":
            pid = request["pid"]
            if pid not in exits and pid in children:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    exits[pid] = os.waitstatus_to_exitcode(status)
            reply = {"exit": exits.get(pid)}
        elif op == "signal":
            pid = request["pid"]
            try:
                os.killpg(pid, request["signal"])
            except (ProcessLookupError, PermissionError):
                pass
            if request["signal"] == signal.SIGKILL and pid in children and pid not in exits:
                _, status = os.waitpid(pid, 0)  # immediate after SIGKILL; the next poll says "exited"
                exits[pid] = os.waitstatus_to_exitcode(status)
            reply = {"ok": True}
        elif op == "reap":
            reply = {"reaped": reap(children, last_workdir, own_pid_namespace)}
            exits.clear()
        else:
            reply = {"error": f"unknown op {op!r}"}
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


def address_space_mib() -> int:
    """This process's virtual memory size: the floor under every forked kernel's memory limit."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) // 1024
    return 0


def main() -> None:
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    warm_up()
    sys.stdout.write(json.dumps({"ready": os.getpid(), "address_space_mib": address_space_mib()}) + "\n")
    sys.stdout.flush()
    global KERNEL_UID
    if "--kernel-uid" in sys.argv:
        KERNEL_UID = int(sys.argv[sys.argv.index("--kernel-uid") + 1])
    # In the sandbox, bubblewrap's init is PID 1 and this server its child.
    own_pid_namespace = "--sandboxed" in sys.argv and os.getppid() == 1
    serve(sys.stdin, sys.stdout, own_pid_namespace)


if __name__ == "__main__":
    main()
