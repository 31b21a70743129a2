"""Run one notebook in a sandboxed kernel with nbclient, surviving whatever the notebook does.

A cell that runs past its time (fractions of a second allowed), kills its
kernel (``os._exit``, a segfault, running out of memory or CPU time), or sends
more than the grader accepts (``autograder.boundary``) costs that cell only:
the grader stops the kernel, starts a fresh one, replays the cells that had
already run, and goes on with the next cell. Kept output beyond a cap is
dropped. ``Execution.status`` names everything that happened and
``Execution.stopped`` says, per cell, why it did not finish.
"""

from __future__ import annotations

import asyncio
import copy
import time
from dataclasses import dataclass, field
from datetime import datetime

import nbformat
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError

from autograder.boundary import OutputLimitReached, ReceiveBudget, guard_kernel_client, output_node, output_size
from autograder.kernels import WarmWorker, WorkerDied
from autograder.sandbox import Limits
from utils.checks import RECORD_MIME

MAX_RESTARTS = 3
MAX_RECORD_BYTES = 8 * 1024 * 1024
SIGXCPU = 24

# Why a cell did not finish, in words that complete "the cell above ..." / "this cell ...".
RAN_OUT_OF_TIME = "ran out of time"
KERNEL_DIED = "made its kernel die"
OUT_OF_MEMORY = "ran out of memory"
OUT_OF_CPU = "used up its CPU time"
TOO_MUCH_OUTPUT = "sent more output than the grader accepts"
GRADER_FAILED = "could not be run by the grader"
# Why a cell was never run, in words that complete "did not run: ...".
NOTEBOOK_TIME_UP = "the notebook's time was up"
TOO_MANY_RESTARTS = "the kernel had been restarted too often"


@dataclass
class Execution:
    notebook: nbformat.NotebookNode
    status: list[str] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    stopped: dict[int, str] = field(default_factory=dict)   # cell index -> why it did not finish
    skipped: dict[int, str] = field(default_factory=dict)   # cell index -> why it never ran
    cell_seconds: float = 0.0   # time the kernel spent in cells, as the kernel reported it
    wall_seconds: float = 0.0

    def mark(self, status: str, note: str) -> None:
        if status not in self.status:
            self.status.append(status)
        self.notes.append(note)


def _is_record(output) -> bool:
    data = output.get("data") if isinstance(output, dict) else None
    return isinstance(data, dict) and RECORD_MIME in data


class CappedClient(NotebookClient):
    """nbclient's client for messages ``autograder.boundary`` has already cleaned, with a cap on
    kept output; check records are budgeted separately and no clearing removes them. Outputs are
    built by the boundary (``output_node``): display ids and output hooks (widgets) never apply."""

    def __init__(self, *args, output_bytes: int, **kwargs):
        super().__init__(*args, **kwargs)
        self.output_budget = output_bytes
        self.record_budget = MAX_RECORD_BYTES
        self.truncated = False
        self.clear_before_next_output = False

    def output(self, outs, msg, display_id, cell_index):
        content = msg.get("content", {})
        size = output_size(content)
        if RECORD_MIME in content.get("data", {}):
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
        if self.clear_before_next_output:   # a delayed clear_output: records stay
            outs[:] = [o for o in outs if _is_record(o)]
            self.clear_before_next_output = False
        out = output_node(msg)
        if out is not None:
            outs.append(out)
        return out

    def clear_output(self, outs, msg, cell_index):
        if msg.get("content", {}).get("wait"):
            self.clear_before_next_output = True
        else:
            outs[:] = [o for o in outs if _is_record(o)]

    def handle_comm_msg(self, outs, msg, cell_index):
        """Comm and widget messages never reach here (the boundary drops them); ignore any that do."""


def _note_error(cell, text: str) -> None:
    cell.outputs.append(nbformat.from_dict({"output_type": "error", "ename": "GraderStopped", "evalue": text,
                                            "traceback": [text]}))


def _error_text(cell) -> str:
    return " ".join(f"{o.get('ename', '')}: {o.get('evalue', '')}" for o in cell.get("outputs", [])
                    if o.get("output_type") == "error")


