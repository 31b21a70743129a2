"""A warm kernel factory, run inside the grading sandbox (never in the grader's own process).

Importing torch, numpy, matplotlib and ipykernel costs about two seconds of
CPU per process. This server pays it once: it imports everything a course
notebook needs, then forks one fresh IPython kernel per submission. The fork
starts in milliseconds and shares the imported modules copy-on-write.

It talks to the grader over its stdin/stdout, one JSON object per line. Every
request carries an ``id`` and its reply repeats it, so a reply whose request
was abandoned (the grader cancels waits) can never answer another one:

    {"id": 7, "op": "start", "connection": {...}, "env": {...}, "limits": {...}}  ->  {"id": 7, "pid": 12}
    {"id": 8, "op": "poll", "pid": 12}                                ->  {"id": 8, "exit": null | code}
    {"id": 9, "op": "signal", "pid": 12, "signal": 9}                 ->  {"id": 9, "ok": true}
    {"id": 10, "op": "reap"}                                          ->  {"id": 10, "reaped": 3}

Fresh state (in the sandbox): before any student line runs, each forked kernel
enters a user and mount namespace of its own and mounts a new size-limited
tmpfs on ``/tmp``. Its working folder, home, every config and cache folder
(IPython, Jupyter, matplotlib, torch, XDG), ``/dev/shm`` and the folder that
holds its connection file and unix sockets all live on that tmpfs, so all of
it counts against the disk limit, starts empty, and vanishes with the
kernel's last process: no submission sees a file of another. The rest of the
file system is read-only in that namespace, and nested user namespaces are
disabled (``user.max_user_namespaces`` is 0 in the kernel's own namespace:
the mechanism of bubblewrap's ``--disable-userns``, which the sandbox itself
cannot use because each kernel needs a namespace of its own).

``reap`` kills every other process in the sandbox (a student's detached
daemons included), so the next submission starts clean. The server itself
never runs student code and holds no secrets. Run by root, it keeps only the capabilities to switch users
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
import gc
import importlib
import json
import os
import re
import resource
import select
import shutil
import signal
import stat
import sys
import time

PR_SET_DUMPABLE = 4
PR_CAPBSET_DROP = 24
PR_SET_NO_NEW_PRIVS = 38
PR_CAP_AMBIENT = 47
PR_CAP_AMBIENT_CLEAR_ALL = 4
CLONE_NEWNS = 0x00020000
CLONE_NEWUSER = 0x10000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
LINUX_CAPABILITY_VERSION_3 = 0x20080522
KERNEL_UID: int | None = None  # set from --kernel-uid: the uid student code runs as
START_TIMEOUT_S = 20.0         # a forked kernel must have set up its fresh state by then
MiB = 1024 * 1024

libc = ctypes.CDLL(None, use_errno=True)


class FreshStateError(OSError):
    """A kernel could not set up its own namespaces and file systems: it must not run."""


def _call(result: int, what: str) -> None:
    if result != 0:
        error = ctypes.get_errno()
        raise FreshStateError(error, f"{what}: {os.strerror(error)}")


def _mount(source: str | None, target: str, fstype: str | None, flags: int, data: str | None = None) -> None:
    encode = (lambda text: text.encode() if text is not None else None)
    _call(libc.mount(encode(source), encode(target), encode(fstype), ctypes.c_ulong(flags), encode(data)),
          f"mount {target}")


def _mounts() -> list[tuple[str, set[str]]]:
    """(mount point, per-mount options) of this process's mount namespace, in mount order."""
    mounts = []
    with open("/proc/self/mountinfo") as info:
        for line in info:
            fields = line.split()
            point = re.sub(r"\\([0-7]{3})", lambda code: chr(int(code.group(1), 8)), fields[4])  # \040 is a space
            mounts.append((point, set(fields[5].split(","))))
    return mounts


def _mount_flags(options: set[str]) -> int:
    """The flags a bind remount must repeat: the kernel refuses to drop a locked nosuid/nodev/noexec."""
    names = {"nosuid": MS_NOSUID, "nodev": MS_NODEV, "noexec": MS_NOEXEC}
    return sum(flag for name, flag in names.items() if name in options)


