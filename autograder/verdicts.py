"""Decide test cells from the plain answers a notebook published, outside the process that ran it.

An executed notebook run with ``COURSE_CHECK_RECORD=1`` carries, in the
outputs of each test cell, one ``utils.checks.RECORD_MIME`` record per check.
The instructor's run (the *reference*) carries each check's spec (expected
value, tolerances, mistakes); a student's run, whose check cells were
stripped, carries only the answers. ``grade_cells`` pairs them by cell and
check name and judges each with ``utils.checks.judge``.

Only what the grader asked for is judged: a record counts when it sits in the
outputs of the test cell whose reference has a check of that exercise and
name, as ``display_data``, exactly as many times as the reference has that
check. Records for other checks or exercises are ignored; a check published
more (or fewer) times than it runs cannot be told from a forgery and fails.
Everything a student's record says is reduced to what the judge needs: an
exception becomes its class name only, never its message, so no text built
inside the kernel (hidden check source read from frames, say) reaches the
feedback page.
"""

from __future__ import annotations

import builtins
from dataclasses import dataclass, field

from utils.checks import CHECK_KINDS, RECORD_MIME, Verdict, judge, validate_plain
from utils.judge import import_scorers  # noqa: F401 -- the grader imports them while its sandboxes start

SPEC_OPTIONAL = {"finite"}  # a finite check may have no keyword at all, so nothing to record
DID_NOT_RUN = "did not run"
COULD_NOT_COMPARE = "could not be compared"
PUBLISHED_TWICE = "answer published more than once"
KNOWN_EXCEPTIONS = {name for name, value in vars(builtins).items()
                    if isinstance(value, type) and issubclass(value, BaseException)} | {
    "UsedAutograd", "OutOfMemoryError", "LinAlgError", "UnrecordableAnswer"}
KEPT_MISTAKES = {"used autograd"}   # diagnoses a kernel may attach to an error record


@dataclass
class CellResult:
    """One graded test cell: passed only if every reference check passed."""

    grade_id: str
    points: float
    checks: list[tuple[str, Verdict]] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return bool(self.checks) and all(verdict.passed for _, verdict in self.checks)

    @property
    def score(self) -> float:
        return self.points if self.passed else 0.0


def nbgrader_meta(cell) -> dict:
    """A cell's nbgrader metadata if it is well-formed enough to use, else ``{}``."""
    metadata = cell.get("metadata") if isinstance(cell, dict) else None
    meta = metadata.get("nbgrader") if isinstance(metadata, dict) else None
    return meta if isinstance(meta, dict) else {}


def grade_id_of(cell) -> str | None:
    grade_id = nbgrader_meta(cell).get("grade_id")
    return grade_id if isinstance(grade_id, str) and grade_id else None


def _is_test_cell(cell) -> bool:
    return isinstance(cell, dict) and cell.get("cell_type") == "code" and nbgrader_meta(cell).get("grade") is True \
        and grade_id_of(cell) is not None


def records_by_cell(notebook) -> dict[str, list[dict]]:
    """grade_id -> the check records published by that test cell, in order.

    Attribution comes from where the output appeared (the executing client
    knows which cell was running), never from the record's own content.
    """
    found: dict[str, list[dict]] = {}
    for cell in notebook.get("cells", []):
        if not _is_test_cell(cell):
            continue
        records = found.setdefault(grade_id_of(cell), [])
        outputs = cell.get("outputs")
        for output in outputs if isinstance(outputs, list) else []:
            if not isinstance(output, dict) or output.get("output_type") != "display_data":
                continue
            data = output.get("data")
            record = data.get(RECORD_MIME) if isinstance(data, dict) else None
            if isinstance(record, dict):
                records.append(record)
    return found


def blocked_checks(notebook, stopped: dict[int, str], skipped: dict[int, str]) -> dict[str, str]:
    """grade_id -> why its checks could not give an answer, for test cells whose exercise did not run
    to the end: the test cell itself was stopped or never ran, or a cell above it (since the
    previous test cell) was stopped. Reasons read "did not run: the cell above ran out of time"."""
    blocked: dict[str, str] = {}
    above: str | None = None
    for index, cell in enumerate(notebook.get("cells", [])):
        if _is_test_cell(cell):
            if index in skipped:
                blocked[grade_id_of(cell)] = f"{DID_NOT_RUN}: {skipped[index]}"
            elif index in stopped:
                blocked[grade_id_of(cell)] = f"{DID_NOT_RUN} to the end: this cell {stopped[index]}"
            elif above:
                blocked[grade_id_of(cell)] = f"{DID_NOT_RUN}: the cell above {above}"
            above = None
        elif index in stopped and above is None:
            above = stopped[index]
    return blocked


