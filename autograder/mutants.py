"""``autograder mutants``: grade plausible wrong answers and correct alternatives of every answer cell.

A mutation suite lives outside ``source/`` (a release never carries it), in
``tests/mutants/<assignment>.py``::

    from autograder.mutants import right, wrong

    CELLS = {
        "centred_slope": [                      # an answer cell's nbgrader grade_id
            wrong("forward difference", '''
    def centred_slope(f, x, h=1e-3):
        return (f(x + h) - f(x)) / h
    ''', diagnosis="forward difference"),
            right("written with a helper", '''...'''),
        ],
    }

Each mutant's source replaces the whole answer cell; every other answer cell
keeps the instructor's solution. Every mutant becomes one submission of one
batch per assignment, graded by the real grader (``grade.grade_batches``: the
same sandboxes, workers and judge as ``autograder grade``) in a temporary
course folder. The suite behaves when

- every wrong answer loses points, and when it names a ``diagnosis``, the
  message or named mistake of some failing check contains it;
- every correct alternative keeps full marks;
- every code answer cell of the source has at least ``MIN_WRONG`` wrong
  answers and ``MIN_RIGHT`` alternatives.
"""

from __future__ import annotations

import asyncio
import importlib.util
import json
import shutil
import tempfile
import textwrap
from dataclasses import dataclass, field
from pathlib import Path

import nbformat

from autograder import demo, grade, submissions
from autograder.assemble import nbgrader_meta
from autograder.sandbox import IsolationUnavailable, isolation_problem

MIN_WRONG = 6
MIN_RIGHT = 3
SUITE_FOLDER = Path("tests") / "mutants"
REFERENCE_STUDENT = "reference"


class SuiteError(ValueError):
    """A mutation suite cannot be read; the message says which file and why."""


@dataclass(frozen=True)
class Mutant:
    """One replacement of an answer cell: a plausible wrong answer, or a correct alternative."""

    name: str
    source: str
    correct: bool
    diagnosis: str | None = None   # text the feedback of a failing check must contain (wrong answers only)

    @property
    def cell_source(self) -> str:
        """The source as it goes into the answer cell: dedented, without leading blank lines."""
        return textwrap.dedent(self.source).strip("\n") + "\n"


def wrong(name: str, source: str, diagnosis: str | None = None) -> Mutant:
    """A wrong answer: it must lose points, and show ``diagnosis`` in a failing check's feedback if given."""
    return Mutant(str(name), str(source), False, None if diagnosis is None else str(diagnosis))


def right(name: str, source: str) -> Mutant:
    """A correct answer written differently from the instructor's: it must keep full marks."""
    return Mutant(str(name), str(source), True)


@dataclass
class Outcome:
    """What the grader gave one mutant."""

    cell: str
    mutant: Mutant
    score: float
    max_score: float
    status: list[str]
    failing: list[str] = field(default_factory=list)   # "check: message (mistake)" of each failing check
    lost_in: list[str] = field(default_factory=list)   # test cells that lost points

    def problem(self) -> str | None:
        """Why this mutant misbehaves, in one line; None when it behaves."""
        said = f"{self.score:g}/{self.max_score:g}, status {', '.join(self.status)}"
        if "grader-error" in self.status:
            return f"the grader could not grade it ({said})"
        if self.mutant.correct:
            if self.score < self.max_score:
                return f"lost points ({said}); failing: {' | '.join(self.failing[:3])}"
            return None
        if self.score >= self.max_score:
            return f"kept full marks ({said})"
        wanted = self.mutant.diagnosis
        if wanted and not any(wanted.lower() in line.lower() for line in self.failing):
            return f"lost points, but no failing check says {wanted!r}; the grader said: " \
                   f"{' | '.join(self.failing[:3])}"
        return None


@dataclass
class AssignmentResult:
    assignment: str
    cells: list[str]                                 # answer cells of the source, in order
    outcomes: list[Outcome]
    problems: list[str]                              # suite coverage problems
    tests: dict[str, list[str]] = field(default_factory=dict)  # answer cell -> the test cells after it
    reference_problem: str | None = None


