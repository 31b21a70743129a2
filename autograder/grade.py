"""``autograder grade``: one command from a batch of submissions to gradebook, feedback, CSV and summary.

The flow, per assignment:

1. ``submissions.collect`` finds each student's notebooks (``submitted/``, a folder or a zip);
2. the instructor's source runs once, in a sandbox, recording what every check is judged
   against (cached by content hash);
3. each submission is assembled (``assemble``) and executed (``execute``) in a kernel forked
   in one of ``workers`` sandboxes, in parallel; a submission whose content and source were
   already graded is not run again;
4. the trusted grader judges the plain answers (``verdicts``), writes ``autograded/``, the
   gradebook (``gradebook``), ``feedback/`` (``feedback``), ``grades/<assignment>.csv`` and
   the summary (``report``).
"""

from __future__ import annotations

import asyncio
import hashlib
import json
import os
import shutil
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import assemble, execute, feedback, gradebook, report, submissions, verdicts
from autograder.kernels import WarmWorker, WorkerDied
from autograder.sandbox import IsolationUnavailable, Limits, gpu_devices, isolation_problem

UTILS = Path(verdicts.__file__).resolve().parent.parent / "utils"
# The modules that record and judge answers: a change to any of them regrades every submission.
CHECK_MODULES = [UTILS / name for name in ("checks.py", "answers.py", "judge.py", "diagnose.py")]


class SourceError(RuntimeError):
    """The instructor's notebook does not pass its own checks: nothing can be graded against it."""


@dataclass
class Options:
    workers: int = max(1, os.cpu_count() or 1)
    force: bool = False
    sandboxed: bool = True
    limits: Limits = field(default_factory=Limits)
    device: str = "cpu"
    db_url: str | None = None
    progress: bool = True


@dataclass
class Notebook:
    """One notebook of the assignment, as the instructor wrote it."""

    name: str                       # file stem, nbgrader's notebook id
    source: nbformat.NotebookNode
    points: dict[str, float]        # test cell grade_id -> points
    titles: dict[str, str]          # test cell grade_id -> exercise title
    visible: dict[str, set[str]]    # test cell grade_id -> names of checks students can see
    reference: dict[str, list[dict]] = field(default_factory=dict)

    @property
    def solution_ids(self) -> set[str]:
        return {assemble.nbgrader_meta(c)["grade_id"] for c in self.source.cells
                if assemble.nbgrader_meta(c).get("solution") and c.cell_type == "code"}

    @property
    def known_ids(self) -> set[str]:
        return {assemble.nbgrader_meta(c)["grade_id"] for c in self.source.cells
                if assemble.nbgrader_meta(c).get("grade_id")}


def _sha256(*chunks: bytes) -> str:
    digest = hashlib.sha256()
    for chunk in chunks:
        digest.update(hashlib.sha256(chunk).digest())
    return digest.hexdigest()


def load_notebooks(course_root: Path, assignment: str) -> list[Notebook]:
    folder = course_root / "source" / assignment
    paths = sorted(folder.glob("*.ipynb"))
    if not paths:
        raise submissions.BatchError(f"no assignment {assignment!r}: source/{assignment}/ holds no notebook")
    notebooks = []
    for path in paths:
        source = nbformat.read(path, as_version=4)
        points, visible = {}, {}
        for cell in source.cells:
            meta = assemble.nbgrader_meta(cell)
            if meta.get("grade") and cell.cell_type == "code":
                points[meta["grade_id"]] = float(meta.get("points", 0))
                visible[meta["grade_id"]] = report.visible_check_names(cell.source)
        notebooks.append(Notebook(path.stem, source, points, {}, visible))
    return notebooks


def source_hash(course_root: Path, assignment: str) -> str:
    files = sorted((course_root / "source" / assignment).glob("*.ipynb"))
    return _sha256(*(p.read_bytes() for p in files), *(p.read_bytes() for p in CHECK_MODULES))


# ---------------------------------------------------------------------------
# Workers

class WorkerPool:
    """``size`` sandboxed warm workers; a submission borrows one at a time."""

    def __init__(self, size: int, options: Options):
        env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "COURSE_CHECK_RECORD": "1", "COURSE_DEVICE": options.device,
               "MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYTHONHASHSEED": "0",
               "COURSE_PLAIN_PROGRESS": "1"}
        devices = gpu_devices() if options.device.startswith("cuda") else []
        self.workers = [WarmWorker(i, options.limits, env, devices, options.sandboxed) for i in range(size)]
        self.idle: asyncio.Queue[WarmWorker] = asyncio.Queue()
        self._starting: asyncio.Task | None = None

    async def start(self) -> None:
        """Start every worker; called on first use, so a batch with nothing to run starts none."""
        if self._starting is None:
            self._starting = asyncio.ensure_future(asyncio.gather(*(w.start() for w in self.workers)))
            await self._starting
            for worker in self.workers:
                self.idle.put_nowait(worker)
        else:
            await self._starting

    @property
    def started(self) -> bool:
        return self._starting is not None

    async def stop(self) -> None:
        await asyncio.gather(*(w.stop() for w in self.workers), return_exceptions=True)


