"""What an instructor reads after grading: the CSV, the score histogram and the end-of-run summary."""

from __future__ import annotations

import ast
import csv
from collections import Counter
from pathlib import Path

from utils.checks import CHECK_KINDS

STATUS_MEANING = {
    "ok": "graded normally",
    "missing": "no notebook submitted",
    "renamed": "notebook renamed; graded anyway",
    "invalid-notebook": "file is not a readable notebook",
    "no-answer-cells": "no answer cell of this assignment found",
    "deleted-cells": "answer cells deleted; those count as not attempted",
    "duplicated-cells": "answer cells duplicated; the first one was graded",
    "timeout": "a cell or the notebook ran out of time",
    "crash": "the kernel died (os._exit, segfault, killed)",
    "out-of-memory": "ran out of memory",
    "cpu-limit": "used up its CPU time",
    "output-truncated": "printed more than the output limit",
    "output-limit": "sent more output than the grader accepts; its kernel was stopped",
    "not-a-plain-file": "a submitted file is a link or not a regular file; not read",
    "too-large": "a submitted file is over the size limit; not read",
    "duplicate-id": "student id appears twice in the batch; not graded",
    "invalid-id": "unusable student id; not graded",
    "grader-error": "the grader failed on this submission",
}


def visible_check_names(test_source: str) -> set[str]:
    """Names (first argument) of the checks outside the cell's hidden block: students see these."""
    lines, hidden = [], False
    for line in test_source.splitlines():
        if "### BEGIN HIDDEN TESTS" in line:
            hidden = True
        elif "### END HIDDEN TESTS" in line:
            hidden = False
        elif not hidden:
            lines.append(line)
    try:
        tree = ast.parse("\n".join(lines))
    except SyntaxError:
        return set()
    return {node.args[0].value for node in ast.walk(tree)
            if isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute)
            and node.func.attr in CHECK_KINDS and node.args
            and isinstance(node.args[0], ast.Constant) and isinstance(node.args[0].value, str)}


class _NoProgress:
    def update(self, n: int = 1) -> None:
        pass

    def close(self) -> None:
        pass


def progress_bar(total: int, enabled: bool = True):
    """A tqdm bar with ETA on the terminal (stderr), or nothing."""
    if not enabled:
        return _NoProgress()
    from tqdm import tqdm
    return tqdm(total=total, unit="submission", desc="grading", dynamic_ncols=True)


STANDING_COLUMNS = ("submitted_at", "seconds_late", "late_penalty", "manual_score", "pending_points",
                    "final_score")


def standing_columns(row: dict, standing) -> dict:
    """The gradebook's view of a row (``gradebook.Standing`` or None) as plain CSV-ready fields:
    ``final_score`` = auto score + points given by hand − late penalty."""
    if standing is None:
        return {"submitted_at": row.get("submitted_at"), "seconds_late": 0.0, "late_penalty": 0.0,
                "manual_score": 0.0, "pending_points": 0.0, "pending_cells": [], "final_score": row["score"]}
    return {"submitted_at": standing.submitted_at.isoformat() + "Z" if standing.submitted_at else None,
            "seconds_late": standing.seconds_late, "late_penalty": standing.late_penalty,
            "manual_score": standing.manual_score, "pending_points": standing.pending_points,
            "pending_cells": list(standing.pending_cells),
            "final_score": max(0.0, row["score"] + standing.manual_score - standing.late_penalty)}


def _cell(value) -> str:
    if value is None:
        return ""
    return f"{value:g}" if isinstance(value, float) else str(value)


def write_csv(path: Path, rows: list[dict], notebooks) -> Path:
    """One row per student: id, auto score, max auto score, status, submission time and lateness,
    late penalty, hand-graded points given and pending, final score, one column per exercise
    (its grade_id), notes."""
    exercise_ids = [grade_id for notebook in notebooks for grade_id in notebook.points]
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["student_id", "score", "max_score", "status", *STANDING_COLUMNS, *exercise_ids, "notes"])
        for row in rows:
            per_exercise = [f"{row['exercises'].get(g, {}).get('score', 0.0):g}" for g in exercise_ids]
            standing = [_cell(row.get(column, 0.0 if column != "final_score" else row["score"]))
                        for column in STANDING_COLUMNS]
            writer.writerow([row["student_id"], f"{row['score']:g}", f"{row['max_score']:g}",
                             "+".join(row["status"]), *standing, *per_exercise, " | ".join(row["notes"])[:2000]])
    return path


