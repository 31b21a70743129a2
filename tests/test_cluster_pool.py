"""The coordinator's side of cluster grading, without sandboxes: wire format, refusals, lost workers."""

from __future__ import annotations

import asyncio
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from autograder.cluster import ClusterPool, ClusterUnavailable, execution_from_json, execution_to_json
from autograder.execute import Execution
from autograder.kernels import WorkerDied
from autograder.sandbox import Limits

BIN = Path(sys.executable).parent


def _notebook() -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells.append(nbformat.v4.new_code_cell("print(1)"))
    return notebook


def test_an_execution_survives_the_wire():
    sent = Execution(_notebook(), status=["timeout"], notes=["a cell ran out of time"], cell_seconds=1.5,
                     wall_seconds=2.0, stopped={0: "ran out of time"}, skipped={})
    received = execution_from_json(execution_to_json(sent))
    assert received.notebook == sent.notebook
    assert received.stopped == {0: "ran out of time"} and received.skipped == {}
    assert (received.status, received.notes, received.cell_seconds, received.wall_seconds) == \
        (["timeout"], ["a cell ran out of time"], 1.5, 2.0)


@pytest.mark.parametrize("reply", [
    b"{}", None, 42, "", "not json", "[1, 2]", "{}", json.dumps({"notebook": "cells"}),
    json.dumps({"notebook": {"cells": "no list"}}), json.dumps({"error": "sandbox failed to start"}),
    "[" * 100_000, json.dumps({"notebook": {"cells": [], "metadata": {}, "nbformat": 4, "nbformat_minor": 5},
                               "status": "ok", "cell_seconds": "fast"}),
])
def test_a_malformed_reply_is_that_notebooks_error_only(reply):
    try:
        execution = execution_from_json(reply)
    except WorkerDied as error:
        assert str(error)
    else:  # salvaged: wrong-typed fields dropped, never trusted
        assert execution.status == [] and execution.cell_seconds == 0.0


def test_a_worker_that_cannot_sandbox_refuses_to_join(tmp_path):
    # a PATH without bubblewrap: the worker must say why and exit before contacting anyone
    done = subprocess.run([str(BIN / "autograder"), "worker", "tcp://127.0.0.1:9"],
                          env={"PATH": str(tmp_path)}, capture_output=True, text=True, timeout=120)
    assert done.returncode == 2
    assert "cannot sandbox" in done.stderr and "refusing to join" in done.stderr
    assert "Traceback" not in done.stderr


def _with_scheduler(body):
    from distributed import Scheduler

    async def main():
        async with Scheduler(host="127.0.0.1", port=0, dashboard_address=None) as scheduler:
            return await body(scheduler.address)
    return asyncio.run(main())


def test_no_grading_worker_is_a_clear_error():
    async def body(address):
        pool = ClusterPool(address, worker_wait_s=1.0)
        with pytest.raises(ClusterUnavailable, match="no grading worker joined"):
            await pool.start()
    _with_scheduler(body)


def test_an_unreachable_scheduler_is_a_clear_error():
    async def body():
        pool = ClusterPool("tcp://127.0.0.1:9", worker_wait_s=2.0)
        with pytest.raises(ClusterUnavailable, match="cannot reach"):
            await pool.start()
    asyncio.run(body())


def test_notebooks_in_flight_fail_when_every_grading_worker_is_gone():
    from distributed import Worker

    from autograder.cluster import RESOURCE

    async def body(address):
        pool = ClusterPool(address, worker_wait_s=10.0, lost_grace_s=1.0)
        worker = await Worker(address, nthreads=1, resources={RESOURCE: 1}, dashboard=False)
        await pool.start()
        await worker.close()
        try:
            with pytest.raises(WorkerDied, match="no grading worker was left"):
                await asyncio.wait_for(pool.run(_notebook(), Limits()), timeout=60)
        finally:
            await pool.stop()
    _with_scheduler(body)


def test_the_preload_refuses_a_worker_without_matching_sandbox_resources(capfd):
    from distributed import Worker

    from autograder.cluster import RESOURCE

    async def body(address):
        with pytest.raises(SystemExit):
            await Worker(address, nthreads=2, resources={RESOURCE: 1}, dashboard=False,
                         preload=["autograder.cluster_worker"])
    _with_scheduler(body)
    assert f"--resources {RESOURCE}=2" in capfd.readouterr().err
