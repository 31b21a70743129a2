"""Run one notebook in a sandboxed kernel with nbclient, surviving whatever the notebook does.

A cell that runs past its timeout, or kills its kernel (``os._exit``, a
segfault, running out of memory or CPU time), costs that cell only: the
grader kills the kernel, starts a fresh one, replays the cells that had
already run, and goes on with the next cell. Printed output beyond a cap is
dropped. ``Execution.status`` names everything that happened.
"""

from __future__ import annotations

import asyncio
import copy
import json
import time
from dataclasses import dataclass, field

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from autograder.kernels import WarmWorker, WorkerDied
from autograder.sandbox import Limits
from utils.checks import RECORD_MIME

MAX_RESTARTS = 3
MAX_RECORD_BYTES = 8 * 1024 * 1024
SIGXCPU = 24


@dataclass
class Execution:
    notebook: nbformat.NotebookNode
    status: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    cell_seconds: float = 0.0   # time the kernel spent in cells, as the kernel reported it
    wall_seconds: float = 0.0

    def mark(self, status: str, note: str) -> None:
        if status not in self.status:
            self.status.append(status)
        self.notes.append(note)


class CappedClient(NotebookClient):
    """nbclient's client with a cap on kept output; check records are budgeted separately."""

    def __init__(self, *args, output_bytes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.output_budget = output_bytes
        self.record_budget = MAX_RECORD_BYTES
        self.truncated = False

    def output(self, outs, msg, display_id, cell_index):
        size = len(json.dumps(msg.get("content", {}), default=str))
        is_record = RECORD_MIME in msg.get("content", {}).get("data", {})
        if is_record:
            if size > self.record_budget:
                self.truncated = True
                return None
            self.record_budget -= size
        else:
            if size > self.output_budget:
                if not self.truncated:
                    self.truncated = True
                    notice = nbformat.from_dict({"output_type": "stream", "name": "stderr",
                                                 "text": "[output beyond the grader's limit was dropped]\n"})
                    outs.append(notice)
                self.output_budget = 0
                return None
            self.output_budget -= size
        return super().output(outs, msg, display_id, cell_index)


def _error_text(cell) -> str:
    return " ".join(f"{o.get('ename', '')}: {o.get('evalue', '')}" for o in cell.get("outputs", [])
                    if o.get("output_type") == "error")


def _note_error(cell, text: str) -> None:
    cell.outputs.append(nbformat.from_dict({"output_type": "error", "ename": "GraderStopped", "evalue": text,
                                            "traceback": [text]}))


async def execute(worker: WarmWorker, notebook: nbformat.NotebookNode, limits: Limits) -> Execution:
    """Execute ``notebook`` in place in a kernel forked by ``worker``; never raises for student behaviour."""
    result = Execution(notebook)
    started = time.monotonic()
    deadline = started + limits.notebook_timeout_s
    code_cells = [i for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    ran_ok: list[int] = []     # cells whose effects a fresh kernel must replay
    client: CappedClient | None = None
    restarts = 0
    output_left = limits.output_kib * 1024

    async def stop(kernel_client: CappedClient | None) -> None:
        if kernel_client is None:
            return
        if kernel_client.truncated:
            result.mark("output-truncated", f"output beyond {limits.output_kib} KiB was dropped")
        try:
            if kernel_client.kc is not None:
                kernel_client.kc.stop_channels()
            await kernel_client.km.shutdown_kernel(now=True)
        except Exception:
            pass
        await worker.reap()

    async def fresh_client() -> CappedClient:
        nonlocal output_left
        km = worker.kernel_manager()
        kernel_client = CappedClient(notebook, km=km, timeout=limits.cell_timeout_s, allow_errors=True,
                                     interrupt_on_timeout=False, shutdown_kernel="immediate",
                                     startup_timeout=60, output_bytes=output_left, record_timing=True)
        await km.start_kernel()
        await kernel_client.async_start_new_kernel_client()
        for index in ran_ok:  # replay, into copies: the recorded outputs stay those of the first run
            replay = copy.deepcopy(notebook.cells[index])
            kernel_client.timeout = max(1.0, min(limits.cell_timeout_s, deadline - time.monotonic()))
            await kernel_client.async_execute_cell(replay, index)
        return kernel_client

    try:
        for position, index in enumerate(code_cells):
            cell = notebook.cells[index]
            if time.monotonic() >= deadline:
                result.mark("timeout", f"the notebook ran past {limits.notebook_timeout_s:g} s; "
                                       f"{len(code_cells) - position} cells did not run")
                for rest in code_cells[position:]:
                    _note_error(notebook.cells[rest], "not run: the notebook's time was up")
                break
            try:
                if client is None:
                    if restarts > MAX_RESTARTS:
                        raise DeadKernelError("too many restarts")
                    client = await fresh_client()
                client.timeout = max(0.5, min(limits.cell_timeout_s, deadline - time.monotonic()))
                await client.async_execute_cell(cell, index)
                ran_ok.append(index)
                error = _error_text(cell)
                if "MemoryError" in error or "can't allocate memory" in error or "out of memory" in error:
                    result.mark("out-of-memory", f"cell {index} ran out of memory ({limits.memory_mib} MiB)")
            except (CellTimeoutError, asyncio.TimeoutError):
                result.mark("timeout", f"cell {index} ran past {client.timeout:g} s and was stopped")
                _note_error(cell, f"stopped after {client.timeout:g} s")
                output_left = client.output_budget
                await stop(client)
                client, restarts = None, restarts + 1
            except (DeadKernelError, WorkerDied, RuntimeError) as error:
                exit_code = None
                if client is not None and client.km is not None and client.km.provisioner is not None:
                    exit_code = client.km.provisioner.exit_code
                if exit_code == -SIGXCPU:
                    result.mark("cpu-limit", f"cell {index} used up the CPU time limit ({limits.cpu_seconds} s)")
                elif "MemoryError" in _error_text(cell):
                    result.mark("out-of-memory", f"cell {index} ran out of memory and its kernel died")
                else:
                    why = f"exit code {exit_code}" if exit_code is not None else type(error).__name__
                    result.mark("crash", f"the kernel died in cell {index} ({why})")
                _note_error(cell, "the kernel died while this cell ran")
                if client is not None:
                    output_left = client.output_budget
                await stop(client)
                client, restarts = None, restarts + 1
    finally:
        await stop(client)
    result.wall_seconds = time.monotonic() - started
    result.cell_seconds = sum(_cell_seconds(notebook.cells[i]) for i in code_cells)
    return result


def _cell_seconds(cell) -> float:
    timing = cell.get("metadata", {}).get("execution", {})
    try:
        from datetime import datetime
        begin = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
        return max(0.0, (end - begin).total_seconds())
    except (KeyError, ValueError, TypeError, AttributeError):
        return 0.0
