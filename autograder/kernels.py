"""Kernels for grading: forked from a warm server inside a sandbox, driven by nbclient outside it.

``WarmWorker`` owns one sandbox (``autograder.sandbox``) running
``autograder/warm_kernel.py``. ``SandboxedKernelProvisioner`` plugs it into
jupyter_client, so an ordinary ``AsyncKernelManager`` + ``nbclient`` execute
notebooks in those kernels over unix sockets; only the sockets folder is
shared between the grader and the sandbox.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import tempfile
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
MAX_MESSAGE_BYTES = 64 * 1024 * 1024


class WorkerDied(RuntimeError):
    """The warm server stopped answering: killed by a submission, or out of memory."""


class WarmWorker:
    """One sandboxed warm kernel server. Start it, fork kernels from it, reap after each submission."""

    def __init__(self, index: int, limits: Limits, kernel_env: dict[str, str], devices: list[str] = (),
                 sandboxed: bool = True):
        self.index = index
        self.limits = limits
        self.kernel_env = kernel_env
        self.devices = list(devices)
        self.sandboxed = sandboxed
        self.sockets: Path | None = None   # the kernels' unix sockets, shared with the sandbox
        self.process: asyncio.subprocess.Process | None = None
        self.address_space_mib = 0
        self.sandbox_init_pid: int | None = None
        self.uid: SandboxUid | None = None
        self._lock = asyncio.Lock()
        self._jobs = 0

    # -- life cycle --

    def _server_env(self) -> dict[str, str]:
        env = {key: value for key, value in self.kernel_env.items()}
        env.update({"HOME": "/tmp", "MPLCONFIGDIR": "/tmp/matplotlib", "PATH": "/usr/bin:/bin",
                    "PYTHONDONTWRITEBYTECODE": "1", "PYDEVD_DISABLE_FILE_VALIDATION": "1"})
        return env

    async def start(self) -> None:
        self.sockets = Path(tempfile.mkdtemp(prefix=f"autograder-worker{self.index}-"))
        os.chmod(self.sockets, 0o755)
        if self.sandboxed:
            if os.geteuid() == 0:
                self.uid = self.uid or SandboxUid()
                os.chown(self.sockets, self.uid.uid, self.uid.uid)
            info_read, info_write = os.pipe()
            command = sandbox_command(self.uid.uid if self.uid else None, self.sockets, self.limits, self._server_env(), self.devices)
            command[1:1] = ["--info-fd", str(info_write)]  # bubblewrap reports the sandbox's init pid there
            env = None
        else:  # explicitly allowed by the instructor: same machine, same user, no isolation
            from autograder.sandbox import WARM_KERNEL_SCRIPT
            import sys
            command = [sys.executable, str(WARM_KERNEL_SCRIPT)]
            env = {**os.environ, **self._server_env(), "HOME": str(self.sockets),
                   "MPLCONFIGDIR": str(self.sockets / "matplotlib")}
        self.process = await asyncio.create_subprocess_exec(
            *command, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE, env=env, limit=1024 * 1024, start_new_session=True,
            pass_fds=(info_write,) if self.sandboxed else ())
        if self.sandboxed:
            os.close(info_write)
        try:
            ready = await asyncio.wait_for(self.process.stdout.readline(), STARTUP_TIMEOUT_S)
        except asyncio.TimeoutError:
            ready = b""
        if not ready:
            stderr = b""
            if self.process.returncode is not None or self.process.stderr:
                try:
                    stderr = await asyncio.wait_for(self.process.stderr.read(4000), 1)
                except asyncio.TimeoutError:
                    pass
            await self.stop()
            raise WorkerDied(f"worker {self.index} did not start: {stderr.decode(errors='replace').strip()}")
        self.address_space_mib = int(json.loads(ready)["address_space_mib"])
        if self.sandboxed:
            try:
                self.sandbox_init_pid = json.loads(os.read(info_read, 65536))["child-pid"]
            except (ValueError, KeyError, OSError):
                self.sandbox_init_pid = None
            os.close(info_read)
        asyncio.ensure_future(self._drain_stderr())

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
        # Killing the sandbox's init (PID 1 inside) ends every process in the sandbox at once;
        # killing bubblewrap's outer process alone would leave them running.
        if self.sandbox_init_pid:
            try:
                os.kill(self.sandbox_init_pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            self.sandbox_init_pid = None
        if self.process is not None and self.process.returncode is None:
            try:
                os.killpg(self.process.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            await self.process.wait()
        self.process = None
        if self.sockets is not None:
            shutil.rmtree(self.sockets, ignore_errors=True)
            self.sockets = None
        if self.uid is not None:
            self.uid.release()
            self.uid = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    # -- requests --

    async def request(self, message: dict) -> dict:
        if not self.alive:
            raise WorkerDied(f"worker {self.index} is not running")
        async with self._lock:
            try:
                self.process.stdin.write((json.dumps(message) + "\n").encode())
                await self.process.stdin.drain()
                line = await asyncio.wait_for(self.process.stdout.readline(), REQUEST_TIMEOUT_S)
            except (BrokenPipeError, ConnectionResetError, asyncio.TimeoutError) as error:
                raise WorkerDied(f"worker {self.index} stopped answering ({type(error).__name__})") from error
        if not line:
            raise WorkerDied(f"worker {self.index} exited")
        return json.loads(line)

    def kernel_manager(self) -> AsyncKernelManager:
        """A kernel manager whose kernel will be forked in this worker's sandbox."""
        self._jobs += 1
        name = f"kernel-{self._jobs}"
        km = AsyncKernelManager(kernel_name="python3", transport="ipc", ip=str(self.sockets / name),
                                connection_file=str(self.sockets / f"{name}.json"))
        km.client_class = f"{__name__}.QuickReadyClient"
        # The client connects before the kernel has bound its sockets; retry every
        # 5 ms rather than zmq's default 100 ms. Cap message size: output is bounded anyway.
        km.context.setsockopt(zmq.RECONNECT_IVL, 5)
        km.context.setsockopt(zmq.MAXMSGSIZE, MAX_MESSAGE_BYTES)
        km.provisioner = SandboxedKernelProvisioner(kernel_id=str(uuid.uuid4()), kernel_spec=None, parent=km)
        km.provisioner.worker = self
        km.provisioner.workdir = (f"/tmp/submission-{self._jobs}" if self.sandboxed
                                  else str(self.sockets / f"submission-{self._jobs}"))
        return km

    async def reap(self) -> None:
        """After a submission: kill whatever it left running and delete its files."""
        if self.alive:
            try:
                await self.request({"op": "reap"})
                return
            except WorkerDied:
                pass
        await self.restart()


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
                try:  # any IOPub message (ipykernel greets each subscriber) proves it is connected
                    await self.iopub_channel.get_msg(timeout=0.5)
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
        km.write_connection_file()
        os.chmod(km.connection_file, 0o644)  # readable by the sandbox's uid; it holds only this kernel's key
        self.connection_info = km.get_connection_info()
        kwargs.pop("extra_arguments", None)
        kwargs.pop("env", None)  # the kernel's environment is the sandbox's, never the grader's
        return {"cmd": [], **kwargs}

    async def launch_kernel(self, cmd: list[str], **kwargs: Any):
        reply = await self.worker.request({
            "op": "start", "connection_file": self.parent.connection_file, "cwd": self.workdir,
            "env": {**self.worker._server_env(), "HOME": self.workdir},
            "limits": self.worker.limits.for_kernel(self.worker.address_space_mib),
        })
        self.pid = reply["pid"]
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