def suite_path(course_root: Path, assignment: str) -> Path:
    return course_root / SUITE_FOLDER / f"{assignment}.py"


def load_suite(path: Path) -> dict[str, list[Mutant]]:
    """``CELLS`` of a mutation suite file: answer cell grade_id -> mutants."""
    if not path.is_file():
        raise SuiteError(f"no mutation suite: {path} does not exist")
    spec = importlib.util.spec_from_file_location(f"mutation_suite_{path.stem}", path)
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as error:  # an author's file: say where it broke
        raise SuiteError(f"{path} cannot be loaded: {type(error).__name__}: {error}") from error
    cells = getattr(module, "CELLS", None)
    if not isinstance(cells, dict) or not all(
            isinstance(k, str) and isinstance(v, list) and all(isinstance(m, Mutant) for m in v)
            for k, v in cells.items()):
        raise SuiteError(f"{path}: CELLS must map answer cell grade_ids to lists of wrong(...) / right(...)")
    return cells


def answer_cells(notebooks: list[grade.Notebook]) -> dict[str, tuple[str, list[str]]]:
    """Code answer cell grade_id -> (notebook name, the test cells that follow it up to the next answer)."""
    found: dict[str, tuple[str, list[str]]] = {}
    for notebook in notebooks:
        current = None
        for cell in notebook.source.cells:
            meta = nbgrader_meta(cell)
            if cell.cell_type != "code":
                continue
            if meta.get("solution"):
                current = meta["grade_id"]
                found[current] = (notebook.name, [])
            elif meta.get("grade") and current is not None:
                found[current][1].append(meta["grade_id"])
    return found


def coverage_problems(suite: dict[str, list[Mutant]], cells: list[str]) -> list[str]:
    """What the suite lacks: answer cells without enough wrong answers or alternatives, unknown cells."""
    problems = []
    for cell in cells:
        mutants = suite.get(cell, [])
        wrongs = sum(not m.correct for m in mutants)
        rights = sum(m.correct for m in mutants)
        if cell not in suite:
            problems.append(f"{cell}: no mutants (at least {MIN_WRONG} wrong answers and {MIN_RIGHT} alternatives)")
        elif wrongs < MIN_WRONG or rights < MIN_RIGHT:
            problems.append(f"{cell}: {wrongs} wrong answers and {rights} alternatives "
                            f"(at least {MIN_WRONG} and {MIN_RIGHT})")
        names = [m.name for m in mutants]
        for name in sorted({n for n in names if names.count(n) > 1}):
            problems.append(f"{cell}: two mutants are named {name!r}")
    for cell in suite:
        if cell not in cells:
            problems.append(f"{cell}: not a code answer cell of the source")
    return problems


def _submission(source: nbformat.NotebookNode, answers: dict[str, str]) -> nbformat.NotebookNode:
    notebook = nbformat.from_dict(json.loads(json.dumps(source)))
    for cell in notebook.cells:
        grade_id = nbgrader_meta(cell).get("grade_id")
        if grade_id in answers and nbgrader_meta(cell).get("solution"):
            cell.source = answers[grade_id]
    return notebook


def build_batch(notebooks: list[grade.Notebook], suite: dict[str, list[Mutant]], into: Path,
                only: set[str] | None = None) -> dict[str, tuple[str, Mutant] | None]:
    """Write ``into/<student>/<notebook>.ipynb``, one student per mutant plus the instructor's
    own answers; returns student id -> (answer cell, mutant), None for the reference student."""
    cells = answer_cells(notebooks)
    solutions = {n.name: demo.solutions(n.source) for n in notebooks}
    students: dict[str, tuple[str, Mutant] | None] = {REFERENCE_STUDENT: None}
    for cell, mutants in suite.items():
        if cell not in cells or (only and cell not in only):
            continue
        for mutant in mutants:
            students[f"m{len(students):04d}"] = (cell, mutant)
    for student, entry in students.items():
        for notebook in notebooks:
            answers = dict(solutions[notebook.name])
            if entry is not None and cells[entry[0]][0] == notebook.name:
                answers[entry[0]] = entry[1].cell_source
            target = into / student / f"{notebook.name}.ipynb"
            target.parent.mkdir(parents=True, exist_ok=True)
            nbformat.write(_submission(notebook.source, answers), target)
    return students


