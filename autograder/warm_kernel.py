"""A warm kernel factory, run inside the grading sandbox (never in the grader's own process).

Importing torch, numpy, matplotlib and ipykernel costs about two seconds of
CPU per process. This server pays it once: it imports everything a course
notebook needs, then forks one fresh IPython kernel per submission. The fork
starts in milliseconds and shares the imported modules copy-on-write.

It talks to the grader over its stdin/stdout, one JSON object per line. Every
request carries an ``id`` and its reply repeats it, so a reply whose request
was abandoned (the grader cancels waits) can never answer another one:

    {"id": 7, "op": "start", "cwd": ..., "env": {...}, "limits": {...}}  ->  {"id": 7, "pid": 12, "connection": {...}}
    {"id": 8, "op": "poll", "pid": 12}                                ->  {"id": 8, "exit": null | code}
    {"id": 9, "op": "signal", "pid": 12, "signal": 9}                 ->  {"id": 9, "ok": true}
    {"id": 10, "op": "reap"}                                          ->  {"id": 10, "reaped": 3}

Fresh state (in the sandbox): before any student line runs, each forked kernel
enters a user, mount, PID, IPC and network namespace of its own and mounts a
new size-limited tmpfs on ``/tmp``. Its working folder, home, every config and
cache folder (IPython, Jupyter, matplotlib, torch, XDG), ``/dev/shm`` and the
folder that holds its connection file and unix sockets all live on that tmpfs,
so all of it counts against the disk limit, starts empty, and vanishes with the
kernel's last process: no submission sees a file of another. The socket folder's
name and the connection's key are drawn in the kernel, after its fork. The rest
of the file system is read-only in that namespace, and nested user namespaces
are disabled (``user.max_user_namespaces`` is 0 in the kernel's own namespace:
the mechanism of bubblewrap's ``--disable-userns``, which the sandbox itself
cannot use because each kernel needs a namespace of its own).

Each sandboxed kernel is three processes: its *keeper* (the server's child,
which the server signals and reaps), the init of its own PID namespace, and the
IPython kernel. Everything a submission starts lives in that PID namespace and
dies with its init, which dies with the keeper, so killing the keeper ends the
whole submission, detached daemons included. A submission can name, signal or
trace no process outside its namespace: not the server, and not the next
submission's kernel, which the server forks (the *spare*) while the current one
runs, so that its start-up is off the grader's path. Its System V IPC objects
and sockets are its namespace's, and go with it.

The server itself never runs student code and holds no secrets. Run by root,
it keeps only the capabilities to switch users and kill, and each kernel
becomes the unprivileged ``--kernel-uid`` before any student line runs.
Without root, server and kernels share the user's uid; the namespaces above
still keep every kernel from signalling or tracing the server or another
kernel, and the server is not ptrace-able (``PR_SET_DUMPABLE`` 0).

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
PR_SET_PDEATHSIG = 1
CLONE_NEWNS = 0x00020000
CLONE_NEWIPC = 0x08000000
CLONE_NEWUSER = 0x10000000
CLONE_NEWPID = 0x20000000
CLONE_NEWNET = 0x40000000
MS_RDONLY, MS_NOSUID, MS_NODEV, MS_NOEXEC = 1, 2, 4, 8
MS_REMOUNT, MS_BIND, MS_REC, MS_PRIVATE = 32, 4096, 16384, 1 << 18
LINUX_CAPABILITY_VERSION_3 = 0x20080522
KERNEL_UID: int | None = None  # set from --kernel-uid: the uid student code runs as
START_TIMEOUT_S = 20.0         # a forked kernel must have set up its fresh state by then
STOP_TIMEOUT_S = 10.0          # with a GPU, a killed kernel's namespace must have ended by then
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

    Called after the switch to the kernel's uid, before any student line. Enters a new user,
    mount, IPC and network namespace (mapping only its own uid) and makes the next child it
    forks the first process of a new PID namespace; mounts a ``disk_mib`` tmpfs on ``/tmp``
    (what the sandbox had under ``/tmp``, the read-only course files when the course lives
    there, is bound again on top), binds ``/dev/shm`` into it, makes every other mount
    read-only, disables further user namespaces and creates ``folders`` (0700) on it.
    """
    uid, gid = os.getuid(), os.getgid()
    libc.prctl(PR_SET_DUMPABLE, 1, 0, 0, 0)  # after setuid, /proc/self/uid_map is writable only if dumpable
    _call(libc.unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWIPC | CLONE_NEWNET | CLONE_NEWPID), "unshare")
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
        # SIGXCPU at the limit (read as ``cpu-limit``), SIGKILL a second later if it is caught
        resource.RLIMIT_CPU: (limits["cpu_seconds"], limits["cpu_seconds"] + 1),
        resource.RLIMIT_NPROC: limits["processes"],
        resource.RLIMIT_NOFILE: limits["open_files"],
        resource.RLIMIT_FSIZE: limits["file_size_mib"] * MiB,
        resource.RLIMIT_CORE: 0,
    }
    if limits.get("address_space_mib"):
        pairs[resource.RLIMIT_AS] = limits["address_space_mib"] * MiB
    if limits.get("data_mib"):
        pairs[resource.RLIMIT_DATA] = limits["data_mib"] * MiB
    for which, value in pairs.items():
        soft, hard = value if isinstance(value, tuple) else (value, value)
        resource.setrlimit(which, (int(soft), int(hard)))


