"""Property-based fuzzing of everything the grader reads from a kernel or a submission.

Random and mutated kernel messages go through the code the grader runs on
them (``boundary.decode`` → ``boundary.clean_message`` → the grader's nbclient
client), random answer records through ``verdicts``, and random notebook
JSON through ``assemble``. Each property: no exception escapes, and what is
kept stays within the caps, however much comes in. Examples the fuzzer once
found are kept as ``@example`` regression cases.
"""

from __future__ import annotations

import json
import math
import tracemalloc

import nbformat
import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st
from jupyter_client.session import Session
from nbclient.exceptions import CellExecutionComplete

from autograder import assemble, boundary, execute, verdicts
from autograder.boundary import OutputLimitReached, ReceiveBudget, clean_message, decode, output_size
from conftest import REPO
from frozen_course import FROZEN
from utils.checks import RECORD_MIME, Verdict

FUZZ = settings(max_examples=100, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
KEY = b"fuzz-key"
MESSAGE_TYPES = ["status", "execute_input", "stream", "display_data", "execute_result", "error", "clear_output",
                 "update_display_data", "comm_open", "comm_msg", "comm_close", "execute_reply",
                 "kernel_info_reply", "input_request", "debug_event", ""]

json_scalars = st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=30)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=5)
                           | st.dictionaries(st.text(max_size=10), inner, max_size=5), max_leaves=25)
# Fields a message or notebook is made of, each drawn either well-typed or as any JSON at all.
well_typed_content = st.fixed_dictionaries({}, optional={
    "name": st.sampled_from(["stdout", "stderr", "other"]) | json_values,
    "text": st.text(max_size=50) | st.lists(st.text(max_size=5)) | json_values,
    "data": st.dictionaries(st.sampled_from(["text/plain", "image/png", RECORD_MIME, "application/json", "x"]),
                            json_values, max_size=4) | json_values,
    "metadata": json_values,
    "transient": st.fixed_dictionaries({"display_id": st.text(max_size=5)}) | json_values,
    "execution_state": st.sampled_from(["busy", "idle", "starting", "dead"]) | json_values,
    "execution_count": st.integers() | json_values,
    "ename": json_values, "evalue": json_values, "traceback": st.lists(st.text(max_size=10)) | json_values,
    "wait": json_values, "status": st.sampled_from(["ok", "error", "aborted"]) | json_values,
    "comm_id": json_values, "target_name": json_values,
})
messages = st.fixed_dictionaries({
    "header": st.fixed_dictionaries({"msg_id": st.text(max_size=8) | json_values,
                                     "msg_type": st.sampled_from(MESSAGE_TYPES) | json_values}) | json_values,
    "parent_header": st.fixed_dictionaries({"msg_id": st.just("cell") | json_values}) | json_values,
    "content": well_typed_content | json_values,
}, optional={"metadata": json_values, "buffers": json_values})


def _client() -> execute.CappedClient:
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("pass")])
    return execute.CappedClient(notebook, km=None, output_bytes=4096, record_timing=True)


def _feed(client: execute.CappedClient, message) -> None:
    """What nbclient does with a cleaned IOPub message of the running cell; every output the
    grader keeps is valid against nbformat's schema (the boundary builds them unvalidated)."""
    cell = client.nb.cells[0]
    cell.metadata.setdefault("execution", {})
    try:
        client.process_message(message, cell, 0)
    except CellExecutionComplete:
        pass
    for output in cell.outputs:
        nbformat.validator.validate(output, "output", version=4)


@FUZZ
@given(message=messages | json_values, channel=st.sampled_from(["iopub", "shell"]))
@example(message={"header": {"msg_id": "1", "msg_type": "display_data"}, "parent_header": {},
                  "content": {"data": {"text/plain": "x"}}}, channel="iopub")   # no content metadata
@example(message={"header": {"msg_id": "1", "msg_type": "comm_msg"}, "parent_header": {},
                  "content": {"comm_id": "x"}}, channel="iopub")                 # comm without data
@example(message={"header": {"msg_id": "1", "msg_type": "display_data"}, "parent_header": {},
                  "content": {"data": ["not", "a", "bundle"], "metadata": {}}}, channel="iopub")
@example(message={"header": {"msg_id": "1", "msg_type": "execute_result"}, "parent_header": None,
                  "content": {"data": {"text/plain": ["a", 1]}, "transient": None}}, channel="iopub")
def test_any_decoded_message_is_dropped_or_made_well_typed(message, channel):
    clean = clean_message(message, channel)
    if clean is None:
        return
    allowed = boundary.IOPUB_TYPES if channel == "iopub" else boundary.SHELL_TYPES
    assert clean["msg_type"] in allowed and clean["header"]["msg_type"] == clean["msg_type"]
    assert isinstance(clean["content"], dict) and "transient" not in clean["content"]
    assert isinstance(clean["parent_header"], dict)
    json.dumps(clean["content"])   # plain JSON, as the executed notebook stores it
    if channel == "iopub":
        _feed(_client(), clean)