def _drop_capabilities() -> None:
    """No capability left, none to regain: bounding and ambient sets emptied, then capset(0)."""
    with open("/proc/sys/kernel/cap_last_cap") as last:
        last_cap = int(last.read())
    for capability in range(last_cap + 1):
        libc.prctl(PR_CAPBSET_DROP, capability, 0, 0, 0)
    libc.prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0)

    class Header(ctypes.Structure):
        _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]

    class Data(ctypes.Structure):
        _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32),
                    ("inheritable", ctypes.c_uint32)]

    _call(libc.capset(ctypes.byref(Header(LINUX_CAPABILITY_VERSION_3, 0)), (Data * 2)()), "capset")
    _call(libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0), "no_new_privs")


def fresh_state(disk_mib: int, folders: list[str]) -> None:
    """Give this process (a kernel about to start) file systems no other submission has touched.

    Called after the switch to the kernel's uid, before any student line. Enters a new user
    and mount namespace (mapping only its own uid), mounts a ``disk_mib`` tmpfs on ``/tmp``
    (what the sandbox had under ``/tmp``, the read-only course files when the course lives
    there, is bound again on top), binds ``/dev/shm`` into it, makes every other mount
    read-only, disables further user namespaces and creates ``folders`` (0700) on it.
    """
    uid, gid = os.getuid(), os.getgid()
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # after setuid, /proc/self/uid_map is writable only if dumpable
    _call(libc.unshare(CLONE_NEWUSER | CLONE_NEWNS), "unshare")
    with open("/proc/self/uid_map", "w") as mapping:
        mapping.write(f"{uid} {uid} 1\n")
    with open("/proc/self/setgroups", "w") as setgroups:
        setgroups.write("deny")
    with open("/proc/self/gid_map", "w") as mapping:
        mapping.write(f"{gid} {gid} 1\n")
    libc.prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    _mount(None, "/", None, MS_REC | MS_PRIVATE)
    # Read-only binds under /tmp (the interpreter or course files, when the course lives there),
    # opened in this namespace (a bind's source must be), to be bound again over the new tmpfs.
    kept = [(point, os.open(point, os.O_PATH)) for point, _ in _mounts() if point.startswith("/tmp/")]
    inodes = max(1024, disk_mib * 64)  # empty files cost memory too; ~64 per MiB is plenty for notebooks
    _mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, f"size={disk_mib * MiB},nr_inodes={inodes},mode=0700")
    for point, handle in kept:
        if stat.S_ISDIR(os.fstat(handle).st_mode):
            os.makedirs(point, exist_ok=True)
        else:  # a single file (this script): bound onto an empty file
            os.makedirs(os.path.dirname(point), exist_ok=True)
            os.close(os.open(point, os.O_WRONLY | os.O_CREAT, 0o600))
        _mount(f"/proc/self/fd/{handle}", point, None, MS_BIND | MS_REC)
        os.close(handle)
    if os.path.isdir("/dev/shm"):
        os.mkdir("/tmp/.shm", 0o700)
        _mount("/tmp/.shm", "/dev/shm", None, MS_BIND)
    ours = {"/tmp", "/dev/shm", *(point for point, _ in kept)}
    for point, options in _mounts():
        if point in ("/", "/dev") and "rw" in options and point not in ours:
            _mount(None, point, None, MS_REMOUNT | MS_BIND | MS_RDONLY | _mount_flags(options))
    with open("/proc/sys/user/max_user_namespaces", "w") as limit:
        limit.write("0\n")
    for folder in folders:
        os.makedirs(folder, mode=0o700)
    _drop_capabilities()


def write_exclusively(path: str, text: str) -> None:
    """Create ``path`` (0600) and write ``text``; fails if anything, a link included, is already there."""
    handle = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
    with os.fdopen(handle, "w") as file:
        file.write(text)