# Where each kernel keeps what it writes, on its own fresh tmpfs (see ``fresh_state``).
FRESH_HOME = "/tmp/home"
FRESH_FOLDERS = {"HOME": FRESH_HOME, "IPYTHONDIR": f"{FRESH_HOME}/.ipython",
                 "JUPYTER_CONFIG_DIR": f"{FRESH_HOME}/.jupyter", "JUPYTER_DATA_DIR": f"{FRESH_HOME}/.local/share/jupyter",
                 "JUPYTER_RUNTIME_DIR": f"{FRESH_HOME}/.local/share/jupyter/runtime",
                 "MPLCONFIGDIR": f"{FRESH_HOME}/.config/matplotlib", "XDG_CONFIG_HOME": f"{FRESH_HOME}/.config",
                 "XDG_CACHE_HOME": f"{FRESH_HOME}/.cache", "XDG_DATA_HOME": f"{FRESH_HOME}/.local/share",
                 "TORCH_HOME": f"{FRESH_HOME}/.cache/torch", "TMPDIR": "/tmp"}


IPC_PORTS = {"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5}
KERNEL_FOLDER = re.compile(r"/tmp/\.kernel-[0-9a-f]{24}")  # what a connection's folder must look like


def become_kernel(request: dict, protocol_fds: tuple[int, int], ready_fd: int) -> None:
    """In the forked child: detach, switch uid, set up fresh state, limit, and run an IPython kernel.

    Writes one line to ``ready_fd`` once the kernel's state is set up (or why it failed), so
    the server answers ``start`` only when the connection file and socket folder exist; the
    line carries the milliseconds the fresh state took (``setup_ms``) and, in the sandbox, the
    connection's socket prefix and key, both chosen here, after the fork.

    In the sandbox this process stays outside the kernel's namespaces as its *keeper*
    (``keep``): the kernel is the grandchild, under a namespace init (``namespace_init``).
    """
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
            libc.prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
        env = dict(request["env"])
        if not request.get("sandboxed"):  # a folder per submission, the grader's connection file
            os.makedirs(request["cwd"], exist_ok=True)
            os.write(ready_fd, b'{"setup_ms": 0.0}\n')
            os.close(ready_fd)
            run_kernel(request, env, request["connection_file"])
        started = time.perf_counter()
        folder = f"/tmp/.kernel-{os.urandom(12).hex()}"
        connection = {**IPC_PORTS, "transport": "ipc", "ip": f"{folder}/kernel", "key": os.urandom(32).hex(),
                      "signature_scheme": "hmac-sha256", "kernel_name": ""}
        fresh_state(request["limits"]["disk_mib"], [request["cwd"], folder,
                                                    *sorted(set(FRESH_FOLDERS.values()) - {"/tmp"})])
        connection_file = os.path.join(folder, "connection.json")
        write_exclusively(connection_file, json.dumps(connection))
        env.update(FRESH_FOLDERS)
        status_read, status_write = os.pipe()
        keeper_alive, keeper_alive_write = os.pipe()
        init = os.fork()
        if init == 0:
            os.close(ready_fd)
            os.close(status_read)
            os.close(keeper_alive_write)
            namespace_init(status_write, keeper_alive, lambda: run_kernel(request, env, connection_file))
        os.close(status_write)
        os.close(keeper_alive)
        ready = {"setup_ms": round((time.perf_counter() - started) * 1000, 2), "init": init,
                 "connection": {"ip": connection["ip"], "key": connection["key"]}}
        os.write(ready_fd, (json.dumps(ready) + "\n").encode())
        os.close(ready_fd)
        keep(init, status_read)
    except BaseException as error:  # the server reports why; nothing of the student has run yet
        try:
            os.write(ready_fd, (json.dumps({"error": f"{type(error).__name__}: {error}"[:500]}) + "\n").encode())
        except OSError:
            pass
    finally:
        os._exit(0)


def run_kernel(request: dict, env: dict, connection_file: str) -> None:
    """Become the IPython kernel: working folder, environment, limits, then ipykernel's own start."""
    os.chdir(request["cwd"])
    os.environ.clear()
    os.environ.update(env)
    apply_limits(request["limits"])
    signal.signal(signal.SIGINT, signal.default_int_handler)
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    try:
        from ipykernel.kernelapp import IPKernelApp

        app = IPKernelApp.instance()
        app.initialize(["-f", connection_file, "--HistoryManager.enabled=False",
                        "--IPKernelApp.parent_handle=0"])
        app.start()
    finally:
        os._exit(0)


def namespace_init(status_fd: int, keeper_alive: int, start) -> None:
    """PID 1 of a kernel's own PID namespace: forks the kernel, passes interrupts on, reports its end.

    No process of the submission can leave this namespace, and when this process ends, the
    kernel ends with everything it started. It ends when its keeper does (``PR_SET_PDEATHSIG``),
    so killing the keeper kills the whole submission: nothing the student runs can undo that,
    since student code runs only in the kernel. Processes of other namespaces cannot name
    it, and from inside it ignores every signal it does not handle.
    """
    try:
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL, 0, 0, 0)
        if select.select([keeper_alive], [], [], 0)[0]:  # end of file: the keeper died before the prctl
            os._exit(1)
        kernel = os.fork()
        if kernel == 0:
            os.close(status_fd)
            os.close(keeper_alive)
            start()
        ended: dict[str, int] = {}
        signal.signal(signal.SIGINT, lambda *_: ended or os.kill(kernel, signal.SIGINT))
        while "status" not in ended:  # an init also reaps the orphans of its namespace
            pid, status = os.waitpid(-1, 0)
            if pid == kernel:
                ended["status"] = status
        os.write(status_fd, f"{ended['status']}\n".encode())
    finally:
        os._exit(0)