@FUZZ
@pytest.mark.filterwarnings("ignore:Message serialization failed")   # nan in content: jupyter_client warns, sends
@given(content=well_typed_content, msg_type=st.sampled_from(MESSAGE_TYPES),
       cuts=st.lists(st.tuples(st.integers(0, 6), st.integers(0, 400), st.binary(max_size=8)), max_size=4))
@example(content={"data": {}, "execution_count": -1}, msg_type="execute_result", cuts=[])   # nbformat: minimum 0
@example(content={"data": {"text/json": {"a": 1}}, "metadata": {}}, msg_type="display_data", cuts=[])
def test_mutated_signed_messages_never_escape_the_guard(content, msg_type, cuts):
    """Correctly signed messages (a kernel holds the key) with bytes cut, replaced or inserted anywhere."""
    sender, receiver = Session(key=KEY), Session(key=KEY)
    frames = sender.serialize(sender.msg(msg_type or "stream", content))
    for frame_index, offset, replacement in cuts:
        if frame_index < len(frames):
            frame = frames[frame_index]
            frames[frame_index] = frame[:offset] + replacement + frame[offset + len(replacement):]
    for channel in ("iopub", "shell"):
        clean = clean_message(decode(frames, receiver), channel)
        if clean is not None and channel == "iopub":
            _feed(_client(), clean)


@FUZZ
@given(sizes=st.lists(st.integers(0, 10 * 1024 * 1024), max_size=60),
       max_bytes=st.integers(1, 64 * 1024 * 1024), max_messages=st.integers(1, 50))
def test_the_budget_stops_exactly_past_its_limits(sizes, max_bytes, max_messages):
    budget = ReceiveBudget(max_bytes=max_bytes, max_messages=max_messages)
    total = 0
    for count, size in enumerate(sizes, start=1):
        total += size
        past = total > max_bytes or count > max_messages
        if past:
            with pytest.raises(OutputLimitReached):
                budget.charge(size)
            assert budget.exceeded.is_set()
            return
        budget.charge(size)
    assert not budget.exceeded.is_set()


@settings(max_examples=20, deadline=None, database=None)
@given(kinds=st.lists(st.sampled_from(["stream", "display_data", "execute_result", "error", "clear_output"]),
                      min_size=200, max_size=400),
       text_size=st.integers(1_000, 50_000))
def test_kept_output_stays_under_its_cap_whatever_arrives(kinds, text_size):
    """Hundreds of messages of every kept kind: the grader keeps at most the cap, plus one notice."""
    client = _client()
    text = "y" * text_size
    contents = {"stream": {"name": "stdout", "text": text},
                "display_data": {"data": {"text/plain": text}, "metadata": {}},
                "execute_result": {"data": {"text/plain": text}, "metadata": {}, "execution_count": 1},
                "error": {"ename": "E", "evalue": text, "traceback": [text]},
                "clear_output": {"wait": True}}
    tracemalloc.start()
    for kind in kinds:
        message = {"header": {"msg_id": "m", "msg_type": kind}, "parent_header": {"msg_id": "cell"},
                   "content": contents[kind]}
        _feed(client, clean_message(message, "iopub"))
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    kept = output_size(client.nb.cells[0].outputs)
    assert kept <= 4096 + 200
    assert peak < 8 * 1024 * 1024   # nothing accumulates with the number of messages


SOURCE = nbformat.read(FROZEN / "source" / "01_manual_gradients" / "01_manual_gradients.ipynb", as_version=4)
SOLUTION_IDS = {assemble.nbgrader_meta(c)["grade_id"] for c in SOURCE.cells if assemble.nbgrader_meta(c).get("solution")}
KNOWN_IDS = {assemble.nbgrader_meta(c)["grade_id"] for c in SOURCE.cells if assemble.nbgrader_meta(c).get("grade_id")}
cells = st.fixed_dictionaries({
    "cell_type": st.sampled_from(["code", "markdown", "raw"]) | json_values,
    "source": st.text(max_size=40) | st.lists(st.text(max_size=10), max_size=4) | json_values,
    "metadata": st.fixed_dictionaries({"nbgrader": st.fixed_dictionaries(
        {}, optional={"grade_id": st.sampled_from(sorted(KNOWN_IDS)) | json_values,
                      "solution": st.booleans() | json_values, "grade": json_values}) | json_values}) | json_values,
}) | json_values
notebooks = st.fixed_dictionaries({"cells": st.lists(cells, max_size=12)},
                                  optional={"nbformat": json_values, "metadata": json_values}) | json_values


