"""Grading on a Dask cluster: the coordinator's side, and the plain-JSON wire format.

``autograder grade --scheduler ADDRESS`` swaps the local ``WorkerPool`` for a
``ClusterPool``. Each notebook to run (a student's assembled notebook, or the
instructor's reference run) goes to a machine running ``autograder worker``
(``autograder.cluster_worker``), which executes it in one of its own warm
sandboxes exactly as local grading does and sends back the executed notebook.
Judging, the gradebook, feedback, CSV and summary stay here.

What crosses the network is plain data only: the notebook as JSON text going
out, an ``Execution`` as JSON text coming back. The coordinator's client
deserializes with msgpack alone, so nothing a worker sends is ever unpickled
here; a reply is size-capped and type-checked before use (``execution_from_json``).

Faults: a worker that dies mid-notebook makes the scheduler run the notebook
again elsewhere (Dask's ``distributed.scheduler.allowed-failures`` retries);
past those, or when no grading worker is left for ``LOST_GRACE_S``, or when
a notebook outlasts ``deadline_s``, that notebook raises ``WorkerDied`` and
only its row becomes ``grader-error``.
"""

from __future__ import annotations

import asyncio
import json
import time
import uuid
from dataclasses import asdict

import nbformat

from autograder.execute import Execution
from autograder.kernels import WorkerDied
from autograder.sandbox import Limits

RESOURCE = "grading-sandbox"       # Dask resource a grading worker offers, one unit per sandbox
MAX_REPLY_BYTES = 64 * 1024 * 1024  # an executed notebook is capped far below this by the output limit
MAX_NOTES = 200
MAX_NOTE_CHARS = 2000
WORKER_WAIT_S = 60.0               # how long `grade` waits for the first grading worker to join
LOST_GRACE_S = 30.0                # no grading worker for this long: the notebooks in flight fail
STARTUP_ALLOWANCE_S = 180.0        # a fresh worker's sandbox start, per try


class ClusterUnavailable(RuntimeError):
    """The scheduler cannot be reached, or no grading worker joined it in time."""


# ---------------------------------------------------------------------------
# The wire format: JSON text both ways

def limits_to_plain(limits: Limits) -> dict:
    return asdict(limits)


def limits_from_plain(plain: dict) -> Limits:
    fields = Limits.__dataclass_fields__
    return Limits(**{name: plain[name] for name in fields if name in plain})


def execution_to_json(execution: Execution) -> str:
    return json.dumps({"notebook": execution.notebook, "status": execution.status,
                       "notes": execution.notes, "stopped": execution.stopped, "skipped": execution.skipped,
                       "cell_seconds": execution.cell_seconds, "wall_seconds": execution.wall_seconds},
                      ensure_ascii=False)


def _strings(value, limit: int) -> list[str]:
    if not isinstance(value, list):
        raise ValueError("expected a list of strings")
    return [str(item)[:MAX_NOTE_CHARS] for item in value[:limit] if isinstance(item, str)]


def _reasons(value, cells: int) -> dict[int, str]:
    """Cell index -> why it did not finish (or never ran); JSON keeps the indices as strings."""
    if not isinstance(value, dict):
        return {}
    reasons = {}
    for key, reason in list(value.items())[:cells]:
        if isinstance(key, str) and key.isdigit() and int(key) < cells and isinstance(reason, str):
            reasons[int(key)] = reason[:MAX_NOTE_CHARS]
    return reasons


def _seconds(value) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < 1e7:
        return 0.0
    return float(value)


def execution_from_json(text) -> Execution:
    """Parse a worker's reply; anything malformed raises ``WorkerDied`` (that row's grader-error)."""
    if not isinstance(text, str):
        raise WorkerDied(f"a grading worker replied with {type(text).__name__}, not JSON text")
    if len(text) > MAX_REPLY_BYTES:
        raise WorkerDied(f"a grading worker's reply is over {MAX_REPLY_BYTES // 2**20} MiB")
    try:
        reply = json.loads(text)
        if not isinstance(reply, dict):
            raise ValueError("not an object")
        if "error" in reply:
            raise WorkerDied(f"the grading worker failed: {str(reply['error'])[:MAX_NOTE_CHARS]}")
        notebook = nbformat.from_dict(reply["notebook"])
        if not isinstance(notebook.get("cells"), list):
            raise ValueError("the notebook has no cell list")
        cells = len(notebook.cells)
        return Execution(notebook, status=_strings(reply.get("status", []), 20),
                         notes=_strings(reply.get("notes", []), MAX_NOTES),
                         stopped=_reasons(reply.get("stopped"), cells), skipped=_reasons(reply.get("skipped"), cells),
                         cell_seconds=_seconds(reply.get("cell_seconds")),
                         wall_seconds=_seconds(reply.get("wall_seconds")))
    except WorkerDied:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, RecursionError) as error:
        raise WorkerDied(f"a grading worker sent a malformed reply ({error})") from None