def _failing_lines(row: dict) -> list[str]:
    lines = []
    for exercise in row.get("exercises", {}).values():
        for check in exercise.get("checks", []):
            if not check.get("passed"):
                mistake = f" ({check['mistake']})" if check.get("mistake") else ""
                lines.append(f"{check.get('what')}: {check.get('message')}{mistake}")
    return lines


def _auto_exercises(row: dict) -> dict[str, dict]:
    """The row's autograded exercises: hand-graded written answers (flagged manual or pending) excluded."""
    return {g: e for g, e in row.get("exercises", {}).items()
            if isinstance(e, dict) and not (e.get("manual") or e.get("pending"))}


def auto_score(row: dict) -> tuple[float, float]:
    """(auto score, auto max) of a graded row."""
    exercises = _auto_exercises(row)
    if not exercises:
        return float(row.get("score", 0.0)), float(row.get("max_score", 0.0))
    return (sum(float(e.get("score", 0.0)) for e in exercises.values()),
            sum(float(e.get("points", 0.0)) for e in exercises.values()))


def _outcome(cell: str, mutant: Mutant, row: dict) -> Outcome:
    lost = [g for g, e in _auto_exercises(row).items() if e.get("score", 0) < e.get("points", 0)]
    score, max_score = auto_score(row)
    return Outcome(cell, mutant, score, max_score, list(row.get("status") or ["ok"]), _failing_lines(row), lost)


def _course_copy(course_root: Path, assignments: list[str], into: Path) -> Path:
    """A course folder holding only what grading reads: config, the sources, saved references."""
    into.mkdir(parents=True, exist_ok=True)
    shutil.copy(course_root / "nbgrader_config.py", into / "nbgrader_config.py")
    for assignment in assignments:
        shutil.copytree(course_root / "source" / assignment, into / "source" / assignment)
        saved = course_root / "autograded" / ".reference" / f"{assignment}.json"
        if saved.is_file():  # reused only when its key still matches the source (grade.load_references)
            (into / "autograded" / ".reference").mkdir(parents=True, exist_ok=True)
            shutil.copy(saved, into / "autograded" / ".reference" / saved.name)
    return into


def grade_suites(course_root: Path, assignments: list[str], options: grade.Options,
                 only: set[str] | None = None) -> list[AssignmentResult]:
    """Grade every mutant of every named assignment in one batch per assignment, one pool of sandboxes."""
    if options.sandboxed:
        problem = isolation_problem()
        if problem:
            raise IsolationUnavailable(f"cannot sandbox student code on this machine: {problem}. "
                                       "Pass --unsafe-no-sandbox to grade the mutants without isolation.")
    suites = {a: load_suite(suite_path(course_root, a)) for a in assignments}
    with tempfile.TemporaryDirectory(prefix="autograder-mutants-") as scratch:
        course = _course_copy(course_root, assignments, Path(scratch) / "course")
        batches, students, notebooks = {}, {}, {}
        for assignment in assignments:
            notebooks[assignment] = grade.load_notebooks(course, assignment)
            folder = Path(scratch) / "batches" / assignment
            students[assignment] = build_batch(notebooks[assignment], suites[assignment], folder, only)
            batches[assignment] = submissions.collect(course, assignment, folder)
        rows = asyncio.run(grade.grade_batches(course, batches, options))
        # keep the recorded references for the next run of the real course
        for assignment in assignments:
            saved = course / "autograded" / ".reference" / f"{assignment}.json"
            target = course_root / "autograded" / ".reference" / saved.name
            if saved.is_file() and (course_root / "autograded").is_dir():
                target.parent.mkdir(parents=True, exist_ok=True)
                shutil.copy(saved, target)
    results = []
    for assignment in assignments:
        cells = answer_cells(notebooks[assignment])
        wanted = [c for c in cells if not only or c in only]
        suite = {c: m for c, m in suites[assignment].items() if not only or c in only}
        result = AssignmentResult(assignment, wanted, [], coverage_problems(suite, wanted),
                                  {c: tests for c, (_, tests) in cells.items()})
        by_student = {row["student_id"]: row for row in rows[assignment]}
        for student, entry in students[assignment].items():
            row = by_student.get(student, {"score": 0.0, "max_score": 0.0, "status": ["not graded"]})
            if entry is None:
                score, max_score = auto_score(row)
                if score != max_score or not max_score:
                    result.reference_problem = (f"the instructor's own answers got {score:g}/{max_score:g}: "
                                                f"{' | '.join(_failing_lines(row)[:3])}")
                continue
            result.outcomes.append(_outcome(entry[0], entry[1], row))
        results.append(result)
    return results


