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
import functools
import hashlib
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import assemble, collect, exchange, execute, feedback, gradebook, report, review, submissions, \
    timestamps, verdicts
from autograder.kernels import WarmWorker
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
    manifest: Path | None = None          # CSV of student_id, submitted_at (autograder.timestamps)
    file_into_submitted: bool = True      # file a --from batch into submitted/ (autograder.collect)
    scheduler: str | None = None    # a Dask scheduler address: run notebooks on its grading workers


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


@functools.lru_cache(maxsize=None)
def grader_code_hash(package_root: Path = UTILS.parent) -> str:
    """A hash of the grader's own code (every ``.py`` under ``autograder/`` and ``utils/``): a saved
    result is reused only if the same code produced it."""
    files = sorted(path for package in ("autograder", "utils") for path in (package_root / package).rglob("*.py"))
    return _sha256(*(str(path.relative_to(package_root)).encode() + b"\0" + path.read_bytes() for path in files))


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
    """``size`` sandboxed warm workers; a submission borrows one at a time.

    ``warm_up`` are functions the grader runs in a thread while the sandboxes start (imports
    the judge will need), so that the event loop that serves every kernel never waits on them.
    ``preload`` names modules every sandbox imports once, before forking kernels: the
    notebooks' own imports (``notebook_imports``), which each kernel would otherwise pay for.
    """

    def __init__(self, size: int, options: Options, warm_up: tuple = (), preload: list[str] = ()):
        env = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1",
               "COURSE_CHECK_RECORD": "1", "COURSE_DEVICE": options.device,
               "MPLBACKEND": "module://matplotlib_inline.backend_inline", "PYTHONHASHSEED": "0",
               "COURSE_PLAIN_PROGRESS": "1"}
        devices = gpu_devices() if options.device.startswith("cuda") else []
        self.workers = [WarmWorker(i, options.limits, env, devices, options.sandboxed, preload) for i in range(size)]
        self.idle: asyncio.Queue[WarmWorker] = asyncio.Queue()
        self.warm_up = tuple(warm_up)
        self._starting: asyncio.Task | None = None

    async def start(self) -> None:
        """Start every worker; called on first use, so a batch with nothing to run starts none."""
        if self._starting is None:
            self._starting = asyncio.ensure_future(asyncio.gather(
                *(w.start() for w in self.workers), *(asyncio.to_thread(job) for job in self.warm_up)))
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

    async def run(self, notebook: nbformat.NotebookNode, limits: Limits) -> execute.Execution:
        """Execute ``notebook`` in the next idle sandbox."""
        await self.start()
        worker = await self.idle.get()
        try:
            if not worker.alive:
                await worker.restart()
            return await execute.execute(worker, notebook, limits)
        finally:
            self.idle.put_nowait(worker)


def make_pool(options: Options, notebooks_to_run: int, warm_up: tuple = (), preload: list[str] = ()):
    """Local sandboxes, or with ``options.scheduler`` the grading workers of a Dask cluster."""
    if options.scheduler:
        from autograder.cluster import ClusterPool
        return ClusterPool(options.scheduler, options.device)
    return WorkerPool(max(1, min(options.workers, notebooks_to_run)), options, warm_up, preload)


