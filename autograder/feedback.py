"""Per-student feedback pages: for each exercise, each check passed or failed, with its diagnosis and hint.

Written from the grader's plain results, never from the executed notebook:
no hidden test code, no expected value of a hidden check, no student output
rendered as HTML (everything the student wrote is escaped). The messages come
from ``autograder.verdicts``, which never passes on text built in the
student's kernel (an exception shows as its class name only); every message
is still capped at ``MAX_MESSAGE_CHARS`` on the page. nbgrader's own
``generate_feedback`` renders the autograded notebook, hidden tests included,
so it is not used.
"""

from __future__ import annotations

import html
from pathlib import Path

from autograder.report import STATUS_MEANING
from autograder.verdicts import COULD_NOT_COMPARE, DID_NOT_RUN, PUBLISHED_TWICE

MAX_MESSAGE_CHARS = 300
# Failures whose message is the grader's own words, shown in full even for hidden checks.
GRADER_WORDED = {"not attempted", "missing", "raised an error", DID_NOT_RUN, COULD_NOT_COMPARE, PUBLISHED_TWICE,
                 "not graded: the submitted file was refused"}

PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta http-equiv="Content-Security-Policy" content="default-src 'none'; style-src 'unsafe-inline'">
<title>{title}</title>
<style>
body {{ font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem; color: #222; }}
h1 {{ font-size: 1.5rem; }} h2 {{ font-size: 1.15rem; margin-top: 2rem; }}
.score {{ font-size: 1.2rem; }} .pass {{ color: #17692b; }} .fail {{ color: #a1121a; }}
li {{ margin: .35rem 0; }} .note {{ background: #fff6d6; padding: .5rem .8rem; border-radius: 4px; }}
</style></head><body>
{body}
</body></html>
"""


def check_line(check: dict) -> str:
    """One check as the student may see it: the full message for visible checks; for hidden
    ones only the verdict, the diagnosed mistake and the hint, never the expected value."""
    name = html.escape(_capped(check["what"]))
    if check["passed"]:
        return f'<li class="pass">✓ {name}: passed</li>'
    if not check["visible"]:
        name += " (hidden check)"
    if check["visible"] or check.get("mistake") in GRADER_WORDED:
        text = check["message"]
    else:
        text = "failed."
        if check.get("mistake"):
            text += f" Likely mistake: {check['mistake']}."
        if check.get("hint"):   # the instructor's hint, from the reference: never parsed out of the message
            text += f" Hint: {check['hint']}"
    return f'<li class="fail">✗ {name}: {html.escape(_capped(text))}</li>'


def _capped(text: object) -> str:
    text = str(text)
    return text if len(text) <= MAX_MESSAGE_CHARS else text[:MAX_MESSAGE_CHARS - 1] + "…"


def render(assignment: str, row: dict) -> str:
    parts = [f"<h1>{html.escape(assignment)}: feedback for {html.escape(row['student_id'])}</h1>",
             f'<p class="score">Score: <b>{row["score"]:g}</b> of {row["max_score"]:g}</p>']
    if row["status"] != ["ok"]:
        meanings = "; ".join(STATUS_MEANING.get(s, s) for s in row["status"])
        parts.append(f'<p class="note">{html.escape(meanings)}.</p>')
    for exercise in row["exercises"].values():
        parts.append(f"<h2>{html.escape(exercise['title'])}: {exercise['score']:g} / {exercise['points']:g}</h2>")
        parts.append("<ul>" + "".join(check_line(c) for c in exercise["checks"]) + "</ul>")
    return PAGE.format(title=html.escape(f"{assignment} feedback"), body="\n".join(parts))


def write(folder: Path, assignment: str, row: dict) -> Path:
    """``feedback/<student>/<assignment>/<notebook>.html`` for each notebook of the assignment."""
    folder.mkdir(parents=True, exist_ok=True)
    page = render(assignment, row)
    names = list(row.get("notebooks", {})) or [assignment]
    for name in names:
        (folder / f"{name}.html").write_text(page, encoding="utf-8")
    return folder
