"""Kernels for grading: forked from a warm server inside a sandbox, driven by nbclient outside it.

``WarmWorker`` owns one sandbox (``autograder.sandbox``) running
``autograder/warm_kernel.py``. ``SandboxedKernelProvisioner`` plugs it into
jupyter_client, so an ordinary ``AsyncKernelManager`` + ``nbclient`` execute
notebooks in those kernels over unix sockets.

Nothing on the host is shared with a sandbox. Each kernel draws its
connection's key and socket folder (random name, 0700) itself, and creates them
on its own fresh tmpfs (``warm_kernel.fresh_state``); the grader reaches that
folder through ``/proc/<kernel>/root`` and pins it with a file descriptor, so
the sockets it talks to are those of the kernel it started, whatever a student
leaves behind.
"""

from __future__ import annotations

import asyncio
import json
import os
import re
import shutil
import signal
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

from queue import Empty

import zmq
from jupyter_client import AsyncKernelClient, AsyncKernelManager
from jupyter_client.provisioning import KernelProvisionerBase

from autograder.sandbox import Limits, SandboxUid, sandbox_command

STARTUP_TIMEOUT_S = 180.0
REQUEST_TIMEOUT_S = 30.0
STOP_TIMEOUT_S = 10.0
MAX_MESSAGE_BYTES = 64 * 1024 * 1024
IPC_PORTS = {"shell_port": 1, "iopub_port": 2, "stdin_port": 3, "control_port": 4, "hb_port": 5}
KERNEL_FOLDER = re.compile(r"/tmp/\.kernel-[0-9a-f]{24}")   # as the warm server names them
KEY = re.compile(r"[0-9a-f]{64}")


class WorkerDied(RuntimeError):
    """The warm server stopped answering: killed by a submission, or out of memory."""