def keep(init: int, status_fd: int) -> None:
    """The keeper of a sandboxed kernel: the server's child, outside the kernel's namespaces.

    The server signals and reaps this process; it passes interrupts on to the namespace's init
    and ends exactly as the kernel ended (exit code or signal), so the server sees the kernel's
    fate (a CPU-limit signal, say) here.
    """
    signal.signal(signal.SIGINT, lambda *_: os.kill(init, signal.SIGINT))
    _, status = os.waitpid(init, 0)
    reported = os.read(status_fd, 64).strip()
    if reported.isdigit():
        status = int(reported)
    code = os.waitstatus_to_exitcode(status)
    if code < 0:
        resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
        if -code != signal.SIGKILL:  # SIGKILL's action cannot be set, and needs no setting
            try:
                signal.signal(-code, signal.SIG_DFL)
            except (OSError, ValueError):
                pass
        os.kill(os.getpid(), -code)
        os.kill(os.getpid(), signal.SIGKILL)  # a signal whose default is not to end a process
    os._exit(code & 0xFF)


def fork_kernel(request: dict, protocol_fds: tuple[int, int]) -> tuple[int, int]:
    """Fork a kernel; (its pid, the pipe its ready line will come on). Returns at once."""
    ready_read, ready_write = os.pipe()
    pid = os.fork()
    if pid == 0:
        os.close(ready_read)
        become_kernel(request, protocol_fds, ready_write)
    os.close(ready_write)
    return pid, ready_read


def await_ready(pid: int, ready_read: int) -> dict:
    """Wait (bounded) until a forked kernel has set up its state: the ``start`` reply."""
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
        _kill_group(pid)
    return {"pid": pid, **reply}


def _kill_group(pid: int, signum: int = signal.SIGKILL) -> None:
    try:
        os.killpg(pid, signum)
    except (ProcessLookupError, PermissionError):
        pass