def warm_up(extra_modules: list[str] = ()) -> None:
    """Import what course notebooks use, single-threaded, without running any parallel op;
    then ``extra_modules``, the imports of the notebooks being graded (``--preload``), each
    best effort: one that fails here fails again, and is reported, in the kernel."""
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

    import faulthandler  # noqa: F401 -- this block: what a kernel's start-up would import
    import IPython.core.interactiveshell  # noqa: F401
    import IPython.extensions  # noqa: F401
    import ipykernel.debugger
    import ipykernel.ipkernel  # noqa: F401
    import ipykernel.kernelapp  # noqa: F401
    import ipykernel.zmqshell  # noqa: F401
    import pdb  # noqa: F401
    import pydoc  # noqa: F401
    import tornado.locks  # noqa: F401
    import tornado.platform.asyncio  # noqa: F401
    import tornado.queues  # noqa: F401

    for name in extra_modules:
        try:
            importlib.import_module(name)
        except Exception:  # noqa: BLE001 -- the notebook's own import will say what is wrong
            pass

    # No debugger in grading kernels: nothing attaches to one, and debugpy's set-up is a
    # fifth of a kernel's start (ipykernel reads this flag each time it builds a kernel).
    ipykernel.debugger._is_debugpy_available = False
    # Every object so far lives as long as the server: the garbage collector of a forked
    # kernel need never walk them, which would copy their memory pages into each kernel.
    gc.collect()
    gc.freeze()


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


# Where each kernel keeps what it writes, on its own fresh tmpfs (see ``fresh_state``).
FRESH_HOME = "/tmp/home"
FRESH_FOLDERS = {"HOME": FRESH_HOME, "IPYTHONDIR": f"{FRESH_HOME}/.ipython",
                 "JUPYTER_CONFIG_DIR": f"{FRESH_HOME}/.jupyter", "JUPYTER_DATA_DIR": f"{FRESH_HOME}/.local/share/jupyter",
                 "JUPYTER_RUNTIME_DIR": f"{FRESH_HOME}/.local/share/jupyter/runtime",
                 "MPLCONFIGDIR": f"{FRESH_HOME}/.config/matplotlib", "XDG_CONFIG_HOME": f"{FRESH_HOME}/.config",
                 "XDG_CACHE_HOME": f"{FRESH_HOME}/.cache", "XDG_DATA_HOME": f"{FRESH_HOME}/.local/share",
                 "TORCH_HOME": f"{FRESH_HOME}/.cache/torch", "TMPDIR": "/tmp"}


def become_kernel(request: dict, protocol_fds: tuple[int, int], ready_fd: int) -> None:
    """In the forked child: detach, switch uid, set up fresh state, limit, and run an IPython kernel.

    Writes one line to ``ready_fd`` once the kernel's state is set up (or why it failed), so
    the server answers ``start`` only when the connection file and socket folder exist; the
    line carries the milliseconds the fresh state took (``setup_ms``).
    """
    try:
        setup_ms = 0.0
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
            libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        env = dict(request["env"])
        connection = request.get("connection")
        if connection is not None:  # sandboxed: everything the kernel writes lives on its own tmpfs
            socket_folder = os.path.dirname(connection["ip"])
            started = time.perf_counter()
            fresh_state(request["limits"]["disk_mib"], [request["cwd"], socket_folder,
                                                        *sorted(set(FRESH_FOLDERS.values()) - {"/tmp"})])
            connection_file = os.path.join(socket_folder, "connection.json")
            write_exclusively(connection_file, json.dumps(connection))
            env.update(FRESH_FOLDERS)
            setup_ms = (time.perf_counter() - started) * 1000
        else:  # without a sandbox: a folder per submission, the grader's connection file
            connection_file = request["connection_file"]
            os.makedirs(request["cwd"], exist_ok=True)
        os.chdir(request["cwd"])
        os.environ.clear()
        os.environ.update(env)
        apply_limits(request["limits"])
        signal.signal(signal.SIGINT, signal.default_int_handler)
        signal.signal(signal.SIGTERM, signal.SIG_DFL)
        os.write(ready_fd, (json.dumps({"setup_ms": round(setup_ms, 2)}) + "\n").encode())
        os.close(ready_fd)

        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize(["-f", connection_file, "--HistoryManager.enabled=False",
                        "--IPKernelApp.parent_handle=0"])
        app.start()
    except BaseException as error:  # the server reports why; nothing of the student has run yet
        try:
            os.write(ready_fd, (json.dumps({"error": f"{type(error).__name__}: {error}"[:500]}) + "\n").encode())
        except OSError:
            pass
    finally:
        os._exit(0)