def notebook_imports(notebooks: list[Notebook]) -> list[str]:
    """The modules the instructor's notebooks import at the top level of a code cell (``import a.b``
    gives ``a.b``, ``from a.b import c`` gives ``a.b``), sorted; cells that do not parse are skipped."""
    import ast

    names = set()
    for notebook in notebooks:
        for cell in notebook.source.cells:
            if cell.cell_type != "code":
                continue
            try:
                tree = ast.parse(cell.source)
            except (SyntaxError, ValueError):
                continue
            for node in tree.body:
                if isinstance(node, ast.Import):
                    names.update(alias.name for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.module and not node.level:
                    names.add(node.module)
    return sorted(names)


def judge_imports(notebooks: list[Notebook]) -> tuple:
    """What judging these notebooks will import on first use (scikit-learn for ``metric``
    checks, about a second): done while the sandboxes start rather than mid-batch."""
    uses_metric = any(".metric(" in cell.source for notebook in notebooks for cell in notebook.source.cells
                      if cell.cell_type == "code")
    return (verdicts.import_scorers,) if uses_metric else ()


async def _run(pool: WorkerPool, notebook: nbformat.NotebookNode, limits: Limits) -> execute.Execution:
    return await pool.run(notebook, limits)


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
        first_error = next((text for cell in run.notebook.cells if cell.cell_type == "code"
                            for text in [execute._error_text(cell)] if text), "")
        raise SourceError(f"the source notebook {notebook.name} does not pass its own checks "
                          f"(failing: {broken or missing}, status: {run.status}"
                          + (f"; first error: {first_error[:300]}" if first_error else "")
                          + "); fix source/ first, or the limits it runs under")
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


def _add_status(row: dict, status: str) -> None:
    if status not in row["status"]:
        row["status"].append(status)


def one_line(text: object, limit: int = 300) -> str:
    """``text`` on one line, at most ``limit`` characters: for notes in the CSV and the summary."""
    return " ".join(str(text).split())[:limit]


def _read_files(submission: submissions.Submission, files: dict, row: dict) -> dict[str, bytes | None]:
    """Each matched notebook's bytes, read as a plain file within the size cap; ``None`` if absent or refused."""
    contents: dict[str, bytes | None] = {}
    for name, path in files.items():
        contents[name] = None
        if path is None or submission.status:
            continue
        try:
            contents[name] = submissions.read_submitted(path)
        except submissions.Refused as refusal:
            _add_status(row, refusal.status)
            row["notes"].append(refusal.note)
    return contents


def _checks_without_run(notebook: Notebook, grade_id: str, reason: str) -> list[dict]:
    return [{"what": r["check"], "passed": False, "message": reason, "mistake": reason,
             "visible": r["check"] in notebook.visible.get(grade_id, set())}
            for r in notebook.reference.get(grade_id, [])]


async def _grade_notebook(pool: WorkerPool, notebook: Notebook, contents: bytes | None, refused: bool,
                          options: Options, folder: Path, row: dict) -> None:
    """Run and judge one notebook of a submission, filling ``row`` as each exercise is decided."""
    row["notebooks"][notebook.name] = scores = {grade_id: 0.0 for grade_id in notebook.points}
    for grade_id, points in notebook.points.items():   # what stands if anything below fails
        row["exercises"][grade_id] = {"notebook": notebook.name, "title": notebook.titles.get(grade_id, grade_id),
                                      "points": points, "score": 0.0, "checks": []}
    if refused or row["status"] and set(row["status"]) & {"duplicate-id", "invalid-id"}:
        cells = assemble.StudentCells()     # nothing of this submission is read or run
    else:
        cells = assemble.read_student_cells(contents, notebook.solution_ids, notebook.known_ids)
    for status in cells.status:
        _add_status(row, status)
    row["notes"] += cells.notes
    results, run = {}, None
    if cells.answers:
        run = await _run(pool, assemble.grading_notebook(notebook.source, cells), options.limits)
        row["cell_seconds"] += run.cell_seconds
        row["wall_seconds"] += run.wall_seconds
        for status in run.status:
            _add_status(row, status)
        row["notes"] += run.notes
        blocked = verdicts.blocked_checks(run.notebook, run.stopped, run.skipped)
        results = verdicts.grade_cells(notebook.reference, verdicts.records_by_cell(run.notebook),
                                       notebook.points, blocked)
    for grade_id in notebook.points:
        result = results.get(grade_id)
        exercise = row["exercises"][grade_id]
        if result is None:
            reason = "not attempted" if cells.answers or "missing" not in cells.status else "missing"
            if refused:
                reason = "not graded: the submitted file was refused"
            exercise["checks"] = _checks_without_run(notebook, grade_id, reason)
        else:
            scores[grade_id] = exercise["score"] = result.score
            hints = {str(r.get("check")): (r.get("spec") or {}).get("hint") for r in notebook.reference[grade_id]}
            exercise["checks"] = [{"what": what, "passed": v.passed, "message": v.message, "mistake": v.mistake,
                                   "visible": what in notebook.visible.get(grade_id, set()), "hint": hints.get(what)}
                                  for what, v in result.checks]
    if run is not None:
        out = folder / f"{notebook.name}.ipynb"
        out.parent.mkdir(parents=True, exist_ok=True)
        # No schema pass (the boundary built every output) and no indent: with ``indent`` set,
        # json falls back to its pure-Python encoder, tens of milliseconds per notebook.
        out.write_text(json.dumps(run.notebook, ensure_ascii=False) + "\n")


async def grade_one(pool: WorkerPool, submission: submissions.Submission, notebooks: list[Notebook],
                    options: Options, folder: Path, source_key: str) -> dict:
    """Grade one student; returns the plain result row, also saved in ``folder`` (the student's
    ``autograded/<student>/<assignment>/``) so an unchanged submission is not run again.

    A failure of the grader itself costs only what it touches: the row says
    ``grader-error`` with a one-line reason and keeps every exercise decided before it.
    """
    row = {"student_id": submission.student_id, "status": list(submission.status),
           "notes": list(submission.notes), "notebooks": {}, "exercises": {}, "cell_seconds": 0.0,
           "wall_seconds": 0.0, "reused": False}
    files, notes = _match_files(submission, notebooks)
    if notes:
        row["status"].append("renamed")
        row["notes"] += [one_line(note) for note in notes]
    contents = _read_files(submission, files, row)
    refused = set(row["status"]) & set(submissions.REFUSED)
    content_key = _sha256(source_key.encode(), grader_code_hash().encode(),
                          *(contents[n.name] if contents[n.name] is not None
                            else ("refused" if refused else "-").encode() for n in notebooks))
    saved = folder / "grading.json"
    keep = "invalid-id" not in row["status"]   # an unusable id names no folder
    if keep and not options.force and saved.is_file():
        try:
            previous = json.loads(saved.read_text())
            if isinstance(previous, dict) and previous.get("content_key") == content_key:
                previous["reused"] = True
                return previous
        except (ValueError, OSError):
            pass
    row["content_key"] = content_key
    for notebook in notebooks:
        try:
            await _grade_notebook(pool, notebook, contents[notebook.name], bool(refused), options, folder, row)
        except Exception as error:  # noqa: BLE001 -- any grader failure: this notebook's row entry, named
            _add_status(row, "grader-error")
            row["notes"].append(one_line(f"{notebook.name}: the grader could not finish it "
                                         f"({type(error).__name__}: {error})"))
    row["score"] = sum(e["score"] for e in row["exercises"].values())
    row["max_score"] = sum(e["points"] for e in row["exercises"].values())
    if keep:
        try:
            saved.parent.mkdir(parents=True, exist_ok=True)
            saved.write_text(json.dumps(row, indent=1))
        except OSError as error:
            row["notes"].append(one_line(f"the result could not be saved for reuse ({error})"))
    return row


# ---------------------------------------------------------------------------
# The batch

def _grader_error(submission: submissions.Submission, notebooks: list[Notebook], error: BaseException) -> dict:
    return {"student_id": submission.student_id, "status": ["grader-error"],
            "notes": [one_line(f"the grader could not finish this submission ({type(error).__name__}: {error})")],
            "exercises": {},
            "notebooks": {n.name: {g: 0.0 for g in n.points} for n in notebooks},
            "score": 0.0, "max_score": sum(sum(n.points.values()) for n in notebooks),
            "cell_seconds": 0.0, "wall_seconds": 0.0, "reused": False}


async def grade_batches(course_root: Path, batches: dict[str, list[submissions.Submission]],
                        options: Options, on_done=None, alongside: tuple = ()) -> dict[str, list[dict]]:
    """Grade several assignments' batches with one pool of warm sandboxes; assignment -> sorted rows.

    Each assignment goes on as soon as its own reference is recorded, so no sandbox waits for
    another assignment's. ``on_done(assignment, rows)``, an optional coroutine function, is
    awaited for each assignment once its rows are complete, in the order of ``batches``, while
    later assignments are still being graded. ``alongside`` are awaitables that must succeed
    too (registering the assignments in the gradebook): the first failure stops everything.
    """
    autograded = course_root / "autograded"
    notebooks = {a: load_notebooks(course_root, a) for a in batches}
    keys = {a: source_hash(course_root, a) for a in batches}
    total = sum(len(b) for b in batches.values())
    every = [n for group in notebooks.values() for n in group]
    pool = make_pool(options, total, judge_imports(every), notebook_imports(every))
    progress = report.progress_bar(total, enabled=options.progress)

    async def one(assignment: str, submission: submissions.Submission) -> dict:
        try:
            row = await grade_one(pool, submission, notebooks[assignment], options,
                                  autograded / submission.student_id / assignment, keys[assignment])
        except Exception as error:  # noqa: BLE001 -- of any type: this row's grader-error, never the batch's
            row = _grader_error(submission, notebooks[assignment], error)
        progress.update(1)
        row["status"] = row["status"] or ["ok"]
        return row

    async def assignment_rows(assignment: str) -> list[dict]:
        await load_references(pool, notebooks[assignment], autograded / ".reference" / f"{assignment}.json",
                              keys[assignment], options.limits)
        rows = await asyncio.gather(*(one(assignment, s) for s in batches[assignment]))
        return sorted(rows, key=lambda row: row["student_id"])

    async def finish(assignment: str, grading: asyncio.Future, before: asyncio.Future | None) -> None:
        rows = await grading
        if before is not None:
            await before
        if on_done is not None:
            await on_done(assignment, rows)

    gradings = {a: asyncio.ensure_future(assignment_rows(a)) for a in batches}
    finishing: list[asyncio.Future] = []
    for assignment, grading in gradings.items():
        finishing.append(asyncio.ensure_future(finish(assignment, grading, finishing[-1] if finishing else None)))
    others = [asyncio.ensure_future(job) for job in alongside]
    try:
        await asyncio.gather(*others, *finishing)
    finally:
        for task in [*gradings.values(), *finishing, *others]:
            task.cancel()
        await asyncio.gather(*gradings.values(), *finishing, *others, return_exceptions=True)
        progress.close()
        if pool.started:
            await pool.stop()
    return {a: grading.result() for a, grading in gradings.items()}


def main(assignments: list[str], course_root: Path, source: Path | None, options: Options) -> int:
    """``autograder grade``: grade each assignment's batch and write every output; returns the exit code.

    An assignment's outputs (formgrader's files, gradebook, CSV, feedback, histogram) are
    written in a thread as soon as its batch is graded, while the sandboxes go on with the next
    assignment; the summaries are printed at the end, in order.
    """
    if options.sandboxed and not options.scheduler:  # on a cluster, each worker checks its own
        problem = isolation_problem()
        if problem:
            raise IsolationUnavailable(
                f"cannot sandbox student code on this machine: {problem}.\n"
                "Refusing to grade. To grade anyway, without isolation (only for code you trust), "
                "pass --unsafe-no-sandbox.")
    db_url = options.db_url or gradebook.default_db_url(course_root)
    manifest = timestamps.load_manifest(options.manifest) if options.manifest else None
    problems: list[str] = []
    summaries: list[str] = []
    try:
        late_policy = gradebook.nbgrader_settings(course_root)
    except Exception as error:  # noqa: BLE001 -- a broken late-policy setting must not lose the grades
        late_policy = None
        problems.append(one_line(f"nbgrader's late-submission settings could not be read "
                                 f"({type(error).__name__}: {error}); no late penalty applied"))
    with tempfile.TemporaryDirectory(prefix="autograder-batch-") as unpacked:
        batches, points = {}, {}
        for assignment in assignments:
            points[assignment] = {n.name: n.points for n in load_notebooks(course_root, assignment)}
            batches[assignment] = submissions.collect(course_root, assignment, source,
                                                      scratch=Path(unpacked) / assignment)
            collect.stamp(batches[assignment], manifest)

        def register() -> None:
            for assignment in assignments:
                gradebook.register_assignment(assignment, course_root, db_url, points[assignment])

        def write_all(assignment: str, rows: list[dict]) -> None:
            _prepare_review(course_root, assignment, batches[assignment], rows,
                            from_elsewhere=source is not None and options.file_into_submitted)
            problems.extend(write_outputs(course_root, assignment, rows, db_url, late_policy, summaries.append))

        async def grade_and_write() -> None:
            # nbgrader takes seconds to register the assignments: in a thread, while the sandboxes start
            registering = asyncio.ensure_future(asyncio.to_thread(register))

            async def written(assignment: str, rows: list[dict]) -> None:
                await registering
                await asyncio.to_thread(write_all, assignment, rows)

            await grade_batches(course_root, batches, options, on_done=written, alongside=(registering,))

        asyncio.run(grade_and_write())
    for summary in summaries:
        print(summary)
    for problem in problems:
        print(f"autograder: {problem}", file=sys.stderr)
    return 1 if problems else 0


def write_outputs(course_root: Path, assignment: str, rows: list[dict], db_url: str, late_policy,
                  show=print) -> list[str]:
    """Gradebook, CSV, feedback pages, histogram and summary (given to ``show``): each written
    even if another fails (a failure is returned as a one-line problem). Rows with an unusable
    id get a CSV line only: their id names no folder and no gradebook student."""
    problems = []
    csv_path = histogram = None
    standings = {}
    usable = [row for row in rows if "invalid-id" not in row["status"]]
    try:
        standings = gradebook.record_scores(db_url, assignment, usable, late_policy)
    except Exception as error:  # noqa: BLE001
        problems.append(one_line(f"{assignment}: the gradebook could not be written ({type(error).__name__}: {error})"))
    for row in rows:
        row.update(report.standing_columns(row, standings.get(row["student_id"])))
    try:
        csv_path = report.write_csv(course_root / "grades" / f"{assignment}.csv", rows,
                                    load_notebooks(course_root, assignment))
    except Exception as error:  # noqa: BLE001 -- report it, write the rest
        problems.append(one_line(f"{assignment}: the CSV could not be written ({type(error).__name__}: {error})"))
    for row in usable:
        folder = course_root / "feedback" / row["student_id"] / assignment
        standing = standings.get(row["student_id"])
        try:
            feedback.write(folder, assignment, row)
            exchange.complete_feedback(folder, standing.submitted_at if standing else None,
                                       course_root / "submitted" / row["student_id"] / assignment)
        except Exception as error:  # noqa: BLE001
            problems.append(one_line(f"{assignment}: no feedback page for {row['student_id']} "
                                     f"({type(error).__name__}: {error})"))
    try:
        histogram = report.write_histogram(course_root / "grades" / f"{assignment}-histogram.png", rows, assignment)
    except Exception as error:  # noqa: BLE001
        problems.append(one_line(f"{assignment}: the histogram could not be drawn ({type(error).__name__}: {error})"))
    show(report.summary(assignment, rows, csv_path, histogram))
    return problems


def _prepare_review(course_root: Path, assignment: str, batch: list[submissions.Submission], rows: list[dict],
                    from_elsewhere: bool) -> None:
    """Submission times into the rows, the batch filed where formgrader looks, and every
    autograded notebook annotated for review (``collect``, ``review``)."""
    notebooks = load_notebooks(course_root, assignment)
    by_student = {s.student_id: s for s in batch}
    for row in rows:
        submission = by_student.get(row["student_id"])
        when = submission.submitted_at if submission else None
        row["submitted_at"] = when.isoformat() if when else None
        if submission is None or set(submission.status) & collect.NOT_FILED:
            continue
        try:   # a file that cannot be copied or written costs this row a note, never the batch
            collect.file_batch(course_root, assignment, [submission], [n.name for n in notebooks], from_elsewhere)
            files, _ = _match_files(submission, notebooks)
            for notebook in notebooks:
                review.write_autograded(course_root / "autograded" / row["student_id"] / assignment,
                                        notebook.source, notebook.name, row, files[notebook.name])
        except Exception as error:  # noqa: BLE001
            row["notes"].append(one_line(f"not filed or annotated for formgrader: {type(error).__name__}: {error}"))