@FUZZ
@given(notebook=notebooks)
@example(notebook={"cells": [{"cell_type": "code", "source": "x", "metadata": {"nbgrader": "solution"}}]})
@example(notebook={"cells": [{"cell_type": "code", "source": "x",
                              "metadata": {"nbgrader": {"grade_id": ["descend"], "solution": True}}}]})
@example(notebook={"cells": [{"cell_type": "code", "source": ["a", 1], "metadata": []}], "metadata": "m"})
def test_any_submitted_notebook_is_read_or_named_invalid(notebook):
    submitted = json.dumps(notebook).encode()
    found = assemble.read_student_cells(submitted, SOLUTION_IDS, KNOWN_IDS)
    assert set(found.answers) <= SOLUTION_IDS
    assert all(isinstance(a, str) and len(a) <= assemble.MAX_CELL_CHARS for a in found.answers.values())
    assert sum(len(v) for v in found.extras.values()) <= assemble.MAX_EXTRA_CELLS
    graded = assemble.grading_notebook(SOURCE, found)
    assert all(isinstance(c.source, str) for c in graded.cells)


@settings(max_examples=40, deadline=None, database=None)
@given(garbage=st.binary(max_size=200) | st.just(b"[" * 100_000) | st.just(b'{"cells": ' + b"[" * 50_000))
def test_unreadable_bytes_are_an_invalid_notebook(garbage):
    found = assemble.read_student_cells(garbage, SOLUTION_IDS, KNOWN_IDS)
    assert found.status in ([], ["no-answer-cells"], ["invalid-notebook"])


REFERENCE = {"check_a": [
    {"exercise": "A", "check": "number", "kind": "close", "found": {"type": "number", "value": 1.0},
     "spec": {"expected": {"type": "number", "value": 1.0}}},
    {"exercise": "A", "check": "list", "kind": "equal", "found": {"type": "list", "items": []},
     "spec": {"expected": {"type": "list", "items": []}}},
    {"exercise": "A", "check": "bound", "kind": "below", "found": {"type": "number", "value": 0.0},
     "spec": {"bound": {"type": "number", "value": 1.0}}},
    {"exercise": "A", "check": "finite", "kind": "finite", "found": {"type": "number", "value": 0.0}},
    {"exercise": "A", "check": "shape", "kind": "shape", "found": {"type": "number", "value": 0.0},
     "spec": {"expected": {"type": "list", "items": [{"type": "number", "value": 2}]}}},
]}
SECRET = "SECRET-SOURCE-LINE"
founds = st.fixed_dictionaries({"type": st.sampled_from(["number", "list", "tensor", "error", "not_attempted",
                                                          "str", "dict", "bool", "none"]) | json_values},
                               optional={"value": json_values | st.integers(-10 ** 500, 10 ** 500),
                                         "items": json_values, "shape": json_values, "values": json_values,
                                         "dtype": json_values, "device": json_values,
                                         "error": st.just(f"ValueError: {SECRET}") | json_values,
                                         "mistake": json_values}) | json_values
records = st.fixed_dictionaries({"exercise": st.just("A") | json_values,
                                 "check": st.sampled_from(["number", "list", "bound", "finite", "shape"]) | json_values,
                                 "found": founds}) | json_values


@settings(max_examples=60, deadline=None, database=None, suppress_health_check=[HealthCheck.too_slow])
@given(published=st.lists(records, max_size=8), blocked=st.booleans())
@example(published=[{"exercise": "A", "check": "number", "found": {"type": "number", "value": 10 ** 400}}],
         blocked=False)
@example(published=[{"exercise": "A", "check": "number",
                     "found": {"type": "tensor", "dtype": "bool", "device": "cpu", "shape": [1], "values": [False]}}],
         blocked=False)
def test_any_published_answer_gets_a_verdict_and_no_student_text(published, blocked):
    cell = nbformat.v4.new_code_cell("", metadata={"nbgrader": {"grade": True, "grade_id": "check_a"}})
    cell.outputs = [{"output_type": "display_data", "data": {RECORD_MIME: r}, "metadata": {}} for r in published]
    notebook = nbformat.v4.new_notebook(cells=[cell])
    stopped = {0: execute.RAN_OUT_OF_TIME} if blocked else {}
    result = verdicts.grade_cells(REFERENCE, verdicts.records_by_cell(notebook), {"check_a": 1.0},
                                  verdicts.blocked_checks(notebook, stopped, {}))["check_a"]
    assert [name for name, _ in result.checks] == [r["check"] for r in REFERENCE["check_a"]]
    for _, verdict in result.checks:
        assert isinstance(verdict, Verdict) and SECRET not in verdict.message
    assert result.score in (0.0, 1.0) and math.isfinite(result.score)