class Server:
    """The warm server's state: the kernels it forked, how they ended, and one spare.

    In the sandbox, after each ``start`` the server forks the next submission's kernel at
    once (the *spare*), so its start-up overlaps the running submission. That is safe because
    every kernel has namespaces of its own (``fresh_state``): the running submission can
    neither name, signal, trace nor read the spare. A spare is handed out only for a request
    with the same working folder, environment and limits it was forked with.

    With a GPU (``gpu``) there is no spare, and a killed kernel is waited for until its whole
    PID namespace is gone (its init's pidfd), so no CUDA context outlives its submission when
    the next kernel starts: a spare kernel was seen to start without CUDA on an H200.
    """

    def __init__(self, protocol_fds: tuple[int, int], own_pid_namespace: bool, gpu: bool = False):
        self.protocol_fds = protocol_fds
        self.own_pid_namespace = own_pid_namespace
        self.gpu = gpu
        self.inits: dict[int, int] = {}       # with a GPU: keeper pid -> pidfd of its namespace's init
        self.children: set[int] = set()       # kernels handed out, until reaped
        self.exits: dict[int, int] = {}
        self.spare: tuple[int, int, dict] | None = None  # (pid, ready pipe, request it was forked for)
        self.last_workdir: str | None = None  # without a sandbox, the folder ``reap`` deletes
        self._spare_wanted: dict | None = None

    def handle(self, request: dict) -> dict:
        self._collect()
        op = request.get("op")
        if op == "start":
            return self.start(request)
        if op == "poll":
            pid = request["pid"]
            return {"exit": self.exits.get(pid)}
        if op == "signal":
            return self.signal(request["pid"], request["signal"])
        if op == "reap":
            return {"reaped": self.reap()}
        return {"error": f"unknown op {op!r}"}

    def start(self, request: dict) -> dict:
        wanted = {key: request.get(key) for key in ("cwd", "env", "limits", "sandboxed", "connection_file")}
        reply = None
        if self.spare is not None and self.spare[2] == wanted and self._alive(self.spare[0]):
            pid, ready, _ = self.spare
            self.spare = None
            reply = await_ready(pid, ready)
            if "error" in reply:  # a spare that failed costs a fresh fork, never the submission
                self._discard(pid)
                reply = None
        self._drop_spare()
        if reply is None:
            reply = await_ready(*fork_kernel(request, self.protocol_fds))
        self.children.add(reply["pid"])
        init = reply.pop("init", None)
        if self.gpu and isinstance(init, int):
            try:  # the init is the keeper's unreaped child until the keeper ends: its pid is its own
                self.inits[reply["pid"]] = os.pidfd_open(init)
            except OSError:
                pass
        if not request.get("sandboxed"):
            self.last_workdir = request["cwd"]
        elif "error" not in reply and not self.gpu:
            self._spare_wanted = wanted
        return reply

    def after_reply(self) -> None:
        """Fork the spare once the reply that asked for it is on its way."""
        if self._spare_wanted is not None:
            wanted, self._spare_wanted = self._spare_wanted, None
            pid, ready = fork_kernel(wanted, self.protocol_fds)
            self.spare = (pid, ready, wanted)

    def signal(self, pid: int, signum: int) -> dict:
        if pid not in self.children:
            return {"ok": False}
        if signum == signal.SIGKILL or not self.own_pid_namespace:
            _kill_group(pid, signum)
        else:  # the keeper passes it on to the kernel alone
            try:
                os.kill(pid, signum)
            except ProcessLookupError:
                pass
        if signum == signal.SIGKILL and pid not in self.exits:
            # Dead from here on: no line of it runs again. Its exit is collected later, off the
            # grader's path; its namespaces hold nothing another kernel can reach meanwhile.
            # With a GPU it is waited for: its CUDA context must be gone before the next start.
            if self.gpu:
                self._await_end(pid)
        if signum == signal.SIGKILL and pid not in self.exits:
            done, status = os.waitpid(pid, os.WNOHANG)
            self.exits[pid] = os.waitstatus_to_exitcode(status) if done else -signal.SIGKILL
            if done:
                self.children.discard(pid)
        return {"ok": True}

    def reap(self) -> int:
        """Kill what the last submission left running; the spare is not the last submission's.

        In the sandbox every process of a submission lives in its kernel's PID namespace and
        dies with it, so killing each keeper's group is enough, and nothing need be awaited.
        Without a sandbox, it kills the process groups of its own kernels and waits for them
        (``kill(-1)`` there would reach every process of the user), then deletes the folder.
        """
        reaped = 0
        for pid in list(self.children):
            _kill_group(pid)
            if self.gpu:
                self._await_end(pid)
                done = pid not in self.children
            elif self.own_pid_namespace:
                done, _ = os.waitpid(pid, os.WNOHANG)
            else:
                done, _ = os.waitpid(pid, 0)
            if done:
                self.children.discard(pid)
                reaped += 1
        self.exits.clear()
        for handle in self.inits.values():
            os.close(handle)
        self.inits.clear()
        if self.last_workdir:
            shutil.rmtree(self.last_workdir, ignore_errors=True)
            self.last_workdir = None
        return reaped

    def _await_end(self, pid: int) -> None:
        """Wait (bounded) until a killed kernel's keeper and its whole PID namespace have ended."""
        deadline = time.monotonic() + STOP_TIMEOUT_S
        handle = self.inits.get(pid)
        if handle is not None:
            select.select([handle], [], [], STOP_TIMEOUT_S)  # readable once the init has exited
        while time.monotonic() < deadline:
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                return
            if done:
                self.children.discard(pid)
                self.exits.setdefault(pid, os.waitstatus_to_exitcode(status))
                return
            time.sleep(0.002)

    def _alive(self, pid: int) -> bool:
        try:
            done, _ = os.waitpid(pid, os.WNOHANG)
        except ChildProcessError:
            return False
        return done == 0

    def _discard(self, pid: int) -> None:
        _kill_group(pid)
        self.children.add(pid)  # collected like any killed kernel
        self.exits[pid] = -signal.SIGKILL

    def _drop_spare(self) -> None:
        if self.spare is not None:
            pid, ready, _ = self.spare
            self.spare = None
            os.close(ready)
            self._discard(pid)

    def _collect(self) -> None:
        """Collect the exit of every kernel that has ended, without waiting for any."""
        for pid in list(self.children):
            try:
                done, status = os.waitpid(pid, os.WNOHANG)
            except ChildProcessError:
                self.children.discard(pid)
                continue
            if done:
                self.children.discard(pid)
                self.exits.setdefault(pid, os.waitstatus_to_exitcode(status))


