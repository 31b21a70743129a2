"""The box student code runs in: bubblewrap namespaces, an unprivileged uid, resource limits.

What a grading sandbox sees and may do:

- **Files**: read-only the system (``/usr``, ``/etc``), the Python interpreter,
  its site-packages and the course's ``utils`` package; nothing else of the
  course or the host (not ``source/``, not the gradebook, not other
  submissions, no folder shared with the grader). Each kernel writes only to
  a size-limited tmpfs of its own on ``/tmp``, mounted fresh before any
  student line runs and gone with its last process
  (``warm_kernel.fresh_state``): working folder, home, config and cache
  folders, ``/dev/shm`` and its connection file and sockets all live there.
- **Network**: none. A network namespace of its own, so not even the host's
  loopback is reachable.
- **Processes**: a PID namespace of its own; a uid of its own (from 60000 up,
  never shared by two sandboxes at once, ``SandboxUid``) when the grader runs
  as root, so that process limits hold per sandbox and the files of the host
  are protected by ordinary permissions. Each kernel is also in a user and
  mount namespace of its own, where it cannot create further user namespaces.
  The sandbox dies with the grader (``--die-with-parent``), however the
  grader ends.
- **Limits** per kernel (``Limits``): memory, CPU time, processes, open files,
  file size, plus wall-clock timeouts per cell and per notebook enforced by
  the grader, and a cap on the output it keeps.

Nothing here needs Docker: only Debian's ``bubblewrap``.
"""

from __future__ import annotations

import fcntl
import os
import shutil
import subprocess
import sys
from dataclasses import asdict, dataclass
from pathlib import Path

FIRST_SANDBOX_UID = 60000
SANDBOX_UIDS = 4096
UID_LOCKS = Path("/tmp/autograder-uids")  # fixed, whatever TMPDIR says: every grader must see the same locks
WARM_KERNEL_SCRIPT = Path(__file__).with_name("warm_kernel.py")


@dataclass(frozen=True)
class Limits:
    """Per-submission limits. Defaults follow common autograder practice (PrairieLearn: ~2 GiB, 1 CPU)."""

    memory_mib: int = 2048          # added on top of the warm interpreter's own address space
    cpu_seconds: int = 600          # CPU time of one kernel, all cells together
    processes: int = 256            # processes and threads of one sandbox
    open_files: int = 256
    file_size_mib: int = 64         # largest file a submission may write
    disk_mib: int = 256             # everything one kernel may write: its fresh /tmp, sockets included
    output_kib: int = 1024          # printed output kept per notebook; the rest is dropped
    cell_timeout_s: float = 60.0    # wall clock, one cell
    notebook_timeout_s: float = 600.0  # wall clock, the whole notebook

    def for_kernel(self, warm_address_space_mib: int, warm_data_mib: int = 0, gpu: bool = False) -> dict:
        """The limits the warm server applies with setrlimit in each forked kernel.

        ``memory_mib`` bounds what a kernel adds to the warm interpreter: its address space
        (``RLIMIT_AS``) on the CPU. CUDA reserves tens of GiB of address space when it starts
        (``cudaGetDeviceCount`` fails with "out of memory" under that limit), so with a GPU the
        bound is on its data segment instead (``RLIMIT_DATA``: private writable memory, which
        such reservations are not).
        """
        limits = asdict(self)
        limits["address_space_mib"] = warm_address_space_mib + self.memory_mib if self.memory_mib and not gpu else 0
        limits["data_mib"] = warm_data_mib + self.memory_mib if self.memory_mib and gpu else 0
        return limits


class IsolationUnavailable(RuntimeError):
    """This machine cannot sandbox student code; the message says why and what to install."""


def _bind_with_parents(path: Path, mode: str = "--ro-bind", existing: tuple[str, ...] = ()) -> list[str]:
    """bwrap arguments that bind ``path`` at the same place, creating its parents traversable (0755)
    unless they already exist in the sandbox (``existing``)."""
    args = []
    for parent in reversed(path.parents[:-1]):  # without "/"
        if str(parent) not in existing:
            args += ["--perms", "0755", "--dir", str(parent)]
    return args + [mode, str(path), str(path)]


def _readable_roots() -> list[Path]:
    """What the sandbox reads: the interpreter, its packages and the ``utils`` package, nothing more."""
    import utils  # the package only; nothing heavy is imported with it
    roots = {Path(sys.base_prefix).resolve(), Path(sys.prefix).resolve(), Path(utils.__file__).resolve().parent}
    for entry in sys.path:  # site-packages living outside both prefixes
        path = Path(entry)
        if path.name == "site-packages" and path.is_dir():
            roots.add(path.resolve())
    return sorted(roots, key=lambda p: len(p.parts))


