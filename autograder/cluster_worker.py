"""``autograder worker SCHEDULER``: one machine's grading worker on a Dask cluster.

Two ways to start one, with the same result:

- ``autograder worker tcp://HOST:8786 --sandboxes 4``;
- any Dask launcher (dask-jobqueue, dask-gateway, Kubernetes) starting a plain
  ``dask worker ADDRESS --nthreads 4 --resources grading-sandbox=4
  --preload autograder.cluster_worker``: ``dask_setup`` below installs the same
  plugin, and stops the worker when it cannot sandbox.

A Dask ``Worker`` that offers ``--sandboxes N`` units of the ``grading-sandbox``
resource, so only notebooks sent by ``autograder grade --scheduler`` run on
it, at most N at a time. A worker plugin holds the same warm sandboxed kernel
servers as local grading (``autograder.grade.WorkerPool``), started on the
first notebook and kept for the next; each notebook runs in one of them with
the limits the coordinator sent, so a cluster grades exactly as one machine.

The worker refuses to join when this machine cannot sandbox student code,
unless ``--unsafe-no-sandbox`` is given. It needs the course's Python packages
and bubblewrap, nothing from ``source/``: the coordinator sends each notebook
already assembled.
"""

from __future__ import annotations

import asyncio
import json
import signal
import sys
from dataclasses import asdict

import nbformat

from autograder.cluster import RESOURCE, execution_to_json, limits_from_plain
from autograder.sandbox import Limits, isolation_problem

PLUGIN_NAME = "autograder-sandboxes"
PER_RUN_LIMITS = ("cell_timeout_s", "notebook_timeout_s", "output_kib")  # applied by nbclient, per notebook
MAX_POOLS = 2


def _pool_key(limits: Limits, device: str) -> tuple:
    """What a running sandbox is built with: a notebook asking for other values needs another pool."""
    return (device, tuple(sorted((k, v) for k, v in asdict(limits).items() if k not in PER_RUN_LIMITS)))


try:
    from distributed.diagnostics.plugin import WorkerPlugin
except ImportError:  # distributed is a dependency; this keeps the module importable for its docs
    WorkerPlugin = object


class SandboxPlugin(WorkerPlugin):
    """Warm sandbox pools living as long as the Dask worker; one pool per distinct set of sandbox limits."""

    name = PLUGIN_NAME

    def __init__(self, sandboxes: int, sandboxed: bool = True):
        self.sandboxes = sandboxes
        self.sandboxed = sandboxed
        self.pools: dict[tuple, object] = {}
        self._lock: asyncio.Lock | None = None

    async def setup(self, worker) -> None:
        self._lock = asyncio.Lock()

    async def pool_for(self, limits: Limits, device: str):
        from autograder.grade import Options, WorkerPool

        key = _pool_key(limits, device)
        async with self._lock:
            if key not in self.pools:
                while len(self.pools) >= MAX_POOLS:
                    oldest = next(iter(self.pools))
                    await self.pools.pop(oldest).stop()
                options = Options(workers=self.sandboxes, sandboxed=self.sandboxed, limits=limits,
                                  device=device, progress=False)
                self.pools[key] = WorkerPool(self.sandboxes, options)
            return self.pools[key]

    async def teardown(self, worker) -> None:
        await asyncio.gather(*(pool.stop() for pool in self.pools.values()), return_exceptions=True)
        self.pools.clear()


async def run_notebook(notebook_json: str, limits: dict, device: str = "cpu") -> str:
    """The task the coordinator submits: JSON text in, an ``Execution`` as JSON text out; never raises."""
    from distributed import get_worker

    try:
        plugin = get_worker().plugins[PLUGIN_NAME]
        notebook = nbformat.from_dict(json.loads(notebook_json))
        run_limits = limits_from_plain(limits)
        pool = await plugin.pool_for(run_limits, device)
        return execution_to_json(await pool.run(notebook, run_limits))
    except Exception as error:  # the coordinator turns this into that row's grader-error
        return json.dumps({"error": f"{type(error).__name__}: {error}"[:2000]})


def _refusal(worker) -> str | None:
    problem = isolation_problem()
    if problem:
        return f"this machine cannot sandbox student code ({problem})"
    offered = worker.state.total_resources.get(RESOURCE, 0)
    if offered != worker.state.nthreads:
        return (f"start it with --resources {RESOURCE}={worker.state.nthreads} (one per thread), "
                f"not {offered:g}")
    return None


async def dask_setup(worker) -> None:
    """Dask preload hook (``--preload autograder.cluster_worker``): make a plain Dask worker a grading one."""
    refusal = _refusal(worker)
    if refusal:
        print(f"autograder worker: {refusal}; refusing to join the grading cluster.", file=sys.stderr, flush=True)
        raise SystemExit(2)  # Dask logs and ignores ordinary exceptions from a preload
    await worker.plugin_add(SandboxPlugin(worker.state.nthreads), name=PLUGIN_NAME)


async def serve(address: str, sandboxes: int, sandboxed: bool = True, name: str | None = None,
                death_timeout: float = 60.0) -> None:
    """Run one grading worker until the scheduler goes away or the process is told to stop."""
    from distributed import Worker

    worker = Worker(address, nthreads=sandboxes, resources={RESOURCE: sandboxes},
                    plugins=(SandboxPlugin(sandboxes, sandboxed),), name=name,
                    death_timeout=death_timeout, dashboard=False)
    loop = asyncio.get_running_loop()
    for signum in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(signum, lambda: asyncio.ensure_future(worker.close(reason="signal")))
    await worker
    print(f"autograder worker: grading at {worker.address} with {sandboxes} sandbox(es), "
          f"scheduler {address}", flush=True)
    await worker.finished()


def main(address: str, sandboxes: int, sandboxed: bool = True, name: str | None = None) -> int:
    if sandboxes < 1:
        print("autograder worker: --sandboxes must be at least 1", file=sys.stderr)
        return 2
    if sandboxed:
        problem = isolation_problem()
        if problem:
            print(f"autograder worker: this machine cannot sandbox student code ({problem}); "
                  "refusing to join the grading cluster. Install bubblewrap, or pass --unsafe-no-sandbox "
                  "only for code you trust.", file=sys.stderr)
            return 2
    try:
        asyncio.run(serve(address, sandboxes, sandboxed, name))
    except OSError as error:
        print(f"autograder worker: cannot reach the scheduler at {address}: {error}", file=sys.stderr)
        return 2
    return 0