def start_kernel(request: dict, protocol_fds: tuple[int, int]) -> tuple[int, dict]:
    """Fork a kernel and wait (bounded) until it has set up its state; (pid, reply)."""
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_read)
        become_kernel(request, protocol_fds, ready_write)
    os.close(ready_write)
    line = b""
    deadline = time.monotonic() + START_TIMEOUT_S
    while not line.endswith(b"\n") and time.monotonic() < deadline:
        readable, _, _ = select.select([ready_read], [], [], max(0.0, deadline - time.monotonic()))
        chunk = os.read(ready_read, 4096) if readable else b""
        if readable and not chunk:
            break
        line += chunk
    os.close(ready_read)
    try:
        reply = json.loads(line)
    except ValueError:
        reply = {"error": "the kernel exited before setting up its state" if line or time.monotonic() < deadline
                 else f"the kernel did not set up its state in {START_TIMEOUT_S:g} s"}
    if "error" in reply:
        try:
            os.killpg(pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
    return pid, {"pid": pid, **reply}


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
    if workdir:  # without a sandbox; in one, the kernel's tmpfs went with its last process
        shutil.rmtree(workdir, ignore_errors=True)
    return reaped


def serve(requests, replies, own_pid_namespace: bool) -> None:
    children: set[int] = set()
    exits: dict[int, int] = {}
    last_workdir = None  # without a sandbox, the folder ``reap`` deletes
    for line in requests:
        request: dict = {}
        try:
            request = json.loads(line)
            if request.get("op") == "reap":
                reply = {"reaped": reap(children, last_workdir, own_pid_namespace)}
                exits.clear()
                last_workdir = None
            else:
                reply = handle(request, children, exits, (requests.fileno(), replies.fileno()))
                if request.get("op") == "start" and "connection" not in request:
                    last_workdir = request["cwd"]
        except (ValueError, KeyError, TypeError, AttributeError, OSError) as error:
            reply = {"error": f"bad request: {type(error).__name__}: {error}"}
        reply["id"] = request.get("id") if isinstance(request, dict) else None
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


def handle(request: dict, children: set[int], exits: dict[int, int], protocol_fds: tuple[int, int]) -> dict:
    """The reply to a ``start``, ``poll`` or ``signal`` request."""
    op = request.get("op")
    if op == "start":
        pid, reply = start_kernel(request, protocol_fds)
        children.add(pid)
        return reply
    if op == "poll":
        pid = request["pid"]
        if pid not in exits and pid in children:
            done, status = os.waitpid(pid, os.WNOHANG)
            if done:
                exits[pid] = os.waitstatus_to_exitcode(status)
        return {"exit": exits.get(pid)}
    if op == "signal":
        pid = request["pid"]
        try:
            os.killpg(pid, request["signal"])
        except (ProcessLookupError, PermissionError):
            pass
        if request["signal"] == signal.SIGKILL and pid in children and pid not in exits:
            _, status = os.waitpid(pid, 0)  # immediate after SIGKILL; the next poll says "exited"
            exits[pid] = os.waitstatus_to_exitcode(status)
        return {"ok": True}
    return {"error": f"unknown op {op!r}"}


def address_space_mib() -> int:
    """This process's virtual memory size: the floor under every forked kernel's memory limit."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmSize:"):
                return int(line.split()[1]) // 1024
    return 0


def main() -> None:
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    preload = sys.argv[sys.argv.index("--preload") + 1].split(",") if "--preload" in sys.argv else []
    warm_up([name for name in preload if name])
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