def _tally(outcomes: list[Outcome]) -> tuple[int, int, int, int]:
    wrongs = [o for o in outcomes if not o.mutant.correct]
    rights = [o for o in outcomes if o.mutant.correct]
    return (sum(o.problem() is None for o in wrongs), len(wrongs),
            sum(o.problem() is None for o in rights), len(rights))


def score_line(outcomes: list[Outcome], cells: int) -> str:
    w, wt, a, at = _tally(outcomes)
    return f"mutation score: {w}/{wt} wrong answers lose points, {a}/{at} alternatives keep full marks " \
           f"({cells} answer cells)"


def report(results: list[AssignmentResult]) -> tuple[str, bool]:
    """The printed report and whether everything behaved."""
    lines, behaved = [], True
    for result in results:
        lines.append(f"{result.assignment}")
        if result.reference_problem:
            behaved = False
            lines.append(f"  ✗ {result.reference_problem}")
        for cell in result.cells:
            mine = [o for o in result.outcomes if o.cell == cell]
            w, wt, a, at = _tally(mine)
            lines.append(f"  {cell}: {w}/{wt} wrong lose points, {a}/{at} alternatives keep full marks")
            for outcome in mine:
                kind = "right" if outcome.mutant.correct else "wrong"
                problem = outcome.problem()
                if problem:
                    behaved = False
                    lines.append(f"    ✗ {kind} {outcome.mutant.name!r}: {problem}")
            lines += [f"    note: {text}" for text in _leaks(result, cell, mine)]
        for problem in result.problems:
            behaved = False
            lines.append(f"  ✗ suite: {problem}")
        lines.append(f"  {score_line(result.outcomes, len(result.cells))}")
    every = [o for r in results for o in r.outcomes]
    lines.append(score_line(every, sum(len(r.cells) for r in results)))
    return "\n".join(lines), behaved and all(o.problem() is None for o in every)


def _leaks(result: AssignmentResult, cell: str, outcomes: list[Outcome]) -> list[str]:
    """Wrong answers of ``cell`` that also cost points in another answer cell's exercises: that
    exercise's checks depend on this answer instead of the instructor's reference."""
    own = set(result.tests.get(cell, []))
    notes = []
    for outcome in outcomes:
        elsewhere = [g for g in outcome.lost_in if g not in own]
        if not outcome.mutant.correct and own and elsewhere:
            notes.append(f"wrong {outcome.mutant.name!r} also lost points in {', '.join(elsewhere)}")
    return notes


def main(assignments: list[str], course_root: Path, options: grade.Options, only: set[str] | None = None) -> int:
    """``autograder mutants``: grade the suites, print the report; 0 only when everything behaves."""
    if not assignments:
        from autograder.release import assignments as all_assignments
        assignments = all_assignments(course_root)
    results = grade_suites(course_root, assignments, options, only)
    text, behaved = report(results)
    print(text)
    return 0 if behaved else 1