class WarmWorker:
    """One sandboxed warm kernel server. Start it, fork kernels from it, reap after each submission."""

    def __init__(self, index: int, limits: Limits, kernel_env: dict[str, str], devices: list[str] = (),
                 sandboxed: bool = True, preload: list[str] = ()):
        self.index = index
        self.preload = list(preload)     # modules the server imports before forking kernels
        self.limits = limits
        self.kernel_env = kernel_env
        self.devices = list(devices)
        self.sandboxed = sandboxed
        self.private: Path | None = None   # the grader's own folder: connection files (and, without a
        # sandbox, the kernels' sockets and working folders)
        self.process: asyncio.subprocess.Process | None = None
        self.address_space_mib = 0
        self.data_mib = 0
        self.sandbox_init_pid: int | None = None
        self.uid: SandboxUid | None = None
        self.closed = False                 # set by ``stop``: no sandbox may start after it
        self.late_replies = 0               # replies whose request was abandoned, dropped unread
        self.setup_ms: list[float] = []     # per kernel: ms to set up its fresh state, in the kernel
        self.pin_ms: list[float] = []       # per kernel: ms to find and pin its socket folder, here
        self._pending: dict[int, asyncio.Future] = {}
        self._next_id = 0
        self._reader: asyncio.Task | None = None
        self._kernel_roots: set[int] = set()  # open descriptors pinning kernels' socket folders
        self._jobs = 0

    # -- life cycle --

    def _server_env(self) -> dict[str, str]:
        env = {key: value for key, value in self.kernel_env.items()}
        env.update({"HOME": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib", "PATH": "/usr/bin:/bin",
                    "PYTHONDONTWRITEBYTECODE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
        return env

    async def start(self) -> None:
        if self.closed:
            raise WorkerDied(f"worker {self.index}: the pool is stopping")
        self.private = Path(tempfile.mkdtemp(prefix=f"autograder-worker{self.index}-"))
        if self.sandboxed:
            if os.geteuid() == 0:
                self.uid = self.uid or SandboxUid()
            info_read, info_write = os.pipe()
            command = sandbox_command(self.uid.uid if self.uid else None, self.limits, self._server_env(),
                                      self.devices, self.preload)
            command[1:1] = ["--info-fd", str(info_write)]  # bubblewrap reports the sandbox's init pid there
            env = None
        else:  # explicitly allowed by the instructor: same machine, same user, no isolation
            from autograder.sandbox import WARM_KERNEL_SCRIPT
            import sys
            command = [sys.executable, str(WARM_KERNEL_SCRIPT), *(["--preload", ",".join(self.preload)]
                                                                  if self.preload else [])]
            env = {**os.environ, **self._server_env(), "HOME": str(self.private),
                   "MPLCONFIGDIR": str(self.private / "matplotlib")}
        self.process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env, limit=1024 * 1024, start_new_session=True,
            pass_fds=(info_write,) if self.sandboxed else ())
        if self.sandboxed:
            os.close(info_write)
        if self.closed:  # the pool stopped while this sandbox was being created
            await self._kill()
            raise WorkerDied(f"worker {self.index}: the pool is stopping")
        try:
            ready = await asyncio.wait_for(self.process.stdout.readline(), STARTUP_TIMEOUT_S)
        except asyncio.TimeoutError:
            ready = b""
        if not ready or self.process is None:
            stderr = b""
            if self.process is not None and (self.process.returncode is not None or self.process.stderr):
                try:
                    stderr = await asyncio.wait_for(self.process.stderr.read(4000), 1)
                except asyncio.TimeoutError:
                    pass
            await self._kill()
            raise WorkerDied(f"worker {self.index} did not start: {stderr.decode(errors='replace').strip()}")
        ready = json.loads(ready)
        self.address_space_mib = int(ready["address_space_mib"])
        self.data_mib = int(ready.get("data_mib", 0))
        if self.sandboxed:
            try:
                self.sandbox_init_pid = json.loads(os.read(info_read, 65536))["child-pid"]
            except (ValueError, KeyError, OSError):
                self.sandbox_init_pid = None
            os.close(info_read)
        self._reader = asyncio.ensure_future(self._read_replies(self.process))
        asyncio.ensure_future(self._drain_stderr())

    async def _read_replies(self, process: asyncio.subprocess.Process) -> None:
        """Hand each reply to the request with its id; a reply nobody waits for any more is dropped."""
        try:
            while True:
                line = await process.stdout.readline()
                if not line:
                    break
                try:
                    reply = json.loads(line)
                    future = self._pending.get(reply.get("id"))
                except (ValueError, AttributeError, TypeError):
                    future = None
                if future is None or future.done():
                    self.late_replies += 1
                else:
                    future.set_result(reply)
        except (ValueError, OSError):  # a line past the stream's limit: the server is not itself
            pass
        finally:
            for future in self._pending.values():
                if not future.done():
                    future.set_exception(WorkerDied(f"worker {self.index} exited"))

    async def _drain_stderr(self) -> None:
        """Read and drop the server's stderr so a noisy submission cannot block it; it never decides a grade."""
        try:
            while self.process and await self.process.stderr.read(65536):
                pass
        except Exception:
            pass

    @property
    def alive(self) -> bool:
        return self.process is not None and self.process.returncode is None

    async def stop(self) -> None:
        """Kill the sandbox and everything in it, for good: a ``start`` racing this one gives up."""
        self.closed = True
        await self._kill()

    async def _kill(self) -> None:
        """Kill the sandbox and everything in it. Every wait is bounded: this never hangs."""
        # Killing the sandbox's init (PID 1 inside) ends every process in the sandbox at once;
        # killing bubblewrap's outer process alone would leave them running.
        if self.sandbox_init_pid:
            try:
                os.kill(self.sandbox_init_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.sandbox_init_pid = None
        process, self.process = self.process, None
        if process is not None and process.returncode is None:
            try:
                os.killpg(process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                await asyncio.wait_for(process.wait(), STOP_TIMEOUT_S)
            except asyncio.TimeoutError:
                pass
        if self._reader is not None:
            self._reader.cancel()
            self._reader = None
        self._close_kernel_roots()
        if self.private is not None:
            shutil.rmtree(self.private, ignore_errors=True)
            self.private = None
        if self.uid is not None:
            self.uid.release()
            self.uid = None

    async def restart(self) -> None:
        await self._kill()
        await self.start()

    # -- requests --

    async def request(self, message: dict) -> dict:
        """Send one request and wait for the reply that carries its id.

        Safe to cancel at any point (nbclient cancels its kernel-alive poll at the end of
        every cell): the line is written whole or not at all, and a reply that arrives
        after its request was abandoned is dropped, never read as another's.
        """
        if not self.alive or self._reader is None or self._reader.done():
            raise WorkerDied(f"worker {self.index} is not running")
        self._next_id += 1
        ident = self._next_id
        reply = asyncio.get_running_loop().create_future()
        self._pending[ident] = reply
        try:
            self.process.stdin.write((json.dumps({**message, "id": ident}) + "\n").encode())
            # asyncio.wait, not wait_for: on Python 3.11 wait_for can swallow a cancellation
            draining = asyncio.ensure_future(self.process.stdin.drain())
            done, _ = await asyncio.wait({draining}, timeout=REQUEST_TIMEOUT_S)
            if draining in done:
                draining.result()
                done, _ = await asyncio.wait({reply}, timeout=REQUEST_TIMEOUT_S)
            if reply not in done:
                raise asyncio.TimeoutError
            return reply.result()
        except (BrokenPipeError, ConnectionResetError, asyncio.TimeoutError) as error:
            raise WorkerDied(f"worker {self.index} stopped answering ({type(error).__name__})") from error
        finally:
            self._pending.pop(ident, None)

    def kernel_manager(self) -> AsyncKernelManager:
        """A kernel manager whose kernel will be forked in this worker's sandbox."""
        self._jobs += 1
        name = f"kernel-{self._jobs}"
        km = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=str(self.private / name),
                                connection_file=str(self.private / f"{name}.json"))
        km.client_class = f"{__name__}.QuickReadyClient"
        # The client connects before the kernel has bound its sockets; retry every
        # 5 ms rather than zmq's default 100 ms. Cap message size: output is bounded anyway.
        km.context.setsockopt(zmq.RECONNECT_IVL, 5)
        km.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        km.provisioner = SandboxedKernelProvisioner(kernel_id=str(uuid.uuid4()), kernel_spec=None, parent=km)
        km.provisioner.worker = self
        km.provisioner.workdir = "/tmp/submission" if self.sandboxed else str(self.private / f"submission-{self._jobs}")
        return km

    def pin_kernel_folder(self, kernel_pid: int, folder: str) -> str:
        """The host path of a kernel's socket folder (``folder`` in the kernel's own view), pinned.

        The folder lives on the kernel's private tmpfs; ``/proc/<host pid>/root`` leads into it.
        The grader keeps a descriptor on it and uses the path through that descriptor, so the
        sockets it connects to stay those of this kernel even if its pid is reused.
        """
        host_pid = _host_pid(self.sandbox_init_pid, kernel_pid)
        handle = os.open(f"/proc/{host_pid}/root{folder}", os.O_PATH | os.O_DIRECTORY | os.O_NOFOLLOW)
        self._kernel_roots.add(handle)
        return f"/proc/{os.getpid()}/fd/{handle}"

    def _close_kernel_roots(self) -> None:
        for handle in self._kernel_roots:
            try:
                os.close(handle)
            except OSError:
                pass
        self._kernel_roots.clear()

    async def reap(self) -> None:
        """After a submission: kill whatever it left running; its files go with its tmpfs."""
        self._close_kernel_roots()
        if self.alive:
            try:
                await self.request({"op": "reap"})
                return
            except WorkerDied:
                pass
        await self.restart()


def _host_pid(sandbox_init_pid: int | None, pid_in_sandbox: int) -> int:
    """The host pid of the process that is ``pid_in_sandbox`` in the sandbox whose init is given.

    The kernel sees only its own pid namespace, the grader only the host's: among the processes
    in the sandbox's pid namespace (a cheap ``readlink`` each), the one whose ``NSpid`` ends in
    ``pid_in_sandbox``.
    """
    if not sandbox_init_pid:
        raise WorkerDied("the sandbox's init pid is unknown")
    namespace = os.readlink(f"/proc/{sandbox_init_pid}/ns/pid")
    for entry in sorted((int(name) for name in os.listdir("/proc") if name.isdigit()), reverse=True):
        try:
            if os.readlink(f"/proc/{entry}/ns/pid") != namespace:
                continue
            with open(f"/proc/{entry}/status") as status:
                nspid = next((line.split()[1:] for line in status if line.startswith("NSpid:")), [])
            if nspid and int(nspid[-1]) == pid_in_sandbox and os.readlink(f"/proc/{entry}/ns/pid") == namespace:
                return entry
        except OSError:  # gone meanwhile, or not ours to look at
            continue
    raise RuntimeError(f"kernel {pid_in_sandbox} is not running in the sandbox")


async def _heartbeat(km: AsyncKernelManager, timeout_ms: int = 1000) -> bool:
    """True if the kernel echoes a ping on its heartbeat socket."""
    socket = km.connect_hb()
    try:
        await socket.send(b"ping")
        return bool(await socket.poll(timeout_ms))
    except zmq.ZMQError:
        return False
    finally:
        socket.close(linger=0)


class QuickReadyClient(AsyncKernelClient):
    """A kernel client that is ready as soon as both shell and IOPub answer.

    jupyter_client's own check ends by waiting 0.2 s for IOPub to fall
    silent, a fixed cost per notebook; here the first IOPub message proves
    the channel is connected, and nbclient ignores stale messages anyway.
    """

    async def wait_for_ready(self, timeout: float | None = None) -> None:
        deadline = asyncio.get_running_loop().time() + (timeout or 60.0)
        while asyncio.get_running_loop().time() < deadline:
            self.kernel_info()
            try:
                reply = await self.shell_channel.get_msg(timeout=1)
            except Empty:
                reply = None
            if reply and reply["msg_type"] == "kernel_info_reply":
                # Any IOPub message proves the channel is connected: ipykernel's welcome to a new
                # subscriber, or the status of a kernel_info request sent once it was. Wait briefly
                # and ask again rather than long: a request sent before it connected is never seen.
                try:
                    await self.iopub_channel.get_msg(timeout=0.05)
                    self._handle_kernel_info_reply(reply)
                    return
                except Empty:
                    pass
            if not await self._async_is_alive():
                raise RuntimeError("Kernel died before replying to kernel_info")
        raise RuntimeError(f"Kernel didn't respond in {timeout} seconds")


class SandboxedKernelProvisioner(KernelProvisionerBase):
    """jupyter_client provisioner: the kernel process is a fork of a ``WarmWorker``'s server."""

    worker: WarmWorker
    workdir: str
    pid: int | None = None
    exit_code: int | None = None

    @property
    def has_process(self) -> bool:
        return self.pid is not None and self.exit_code is None

    async def pre_launch(self, **kwargs: Any) -> dict[str, Any]:
        km = self.parent
        for name, port in IPC_PORTS.items():  # ipc "ports" are file-name suffixes: no search for free ones
            setattr(km, name, port)
        if not self.worker.sandboxed:
            km.write_connection_file()
        kwargs.pop("extra_arguments", None)
        kwargs.pop("env", None)  # the kernel's environment is the sandbox's, never the grader's
        return {"cmd": [], **kwargs}

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        km, worker = self.parent, self.worker
        request = {"op": "start", "cwd": self.workdir, "env": worker._server_env(),
                   "limits": worker.limits.for_kernel(worker.address_space_mib, worker.data_mib,
                                                     gpu=bool(worker.devices))}
        if not worker.sandboxed:
            request["connection_file"] = km.connection_file
            request["env"] = {**request["env"], "HOME": self.workdir}
        reply = await worker.request(request)
        if "pid" in reply:
            self.pid = reply["pid"]
        if "error" in reply:
            self.exit_code = -signal.SIGKILL
            raise RuntimeError(f"the kernel could not start: {reply['error']}")
        if worker.sandboxed:
            # The kernel chose its socket folder and key itself, after its fork: no earlier
            # submission can have known either. The server vouches for both; check their shape.
            connection = reply.get("connection") or {}
            prefix, key = connection.get("ip"), connection.get("key")
            if not (isinstance(prefix, str) and prefix.endswith("/kernel") and KERNEL_FOLDER.fullmatch(prefix[:-7])
                    and isinstance(key, str) and KEY.fullmatch(key)):
                raise RuntimeError(f"the kernel's connection is malformed: {str(connection)[:200]}")
            pinning = time.perf_counter()
            km.session.key = key.encode()
            km.ip = f"{worker.pin_kernel_folder(self.pid, prefix[:-7])}/kernel"
            worker.setup_ms.append(float(reply.get("setup_ms", 0.0)))
            worker.pin_ms.append((time.perf_counter() - pinning) * 1000)
        self.connection_info = km.get_connection_info()
        return self.connection_info

    async def poll(self) -> int | None:
        if self.pid is None:
            return 0
        if self.exit_code is None:
            try:
                self.exit_code = (await self.worker.request({"op": "poll", "pid": self.pid}))["exit"]
            except WorkerDied:  # the server is gone (a submission can kill it); is the kernel?
                if not await _heartbeat(self.parent):
                    self.exit_code = -signal.SIGKILL
        return self.exit_code

    async def wait(self) -> int | None:
        for _ in range(100):
            if await self.poll() is not None:
                break
            await asyncio.sleep(0.02)
        return self.exit_code

    async def send_signal(self, signum: int) -> None:
        if self.has_process:
            try:
                await self.worker.request({"op": "signal", "pid": self.pid, "signal": int(signum)})
            except WorkerDied:
                self.exit_code = -signal.SIGKILL

    async def kill(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGKILL)  # the server reaps it before answering
        await self.poll()

    async def terminate(self, restart: bool = False) -> None:
        await self.send_signal(signal.SIGTERM)

    async def cleanup(self, restart: bool = False) -> None:
        pass

    def get_shutdown_wait_time(self, recommended: float = 5.0) -> float:
        return 1.0
