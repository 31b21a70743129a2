"""A small grading batch for checking the grader on a new machine (tools/gpu_check.sh uses it).

    python tools/grade_check_batch.py build COURSE [ASSIGNMENT ...]
        a scratch course in COURSE (config, source/, release/) whose submitted/ holds, per
        assignment, three students: "answered" (the instructor's answers), "blank" (the release)
        and "half" (the first half of the answers); no assignment named: all of them.
    python tools/grade_check_batch.py errors COURSE
        every error a kernel reported in the executed notebooks of autograded/ (with its
        traceback), and the notes of each student's grading.json: what to read when verify fails.
    python tools/grade_check_batch.py verify COURSE
        after `autograder grade` ran in COURSE: print each student's row of grades/<assignment>.csv
        and exit 1 unless "answered" has full marks, "blank" zero, "half" something in between
        (or full marks when "half" is the answered notebook), and every status is "ok".

The same batch as tests/test_grading_assignments.py, so a machine's run can be compared with CI's.
"""

from __future__ import annotations

import csv
import json
import re
import shutil
import sys
from pathlib import Path

import nbformat

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

from autograder.assemble import nbgrader_meta  # noqa: E402
from autograder.demo import solutions  # noqa: E402
from autograder.release import assignments  # noqa: E402


def _submit(course: Path, student: str, assignment: str, answers: dict[str, str]) -> None:
    release = REPO / "release" / assignment / f"{assignment}.ipynb"
    notebook = nbformat.read(release, as_version=4)
    for cell in notebook.cells:
        if nbgrader_meta(cell).get("grade_id") in answers:
            cell.source = answers[nbgrader_meta(cell)["grade_id"]]
    target = course / "submitted" / student / assignment / release.name
    target.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(notebook, target)


def build(course: Path, names: list[str]) -> None:
    course.mkdir(parents=True, exist_ok=True)
    shutil.copy(REPO / "nbgrader_config.py", course)
    for folder in ("source", "release"):
        shutil.copytree(REPO / folder, course / folder, dirs_exist_ok=True)
    for assignment in names or assignments(REPO):
        source = nbformat.read(REPO / "source" / assignment / f"{assignment}.ipynb", as_version=4)
        answers = solutions(source)
        _submit(course, "answered", assignment, answers)
        _submit(course, "blank", assignment, {})
        _submit(course, "half", assignment, dict(list(answers.items())[: len(answers) // 2]))
    print(f"{course}: {len(list((course / 'submitted').glob('*/*')))} submissions")


def verify(course: Path) -> int:
    problems = []
    for path in sorted((course / "grades").glob("*.csv")):
        if "-" in path.stem:  # LMS exports, not the grader's CSV
            continue
        with open(path) as handle:
            rows = {row["student_id"]: row for row in csv.DictReader(handle)}
        for student, row in sorted(rows.items()):
            print(f"{path.stem:24} {student:9} {row['status']:14} {row['score']:>6} / {row['max_score']}")
            if row["status"] != "ok":
                problems.append(f"{path.stem}/{student}: status {row['status']}")
        score = {s: float(r["score"]) for s, r in rows.items()}
        top = float(rows["answered"]["max_score"]) if "answered" in rows else 0.0
        if score.get("answered") != top or top <= 0:
            problems.append(f"{path.stem}/answered: {score.get('answered')} of {top}, not full marks")
        if score.get("blank") != 0:
            problems.append(f"{path.stem}/blank: {score.get('blank')}, not zero")
        if not 0 < score.get("half", -1) <= top:
            problems.append(f"{path.stem}/half: {score.get('half')} of {top}")
    if not list((course / "grades").glob("*.csv")):
        problems.append(f"{course / 'grades'}: no CSV written")
    for problem in problems:
        print("PROBLEM", problem)
    print("batch verified" if not problems else f"{len(problems)} problems")
    return 1 if problems else 0


def errors(course: Path) -> int:
    ansi = re.compile(r"\x1b\[[0-9;]*m")
    for saved in sorted((course / "autograded").glob("*/*/grading.json")):
        notes = json.loads(saved.read_text()).get("notes", [])
        if notes:
            print(f"== {saved.parent.relative_to(course)}: notes")
            print("\n".join(f"   {note}" for note in notes))
    for path in sorted((course / "autograded").glob("*/*/*.ipynb")):
        notebook = json.loads(path.read_text())
        for index, cell in enumerate(notebook.get("cells", [])):
            for output in cell.get("outputs", []):
                if output.get("output_type") == "error":
                    print(f"== {path.relative_to(course)} cell {index}: {output.get('ename')}: {output.get('evalue')}")
                    print(ansi.sub("", "\n".join(output.get("traceback", [])))[-4000:])
    return 0


def main(argv: list[str]) -> int:
    if len(argv) < 2 or argv[0] not in ("build", "verify", "errors"):
        print(__doc__, file=sys.stderr)
        return 2
    if argv[0] == "build":
        build(Path(argv[1]).resolve(), argv[2:])
        return 0
    if argv[0] == "errors":
        return errors(Path(argv[1]).resolve())
    return verify(Path(argv[1]).resolve())


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