async def _run(pool: WorkerPool, notebook: nbformat.NotebookNode, limits: Limits) -> execute.Execution:
    await pool.start()
    worker = await pool.idle.get()
    try:
        if not worker.alive:
            await worker.restart()
        return await execute.execute(worker, notebook, limits)
    finally:
        pool.idle.put_nowait(worker)


async def record_reference(pool: WorkerPool, notebook: Notebook, limits: Limits) -> dict[str, list[dict]]:
    """Run the instructor's notebook once, recording what each check is judged against."""
    generous = Limits(**{**limits.__dict__, "cell_timeout_s": max(limits.cell_timeout_s, 300),
                         "notebook_timeout_s": max(limits.notebook_timeout_s, 1800)})
    run = await _run(pool, assemble.reference_notebook(notebook.source), generous)
    reference = verdicts.records_by_cell(run.notebook)
    own = verdicts.grade_cells(reference, reference, notebook.points)
    broken = [grade_id for grade_id, result in own.items() if not result.passed]
    missing = [grade_id for grade_id in notebook.points if not reference.get(grade_id)]
    if broken or missing or run.status:
        raise SourceError(f"the source notebook {notebook.name} does not pass its own checks "
                           f"(failing: {broken or missing}, status: {run.status}); fix source/ first")
    return reference


async def load_references(pool: WorkerPool, notebooks: list[Notebook], cache: Path, key: str,
                          limits: Limits) -> None:
    cached = {}
    if cache.exists():
        try:
            cached = json.loads(cache.read_text())
        except ValueError:
            cached = {}
    if cached.get("key") == key:
        for notebook in notebooks:
            notebook.reference = cached["notebooks"][notebook.name]
    else:
        for notebook in notebooks:
            notebook.reference = await record_reference(pool, notebook, limits)
        cache.parent.mkdir(parents=True, exist_ok=True)
        cache.write_text(json.dumps({"key": key, "notebooks": {n.name: n.reference for n in notebooks}}))
    for notebook in notebooks:
        for grade_id, records in notebook.reference.items():
            title = records[0]["exercise"] if records else grade_id
            notebook.titles[grade_id] = title.replace(" (hidden checks)", "")


# ---------------------------------------------------------------------------
# One student

def _match_files(submission: submissions.Submission, notebooks: list[Notebook]) -> tuple[dict, list[str]]:
    """Notebook name -> submitted file (or None); renamed single notebooks are accepted and noted."""
    by_name = {p.stem: p for p in submission.notebooks}
    matched, notes = {}, []
    unclaimed = [p for p in submission.notebooks if p.stem not in {n.name for n in notebooks}]
    for notebook in notebooks:
        path = by_name.get(notebook.name)
        if path is None and len(notebooks) == 1 and len(unclaimed) == 1:
            path = unclaimed[0]
            notes.append(f"the notebook was renamed to {path.name}; graded as {notebook.name}.ipynb")
        matched[notebook.name] = path
    return matched, notes


async def grade_one(pool: WorkerPool, submission: submissions.Submission, notebooks: list[Notebook],
                    options: Options, folder: Path, source_key: str) -> dict:
    """Grade one student; returns the plain result row, also saved in ``folder`` (the student's
    ``autograded/<student>/<assignment>/``) so an unchanged submission is not run again."""
    row = {"student_id": submission.student_id, "status": list(submission.status),
           "notes": list(submission.notes), "notebooks": {}, "exercises": {}, "cell_seconds": 0.0,
           "wall_seconds": 0.0, "reused": False}
    files, notes = _match_files(submission, notebooks)
    if notes:
        row["status"].append("renamed")
        row["notes"] += notes
    content_key = _sha256(source_key.encode(), *(files[n.name].read_bytes() if files[n.name] else b"-"
                                                for n in notebooks))
    saved = folder / "grading.json"
    if not options.force and saved.exists():
        try:
            previous = json.loads(saved.read_text())
            if previous.get("content_key") == content_key:
                previous["reused"] = True
                return previous
        except ValueError:
            pass
    row["content_key"] = content_key
    for notebook in notebooks:
        scores = {grade_id: 0.0 for grade_id in notebook.points}
        if submission.status:  # duplicate or invalid id: nothing is run
            cells = assemble.StudentCells()
        else:
            cells = assemble.read_student_cells(files[notebook.name], notebook.solution_ids, notebook.known_ids)
        for status in cells.status:
            if status not in row["status"]:
                row["status"].append(status)
        row["notes"] += cells.notes
        results = {}
        if cells.answers:
            to_run = assemble.grading_notebook(notebook.source, cells)
            run = await _run(pool, to_run, options.limits)
            row["cell_seconds"] += run.cell_seconds
            row["wall_seconds"] += run.wall_seconds
            for status in run.status:
                if status not in row["status"]:
                    row["status"].append(status)
            row["notes"] += run.notes
            student_records = verdicts.records_by_cell(run.notebook)
            results = verdicts.grade_cells(notebook.reference, student_records, notebook.points)
            out = folder / f"{notebook.name}.ipynb"
            out.parent.mkdir(parents=True, exist_ok=True)
            out.write_text(json.dumps(run.notebook, indent=1, ensure_ascii=False) + "\n")  # no schema pass
        for grade_id, points in notebook.points.items():
            result = results.get(grade_id)
            checks = []
            if result is None:
                reason = "not attempted" if cells.answers or "missing" not in cells.status else "missing"
                checks = [{"what": r["check"], "passed": False, "message": reason, "mistake": reason,
                           "visible": r["check"] in notebook.visible.get(grade_id, set())}
                          for r in notebook.reference.get(grade_id, [])]
            else:
                scores[grade_id] = result.score
                checks = [{"what": what, "passed": v.passed, "message": v.message, "mistake": v.mistake,
                           "visible": what in notebook.visible.get(grade_id, set())}
                          for what, v in result.checks]
            row["exercises"][grade_id] = {"notebook": notebook.name, "title": notebook.titles.get(grade_id, grade_id),
                                          "points": points, "score": scores[grade_id], "checks": checks}
        row["notebooks"][notebook.name] = scores
    row["score"] = sum(e["score"] for e in row["exercises"].values())
    row["max_score"] = sum(e["points"] for e in row["exercises"].values())
    saved.parent.mkdir(parents=True, exist_ok=True)
    saved.write_text(json.dumps(row, indent=1))
    return row