async def run_cell(client: CappedClient, cell, index: int, seconds: float) -> None:
    """Execute one cell within ``seconds`` (any positive float) of wall clock.

    Raises ``asyncio.TimeoutError`` when time is up, ``OutputLimitReached`` as
    soon as the kernel has sent more than its budget, and whatever nbclient
    raises when the kernel dies. nbclient's own ``timeout`` is an integer
    setting, so the clock is kept here instead.
    """
    budget = getattr(client.kc, "budget", None) or ReceiveBudget()
    cell_task = asyncio.ensure_future(client.async_execute_cell(cell, index))
    flood = asyncio.ensure_future(budget.exceeded.wait())
    try:
        done, _ = await asyncio.wait({cell_task, flood}, timeout=max(0.001, seconds),
                                     return_when=asyncio.FIRST_COMPLETED)
    finally:
        flood.cancel()
        if not cell_task.done():
            cell_task.cancel()
            await asyncio.gather(cell_task, return_exceptions=True)
    if budget.exceeded.is_set():
        raise OutputLimitReached(budget.describe())
    if cell_task not in done:
        raise asyncio.TimeoutError
    cell_task.result()


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
        nonlocal output_left
        if kernel_client is None:
            return
        output_left = kernel_client.output_budget
        if kernel_client.truncated:
            result.mark("output-truncated", f"output beyond {limits.output_kib} KiB was dropped")
        try:
            if kernel_client.kc is not None:
                kernel_client.kc.stop_channels()
            await kernel_client.km.shutdown_kernel(now=True)
        except Exception:  # noqa: BLE001 -- the kernel is being discarded; reap() below cleans up
            pass
        try:
            await worker.reap()
        except Exception as error:  # noqa: BLE001 -- the next kernel start fails and is counted there
            result.mark("grader-error", f"the sandbox could not be reset: {type(error).__name__}: {str(error)[:200]}")

    async def fresh_client() -> CappedClient:
        km = worker.kernel_manager()
        guard_kernel_client(km)
        kernel_client = CappedClient(notebook, km=km, timeout=None, allow_errors=True,
                                     interrupt_on_timeout=False, shutdown_kernel="immediate",
                                     startup_timeout=60, output_bytes=output_left, record_timing=True)
        await km.start_kernel()
        await kernel_client.async_start_new_kernel_client()
        for index in ran_ok:  # replay, into copies: the recorded outputs stay those of the first run
            replay = copy.deepcopy(notebook.cells[index])
            await run_cell(kernel_client, replay, index, min(limits.cell_timeout_s, deadline - time.monotonic()))
        return kernel_client

    def not_run(positions: list[int], why: str) -> None:
        for rest in positions:
            result.skipped[code_cells[rest]] = why
            _note_error(notebook.cells[code_cells[rest]], f"not run: {why}")

    try:
        for position, index in enumerate(code_cells):
            cell = notebook.cells[index]
            left = deadline - time.monotonic()
            if left <= 0:
                result.mark("timeout", f"the notebook reached its {limits.notebook_timeout_s:g} s limit; "
                                       f"{len(code_cells) - position} cells did not run")
                not_run(list(range(position, len(code_cells))), NOTEBOOK_TIME_UP)
                break
            if client is None and restarts > MAX_RESTARTS:
                result.mark("crash", f"the kernel was restarted {MAX_RESTARTS} times; "
                                     f"{len(code_cells) - position} cells did not run")
                not_run(list(range(position, len(code_cells))), TOO_MANY_RESTARTS)
                break
            seconds = min(limits.cell_timeout_s, left)
            try:
                if client is None:
                    client = await fresh_client()
                await run_cell(client, cell, index, seconds)
                ran_ok.append(index)
                error = _error_text(cell)
                if "MemoryError" in error or "can't allocate memory" in error or "out of memory" in error:
                    result.mark("out-of-memory", f"cell {index} ran out of memory ({limits.memory_mib} MiB)")
                continue
            except OutputLimitReached as error:
                result.mark("output-limit", f"cell {index}: {error}; its kernel was stopped")
                result.stopped[index] = TOO_MUCH_OUTPUT
                _note_error(cell, f"stopped: {TOO_MUCH_OUTPUT}")
            except (CellTimeoutError, asyncio.TimeoutError):
                if seconds < limits.cell_timeout_s:
                    result.mark("timeout", f"the notebook reached its {limits.notebook_timeout_s:g} s limit "
                                           f"in cell {index}")
                else:
                    result.mark("timeout", f"cell {index} ran past {seconds:g} s and was stopped")
                result.stopped[index] = RAN_OUT_OF_TIME
                _note_error(cell, f"stopped after {seconds:g} s")
            except (DeadKernelError, WorkerDied, RuntimeError) as error:
                exit_code = None
                if client is not None and client.km is not None and client.km.provisioner is not None:
                    exit_code = client.km.provisioner.exit_code
                if exit_code == -SIGXCPU:
                    result.mark("cpu-limit", f"cell {index} used up the CPU time limit ({limits.cpu_seconds} s)")
                    result.stopped[index] = OUT_OF_CPU
                elif "MemoryError" in _error_text(cell):
                    result.mark("out-of-memory", f"cell {index} ran out of memory and its kernel died")
                    result.stopped[index] = OUT_OF_MEMORY
                else:
                    why = f"exit code {exit_code}" if exit_code is not None else type(error).__name__
                    result.mark("crash", f"the kernel died in cell {index} ({why})")
                    result.stopped[index] = KERNEL_DIED
                _note_error(cell, "the kernel died while this cell ran")
            except Exception as error:  # noqa: BLE001 -- a grader bug costs this notebook's later cells, not the batch
                result.mark("grader-error", f"cell {index}: {type(error).__name__}: {str(error)[:200]}")
                result.stopped[index] = GRADER_FAILED
                not_run(list(range(position + 1, len(code_cells))), "the grader failed on an earlier cell")
                break
            stopped_client, client, restarts = client, None, restarts + 1
            await stop(stopped_client)
    finally:
        await stop(client)
    result.wall_seconds = time.monotonic() - started
    result.cell_seconds = sum(_cell_seconds(notebook.cells[i]) for i in code_cells)
    return result


def _cell_seconds(cell) -> float:
    timing = cell.get("metadata", {}).get("execution", {})
    try:
        begin = datetime.fromisoformat(timing["iopub.execute_input"].replace("Z", "+00:00"))
        end = datetime.fromisoformat(timing["shell.execute_reply"].replace("Z", "+00:00"))
        return max(0.0, (end - begin).total_seconds())
    except (KeyError, ValueError, TypeError, AttributeError):
        return 0.0