def write_histogram(path: Path, rows: list[dict], assignment: str) -> Path:
    """Score histogram as a PNG (matplotlib's object API: no pyplot state, safe in a thread)."""
    from matplotlib.figure import Figure

    scores = [row["score"] for row in rows]
    top = max((row["max_score"] for row in rows), default=1) or 1
    figure = Figure(figsize=(6, 3.5))
    axes = figure.subplots()
    axes.hist(scores, bins=min(20, int(top) + 1), range=(0, top), color="tab:blue", edgecolor="white")
    axes.set_xlabel("score (points)")
    axes.set_ylabel("students")
    axes.set_title(f"{assignment}: {len(scores)} submissions")
    figure.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    figure.savefig(path, dpi=100)
    return path


def _text_histogram(rows: list[dict], bins: int = 5) -> list[str]:
    top = max((row["max_score"] for row in rows), default=0) or 1
    counts = Counter(min(bins - 1, int(bins * row["score"] / top)) for row in rows)
    width = max(counts.values(), default=1)
    lines = []
    for b in range(bins):
        low, high = top * b / bins, top * (b + 1) / bins
        bar = "█" * round(30 * counts.get(b, 0) / width)
        lines.append(f"  {low:5.1f}–{high:<5.1f} {bar} {counts.get(b, 0)}")
    return lines


def _duration(seconds: float) -> str:
    """``93784`` -> ``1d 2h 3m``: lateness as an instructor reads it."""
    minutes = int(seconds // 60)
    days, hours, minutes = minutes // 1440, minutes // 60 % 24, minutes % 60
    parts = [f"{days}d" if days else "", f"{hours}h" if hours else "", f"{minutes}m" if minutes or seconds < 60 else ""]
    text = " ".join(p for p in parts if p)
    return text if seconds >= 60 else f"{seconds:.0f}s"


def summary(assignment: str, rows: list[dict], csv_path: Path, histogram: Path) -> str:
    """Per-exercise pass rate, the most frequent diagnosed mistakes, the histogram, and every unusual row."""
    lines = [f"\n{assignment}: {len(rows)} submissions graded"]
    reused = sum(row.get("reused", False) for row in rows)
    if reused:
        lines.append(f"  ({reused} unchanged since the last run: results reused; --force regrades)")
    exercise_rows: dict[str, list[dict]] = {}
    for row in rows:
        for grade_id, exercise in row["exercises"].items():
            exercise_rows.setdefault(grade_id, []).append(exercise)
    if exercise_rows:
        lines.append("\nPass rate per exercise:")
        for grade_id, exercises in exercise_rows.items():
            passed = sum(e["score"] >= e["points"] > 0 for e in exercises)
            title = exercises[0]["title"]
            lines.append(f"  {title:<40} {passed:>3}/{len(exercises):<3} {100 * passed / len(exercises):5.1f}%")
    mistakes = Counter()  # students per (exercise, mistake): a mistake seen by three checks counts once
    for exercises in exercise_rows.values():
        for e in exercises:
            mistakes.update({(e["title"], c["mistake"]) for c in e["checks"] if not c["passed"]
                             and c.get("mistake") and c["mistake"] not in ("not attempted", "missing")})
    if mistakes:
        lines.append("\nMost frequent diagnosed mistakes (students):")
        for (title, mistake), count in mistakes.most_common(5):
            lines.append(f"  {count:>3} × {title}: {mistake}")
    late = [row for row in rows if row.get("seconds_late", 0) > 0]
    if late:
        penalty = sum(row.get("late_penalty", 0.0) for row in late)
        lines.append(f"\nLate: {len(late)} submission(s) after the due date; late penalties {penalty:g} points in all")
        for row in late:
            lines.append(f"  {row['student_id']:<24} {_duration(row['seconds_late']):>10} late   "
                         f"penalty {row.get('late_penalty', 0.0):g}")
    pending = [row for row in rows if row.get("pending_points", 0) > 0]
    if pending:
        points = sum(row["pending_points"] for row in pending)
        lines.append(f"\nPending a human: {points:g} points of written answers in {len(pending)} submission(s); "
                     "grade them in formgrader (Manual Grading)")
    lines.append("\nScores:")
    lines += _text_histogram(rows)
    unusual = [row for row in rows if row["status"] != ["ok"]]
    if unusual:
        lines.append("\nSubmissions that need a look:")
        for row in unusual:
            meaning = "; ".join(STATUS_MEANING.get(s, s) for s in row["status"])
            lines.append(f"  {row['student_id']:<24} {'+'.join(row['status']):<28} {meaning}")
    lines.append(f"\nGrades: {csv_path}\nHistogram: {histogram}")
    return "\n".join(lines)
