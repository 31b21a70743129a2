"""A bundled demo batch for assignment 1, so a newcomer sees the whole grading flow in one command.

Seven students: two correct, two with the typical mistakes the checks name, one
who never started, one hostile submission, one corrupt file and one answer
that loops forever. The notebooks are built from the release and the source
each time, so the demo always matches the current assignment.
"""

from __future__ import annotations

import re
from pathlib import Path

import nbformat

from autograder.assemble import nbgrader_meta

ASSIGNMENT = "01_manual_gradients"
SOLUTION_BLOCK = re.compile(r"^[ \t]*### (BEGIN|END) SOLUTION[ \t]*\n", re.MULTILINE)

HOSTILE_PREAMBLE = '''
import builtins, os, subprocess, utils.checks as checks

class AlwaysEqual(float):
    def __eq__(self, other): return True
    def __ne__(self, other): return False

checks.judge = lambda *args, **kwargs: checks.Verdict(True, "passed")
checks.exercise.__exit__ = lambda self, *exc: False
for target in ("../../gradebook.db", "/work", os.path.expanduser("~/.ssh")):
    try:
        print(target, os.listdir(target) if os.path.isdir(target) else open(target, "rb").read(20))
    except OSError as error:
        print("blocked:", target, type(error).__name__)
subprocess.Popen(["sleep", "3600"], start_new_session=True)   # a daemon that should not survive grading
print("All checks passed. 10/10")
'''


def solutions(source: nbformat.NotebookNode) -> dict[str, str]:
    """grade_id -> the instructor's answer, without the solution markers."""
    return {nbgrader_meta(c)["grade_id"]: SOLUTION_BLOCK.sub("", c.source) for c in source.cells
            if nbgrader_meta(c).get("solution") and c.cell_type == "code"}


def students(answers: dict[str, str]) -> dict[str, dict[str, str] | None]:
    """Student id -> answers that differ from the released stubs (None: a corrupt file)."""
    mean_to_sum = answers["mae_gradients"].replace(".mean()", ".sum()")
    float64_step = answers["float32_step"].replace("5e-3", "1e-6")
    no_zero_grad = answers["descend_until_flat"].replace("x.grad = None", "pass")
    looping = "def descend_until_flat(f, x0, lr, tol, max_steps):\n    while True:\n        try:\n            pass\n" \
              "        except KeyboardInterrupt:\n            pass\n\ndescend_until_flat(None, 0, 0, 0, 0)\n"
    return {
        "demo-ada": dict(answers),
        "demo-bo": dict(answers),
        "demo-cy": {**answers, "mae_gradients": mean_to_sum},
        "demo-dee": {**answers, "float32_step": float64_step, "descend_until_flat": no_zero_grad},
        "demo-eli": {},
        "demo-fox": {grade_id: (HOSTILE_PREAMBLE if i == 0 else "") +
                     "\n".join(f"def {name}(*args, **kwargs):\n    return AlwaysEqual(0.0)"
                               for name in re.findall(r"^def (\w+)", code, re.MULTILINE))
                     for i, (grade_id, code) in enumerate(answers.items())},
        "demo-gil": None,
        "demo-hal": {**answers, "descend_until_flat": looping},
    }


def build(course_root: Path, into: Path) -> Path:
    """Write the demo batch as ``into/<student>/<assignment>/<notebook>.ipynb``; return ``into``."""
    source = nbformat.read(course_root / "source" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb", as_version=4)
    release_path = course_root / "release" / ASSIGNMENT / f"{ASSIGNMENT}.ipynb"
    for student, answers in students(solutions(source)).items():
        target = into / student / ASSIGNMENT / release_path.name
        target.parent.mkdir(parents=True, exist_ok=True)
        if answers is None:
            target.write_text(release_path.read_text()[:2000])  # cut off mid-file, as a failed upload
            continue
        notebook = nbformat.read(release_path, as_version=4)
        for cell in notebook.cells:
            grade_id = nbgrader_meta(cell).get("grade_id")
            if grade_id in answers:
                cell.source = answers[grade_id]
        nbformat.write(notebook, target)
    return into