def deadline_s(limits: Limits, tries: int) -> float:
    """Longest a notebook may take on the cluster, all tries together, before its row is given up."""
    return tries * (limits.notebook_timeout_s + STARTUP_ALLOWANCE_S)


# ---------------------------------------------------------------------------
# The coordinator's pool

async def _result(future):
    return await future


class ClusterPool:
    """Runs notebooks on the grading workers of a Dask scheduler; the local ``WorkerPool``'s interface."""

    def __init__(self, address: str, device: str = "cpu", worker_wait_s: float = WORKER_WAIT_S,
                 lost_grace_s: float = LOST_GRACE_S):
        self.address = address
        self.device = device
        self.worker_wait_s = worker_wait_s
        self.lost_grace_s = lost_grace_s
        self.client = None
        self._starting: asyncio.Task | None = None
        self._watchdog: asyncio.Task | None = None
        self._in_flight: set = set()
        self.tries = 1

    async def _connect(self) -> None:
        import dask
        from distributed import Client

        try:
            self.client = await Client(self.address, asynchronous=True, deserializers=["msgpack"],
                                       timeout=self.worker_wait_s, name="autograder-coordinator")
        except (OSError, asyncio.TimeoutError) as error:
            raise ClusterUnavailable(f"cannot reach the Dask scheduler at {self.address}: {error}") from None
        self.tries = 1 + int(dask.config.get("distributed.scheduler.allowed-failures", 3))
        waited = time.monotonic() + self.worker_wait_s
        while not await self.grading_workers():
            if time.monotonic() > waited:
                await self.client.close()
                raise ClusterUnavailable(
                    f"no grading worker joined the scheduler at {self.address} within {self.worker_wait_s:g} s; "
                    "start some with `autograder worker ADDRESS` (a plain `dask worker` does not grade)")
            await asyncio.sleep(0.2)
        self._watchdog = asyncio.ensure_future(self._watch())

    async def grading_workers(self) -> list[str]:
        """Addresses of the workers that offer grading sandboxes, as the scheduler sees them now."""
        if self.client is None:
            return []
        identity = await self.client.scheduler.identity(n_workers=-1)
        workers = identity.get("workers", {}) if isinstance(identity, dict) else {}
        return [address for address, info in workers.items() if info.get("resources", {}).get(RESOURCE)]

    async def _watch(self) -> None:
        """Fail the notebooks in flight when the cluster has had no grading worker for a while."""
        alone_since = None
        while True:
            await asyncio.sleep(1.0)
            try:
                present = await self.grading_workers()
            except Exception:  # the scheduler itself is gone: the same as having no worker
                present = []
            if present:
                alone_since = None
                continue
            alone_since = alone_since or time.monotonic()
            if time.monotonic() - alone_since > self.lost_grace_s:
                for waiter in list(self._in_flight):
                    if not waiter.done():
                        waiter.set_exception(WorkerDied(
                            f"no grading worker was left on the cluster for {self.lost_grace_s:g} s"))

    async def start(self) -> None:
        if self._starting is None:
            self._starting = asyncio.ensure_future(self._connect())
        await self._starting

    @property
    def started(self) -> bool:
        return self._starting is not None

    async def run(self, notebook: nbformat.NotebookNode, limits: Limits) -> Execution:
        """Execute ``notebook`` on some grading worker; never hangs on a lost worker."""
        from autograder.cluster_worker import run_notebook

        await self.start()
        future = self.client.submit(run_notebook, json.dumps(notebook, ensure_ascii=False),
                                    limits_to_plain(limits), self.device, key=f"notebook-{uuid.uuid4().hex}",
                                    resources={RESOURCE: 1}, pure=False)
        lost = asyncio.get_running_loop().create_future()
        self._in_flight.add(lost)
        waiting = asyncio.ensure_future(_result(future))
        try:
            done, _ = await asyncio.wait({waiting, lost}, timeout=deadline_s(limits, self.tries),
                                         return_when=asyncio.FIRST_COMPLETED)
            if lost in done:
                lost.result()
            if waiting not in done:
                raise WorkerDied(f"the cluster did not finish this notebook within "
                                 f"{deadline_s(limits, self.tries):g} s")
            try:
                text = waiting.result()
            except Exception as error:  # KilledWorker, or an error the client refused to unpickle
                raise WorkerDied(f"the cluster could not run this notebook ({type(error).__name__}: "
                                 f"{str(error)[:300]})") from None
            return execution_from_json(text)
        finally:
            self._in_flight.discard(lost)
            if not waiting.done():
                waiting.cancel()
            if not future.done():
                try:
                    await asyncio.wait_for(future.cancel(), timeout=5)
                except Exception:  # the scheduler may be gone too; the row is decided already
                    pass

    async def stop(self) -> None:
        if self._watchdog is not None:
            self._watchdog.cancel()
        if self.client is not None:
            try:
                await asyncio.wait_for(self.client.close(), timeout=10)
            except Exception:
                pass