# ---------------------------------------------------------------------------
# The batch

def _grader_error(submission: submissions.Submission, notebooks: list[Notebook], error: Exception) -> dict:
    return {"student_id": submission.student_id, "status": ["grader-error"],
            "notes": [f"the grader could not finish this submission: {error}"], "exercises": {},
            "notebooks": {n.name: {g: 0.0 for g in n.points} for n in notebooks},
            "score": 0.0, "max_score": sum(sum(n.points.values()) for n in notebooks),
            "cell_seconds": 0.0, "wall_seconds": 0.0, "reused": False}


async def grade_batches(course_root: Path, batches: dict[str, list[submissions.Submission]],
                        options: Options) -> dict[str, list[dict]]:
    """Grade several assignments' batches with one pool of warm sandboxes; assignment -> sorted rows."""
    autograded = course_root / "autograded"
    notebooks = {a: load_notebooks(course_root, a) for a in batches}
    keys = {a: source_hash(course_root, a) for a in batches}
    total = sum(len(b) for b in batches.values())
    pool = WorkerPool(max(1, min(options.workers, total)), options)
    progress = report.progress_bar(total, enabled=options.progress)
    try:
        await asyncio.gather(*(load_references(pool, notebooks[a], autograded / ".reference" / f"{a}.json",
                                               keys[a], options.limits) for a in batches))

        async def one(assignment: str, submission: submissions.Submission) -> dict:
            try:
                row = await grade_one(pool, submission, notebooks[assignment], options,
                                      autograded / submission.student_id / assignment, keys[assignment])
            except (WorkerDied, OSError, RuntimeError, ValueError) as error:
                row = _grader_error(submission, notebooks[assignment], error)
            progress.update(1)
            return row

        jobs = [(a, s) for a, batch in batches.items() for s in batch]
        rows = await asyncio.gather(*(one(a, s) for a, s in jobs))
    finally:
        progress.close()
        if pool.started:
            await pool.stop()
    by_assignment: dict[str, list[dict]] = {a: [] for a in batches}
    for (assignment, _), row in zip(jobs, rows):
        row["status"] = row["status"] or ["ok"]
        by_assignment[assignment].append(row)
    return {a: sorted(r, key=lambda row: row["student_id"]) for a, r in by_assignment.items()}


def main(assignments: list[str], course_root: Path, source: Path | None, options: Options) -> int:
    """``autograder grade``: grade each assignment's batch and write every output; returns the exit code."""
    if options.sandboxed:
        problem = isolation_problem()
        if problem:
            raise IsolationUnavailable(
                f"cannot sandbox student code on this machine: {problem}.\n"
                "Refusing to grade. To grade anyway, without isolation (only for code you trust), "
                "pass --unsafe-no-sandbox.")
    db_url = options.db_url or gradebook.default_db_url(course_root)
    with tempfile.TemporaryDirectory(prefix="autograder-batch-") as unpacked:
        batches = {}
        for assignment in assignments:
            notebooks = load_notebooks(course_root, assignment)
            batches[assignment] = submissions.collect(course_root, assignment, source,
                                                      scratch=Path(unpacked) / assignment)
            gradebook.register_assignment(assignment, course_root, db_url, {n.name: n.points for n in notebooks})
        results = asyncio.run(grade_batches(course_root, batches, options))
    for assignment, rows in results.items():
        gradebook.record_scores(db_url, assignment, rows)
        for row in rows:
            feedback.write(course_root / "feedback" / row["student_id"] / assignment, assignment, row)
        csv_path = report.write_csv(course_root / "grades" / f"{assignment}.csv", rows,
                                    load_notebooks(course_root, assignment))
        histogram = report.write_histogram(course_root / "grades" / f"{assignment}-histogram.png", rows, assignment)
        print(report.summary(assignment, rows, csv_path, histogram))
    return 0