def _exception_name(text: object) -> str:
    """The class name at the start of ``"Name: message"`` if Python or torch defines it, else a phrase."""
    name = str(text).split(":", 1)[0].strip()
    return name if name in KNOWN_EXCEPTIONS else "an exception of its own class"


def student_answer(record: dict) -> dict:
    """The record's answer if it is well-formed plain data, else a plain description of the problem.
    Error records keep only the exception's class name (and a diagnosis the grader knows)."""
    found = record.get("found")
    if isinstance(found, dict) and found.get("type") == "not_attempted" and set(found) == {"type"}:
        return found
    if isinstance(found, dict) and found.get("type") == "error":
        text = found.get("error", "")
        if isinstance(text, str) and text.startswith("an answer that cannot be checked"):
            answer = {"type": "error", "error": "an answer that cannot be checked (checks compare numbers, tensors, "
                                                "arrays, strings, booleans, None, and lists or dicts of those)"}
        else:
            answer = {"type": "error", "error": _exception_name(text)}
        if found.get("mistake") in KEPT_MISTAKES:
            answer["mistake"] = found["mistake"]
        return answer
    try:
        return validate_plain(found)
    except Exception:  # noqa: BLE001 -- any malformed answer is the same: unreadable
        return {"type": "error", "error": "the answer could not be read as plain data"}


def judge_safely(kind: str, found: dict, spec: dict) -> Verdict:
    """``judge``, except that an answer it cannot compare fails this one check with a clear message."""
    try:
        verdict = judge(kind, found, spec)
        if isinstance(verdict, Verdict):
            return verdict
        raise TypeError(f"the judge returned {type(verdict).__name__}")
    except Exception as error:  # noqa: BLE001 -- whatever the answer holds, only this check fails
        # The error's text is left out: it may quote the answer, which is student-built text.
        return Verdict(False, "your answer could not be compared with the expected one (the judge raised "
                              f"{type(error).__name__}): check its type, shape and values.", COULD_NOT_COMPARE)


def _key(record: dict) -> tuple[str, str]:
    return str(record.get("exercise"))[:500], str(record.get("check"))[:500]


def grade_cells(reference: dict[str, list[dict]], student: dict[str, list[dict]],
                points: dict[str, float], blocked: dict[str, str] | None = None) -> dict[str, CellResult]:
    """Judge every reference check against the student's answer of the same cell and name.

    ``blocked`` (``blocked_checks``) names the test cells whose exercise did
    not run to the end: a check there without a usable answer says why.
    """
    blocked = blocked or {}
    results = {}
    for grade_id, reference_records in reference.items():
        wanted: dict[tuple[str, str], int] = {}
        for ref in reference_records:
            wanted[_key(ref)] = wanted.get(_key(ref), 0) + 1
        published: dict[tuple[str, str], list[dict]] = {}
        for record in student.get(grade_id, []):
            if isinstance(record, dict) and _key(record) in wanted:
                published.setdefault(_key(record), []).append(record)
        seen: dict[tuple[str, str], int] = {}
        result = CellResult(grade_id, points.get(grade_id, 0.0))
        for ref in reference_records:
            if ref.get("kind") not in CHECK_KINDS or ("spec" not in ref and ref["kind"] not in SPEC_OPTIONAL):
                raise ValueError(f"{grade_id}: reference record without a spec: {ref.get('check')!r}")
            key = _key(ref)
            position = seen[key] = seen.get(key, -1) + 1
            copies = published.get(key, [])
            if not copies:
                verdict = Verdict(False, blocked.get(grade_id, f"{DID_NOT_RUN}: this check published no answer "
                                                               "(was its cell skipped, stopped or changed?)") + ".",
                                  DID_NOT_RUN)
            elif len(copies) != wanted[key]:
                verdict = Verdict(False, f"this check's answer was published {len(copies)} times, not "
                                         f"{wanted[key]}: something in the notebook published answers of its "
                                         "own, so none of them counts.", PUBLISHED_TWICE)
            else:
                found = student_answer(copies[position])
                if grade_id in blocked and found.get("type") == "error" and found.get("mistake") is None:
                    verdict = Verdict(False, blocked[grade_id] + ".", DID_NOT_RUN)
                else:
                    verdict = judge_safely(ref["kind"], found, ref.get("spec", {}))
            result.checks.append((str(ref["check"]), verdict))
        results[grade_id] = result
    return results