def serve(requests, replies, own_pid_namespace: bool, gpu: bool = False) -> None:
    server = Server((requests.fileno(), replies.fileno()), own_pid_namespace, gpu)
    for line in requests:
        request: dict = {}
        try:
            request = json.loads(line)
            if request.get("op") == "start":
                request["sandboxed"] = own_pid_namespace
            reply = server.handle(request)
        except (ValueError, KeyError, TypeError, AttributeError, OSError) as error:
            reply = {"error": f"bad request: {type(error).__name__}: {error}"}
        reply["id"] = request.get("id") if isinstance(request, dict) else None
        replies.write(json.dumps(reply) + "\n")
        replies.flush()
        try:
            server.after_reply()
        except OSError:  # no spare this time; the next start forks its kernel itself
            pass


def memory_mib(field: str = "VmSize") -> int:
    """This process's virtual memory size (``VmData``: its data segment), in MiB: the floor
    under every forked kernel's memory limit."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(f"{field}:"):
                return int(line.split()[1]) // 1024
    return 0


def main() -> None:
    ctypes.CDLL(None).prctl(PR_SET_DUMPABLE, 0, 0, 0, 0)
    preload = sys.argv[sys.argv.index("--preload") + 1].split(",") if "--preload" in sys.argv else []
    warm_up([name for name in preload if name])
    sys.stdout.write(json.dumps({"ready": os.getpid(), "address_space_mib": memory_mib(),
                                 "data_mib": memory_mib("VmData")}) + "\n")
    sys.stdout.flush()
    global KERNEL_UID
    if "--kernel-uid" in sys.argv:
        KERNEL_UID = int(sys.argv[sys.argv.index("--kernel-uid") + 1])
    # In the sandbox, bubblewrap's init is PID 1 and this server its child.
    own_pid_namespace = "--sandboxed" in sys.argv and os.getppid() == 1
    serve(sys.stdin, sys.stdout, own_pid_namespace, gpu="--gpu" in sys.argv)


if __name__ == "__main__":
    main()