def _without_nested(paths: list[Path]) -> list[Path]:
    kept: list[Path] = []
    for path in paths:
        if not any(path == k or k in path.parents for k in kept):
            kept.append(path)
    return kept


class SandboxUid:
    """An unprivileged uid that no other sandbox on this machine uses while this one is held.

    Limits on processes count per uid, so two sandboxes sharing one (two
    workers, or two grading runs at once) could starve each other: a fork
    bomb in one would stop the other from starting threads. A uid is held
    by an exclusive lock on ``UID_LOCKS/<uid>`` until ``release``.
    """

    def __init__(self):
        UID_LOCKS.mkdir(mode=0o700, exist_ok=True)
        for uid in range(FIRST_SANDBOX_UID, FIRST_SANDBOX_UID + SANDBOX_UIDS):
            handle = open(UID_LOCKS / str(uid), "w")
            try:
                fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                handle.close()
                continue
            self.uid, self._handle = uid, handle
            return
        raise RuntimeError(f"all {SANDBOX_UIDS} sandbox uids are in use")

    def release(self) -> None:
        if self._handle is not None:
            self._handle.close()  # closing drops the lock
            self._handle = None


def sandbox_command(uid: int | None, limits: Limits, env: dict[str, str], devices: list[str] = (),
                    preload: list[str] = ()) -> list[str]:
    """The command line that starts a warm kernel server in a sandbox, as ``uid`` (when run as root),
    importing ``preload`` (module names) before it forks any kernel.

    The server's own ``/tmp`` (its matplotlib cache) is size-limited too; kernels never see it.
    Without root, bubblewrap adds a user namespace and everything runs as the instructor's uid.
    """
    system = ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for name in ("bin", "lib", "lib64", "sbin", "lib32", "libx32"):
        link = Path("/") / name
        if link.is_symlink():
            system += ["--symlink", os.readlink(link), str(link)]
        elif link.is_dir():
            system += ["--ro-bind", str(link), str(link)]
    readable = []
    for root in _without_nested(_readable_roots()):
        readable += _bind_with_parents(root, existing=("/tmp",))
    readable += _bind_with_parents(WARM_KERNEL_SCRIPT, existing=("/tmp",))
    command = [
        "bwrap",
        *([] if os.geteuid() == 0 else ["--unshare-user"]),
        "--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts", "--unshare-cgroup-try",
        "--die-with-parent", "--new-session", "--hostname", "grading",
        *system,
        # /tmp first: a course that itself lives under /tmp is bound on top of it, not hidden by it
        "--size", str(limits.disk_mib * 1024 * 1024), "--perms", "1777", "--tmpfs", "/tmp",
        *readable,
        "--proc", "/proc", "--dev", "/dev",
    ]
    for device in devices:
        command += ["--dev-bind", device, device]
    command += ["--clearenv"]
    # The server imports the very ``utils`` bound here, whatever finder the grader found it by
    # (an editable install would point the sandbox's interpreter at a path that is not bound).
    import utils
    env = {**env, "PYTHONPATH": str(Path(utils.__file__).resolve().parent.parent)}
    for key, value in env.items():
        command += ["--setenv", key, value]
    server = [sys.executable, str(WARM_KERNEL_SCRIPT), "--sandboxed", *(["--gpu"] if devices else [])]
    if preload:
        server += ["--preload", ",".join(preload)]
    if os.geteuid() == 0:
        # The server keeps only the capabilities to switch each kernel to the sandbox's uid and to
        # kill what a kernel leaves behind; student code then runs as that unprivileged uid and can
        # neither signal nor trace the server. Without root, everything runs as the user.
        command += ["--cap-drop", "ALL", "--cap-add", "CAP_SETUID", "--cap-add", "CAP_SETGID",
                    "--cap-add", "CAP_KILL"]
        server += ["--kernel-uid", str(uid)]
    return command + ["--chdir", "/tmp", "--"] + server


def gpu_devices() -> list[str]:
    """NVIDIA device files to pass through when grading on the GPU."""
    return sorted(str(p) for p in Path("/dev").glob("nvidia*"))


def isolation_problem() -> str | None:
    """Why student code cannot be sandboxed on this machine, or None when it can."""
    if shutil.which("bwrap") is None:
        return "bubblewrap is not installed (Debian: apt-get install bubblewrap; `make install` does it)"
    probe = ["bwrap", "--unshare-net", "--unshare-pid", "--ro-bind", "/", "/", "--dev", "/dev",
             "--proc", "/proc", "--", "true"]
    if os.geteuid() != 0:
        probe[1:1] = ["--unshare-user"]
    result = subprocess.run(probe, capture_output=True, text=True)
    if result.returncode != 0:
        return f"bubblewrap cannot create namespaces here: {result.stderr.strip() or result.returncode}"
    return None
