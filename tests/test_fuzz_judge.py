"""Property-based fuzzing of what the grader reads from a sandbox: ``validate_plain`` and ``judge``
accept any JSON value, decide without raising, and stay within bounded memory.

Bounded to about 20 seconds. Inputs that once broke the judge stay here as ``@example``s.
"""

from __future__ import annotations

import json
import tracemalloc

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from utils.answers import MAX_RECORDED_NUMBERS, to_plain, validate_plain
from utils.judge import CHECK_KINDS, COULD_NOT_JUDGE, Verdict, judge

FUZZ = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow],
                derandomize=True)

# Any value json.loads can produce (it accepts NaN and Infinity tokens, and integers of any size).
scalars = st.one_of(st.none(), st.booleans(), st.integers(), st.integers(min_value=10 ** 300),
                    st.floats(allow_nan=True, allow_infinity=True), st.text(max_size=20),
                    st.sampled_from(["nan", "inf", "-inf", "none", "number", "tensor", "bool"]))
json_values = st.recursive(scalars, lambda inner: st.one_of(st.lists(inner, max_size=6),
                                                            st.dictionaries(st.text(max_size=8), inner, max_size=6)),
                           max_leaves=40)

# Values shaped like plain answers, with any field wrong.
TYPES = ["none", "bool", "number", "str", "list", "dict", "tensor", "array", "not_attempted", "error", "object"]
numbers = st.one_of(st.integers(), st.floats(allow_nan=True, allow_infinity=True),
                    st.sampled_from(["nan", "inf", "-inf", "1.0"]), st.booleans())
array_like = st.fixed_dictionaries(
    {"type": st.sampled_from(["tensor", "array"]),
     "dtype": st.sampled_from(["float32", "float64", "bool", "int64", "bfloat16", "complex64", 3]),
     "device": st.sampled_from(["cpu", "cuda", "meta", None]),
     "shape": st.one_of(st.lists(st.integers(min_value=-1, max_value=4), max_size=3), json_values),
     "values": st.one_of(st.none(), st.lists(numbers, max_size=12), json_values)})
plain_like = st.recursive(
    st.one_of(array_like,
              st.fixed_dictionaries({"type": st.sampled_from(TYPES)},
                                    optional={"value": st.one_of(numbers, json_values), "error": json_values,
                                              "mistake": json_values})),
    lambda inner: st.fixed_dictionaries({"type": st.sampled_from(["list", "dict"]),
                                         "items": st.one_of(st.lists(inner, max_size=5),
                                                            st.dictionaries(st.text(max_size=5), inner, max_size=5))}),
    max_leaves=20)
answers = st.one_of(json_values, plain_like)

# Well-formed specs, as the instructor's notebook records them.
python_numbers = st.one_of(st.integers(min_value=-10 ** 6, max_value=10 ** 6),
                           st.floats(min_value=-1e6, max_value=1e6, allow_nan=False))
python_values = st.one_of(python_numbers, st.lists(python_numbers, min_size=1, max_size=6))


@st.composite
def well_formed_specs(draw):
    kind = draw(st.sampled_from(CHECK_KINDS))
    if kind in ("close", "equal"):
        expected = draw(python_values)
        spec = {"expected": to_plain(expected)}
        if draw(st.booleans()):
            spec["mistakes"] = {f"mistake {i}": to_plain(draw(python_values)) for i in range(draw(st.integers(0, 3)))}
        if kind == "close" and draw(st.booleans()):
            spec["rtol"] = draw(st.floats(min_value=0, max_value=1))
        if draw(st.booleans()):
            spec["kind"] = draw(st.sampled_from(["float", "int", "list", "tensor", "tensor0d"]))
        if draw(st.booleans()):
            spec["dtype"] = draw(st.sampled_from(["float32", "float64"]))
    elif kind in ("below", "above"):
        spec = {"bound": to_plain(draw(python_numbers)), "allow_infinite": draw(st.booleans())}
    elif kind == "shape":
        spec = {"expected": to_plain(draw(st.lists(st.integers(0, 5), max_size=3)))}
    elif kind == "metric":
        spec = {"expected": to_plain(draw(st.lists(st.integers(0, 1), min_size=1, max_size=12))),
                "metric": draw(st.sampled_from(["f1", "accuracy", "precision", "recall"])),
                "at_least": draw(st.floats(0, 1))}
    else:
        spec = {}
    if draw(st.booleans()):
        spec["hint"] = draw(st.text(max_size=30))
    return kind, spec


def assert_decided(verdict: Verdict) -> None:
    assert isinstance(verdict, Verdict) and isinstance(verdict.passed, bool)
    assert isinstance(verdict.message, str) and verdict.message
    assert verdict.mistake is None or isinstance(verdict.mistake, str)


@FUZZ
@given(answers)
@example({"type": "number", "value": 10 ** 400})
@example({"type": "number", "value": True})
@example({"type": "tensor", "dtype": "float32", "device": "cpu", "shape": [10 ** 30], "values": []})
@example({"type": "tensor", "dtype": "bool", "device": "cpu", "shape": [2], "values": [1, 0]})
@example({"type": "tensor", "dtype": "float32", "device": "meta", "shape": [2], "values": None})
@example({"type": "list", "items": [{"type": "list", "items": []}] * 3})
def test_validate_plain_accepts_or_raises_value_error(value):
    try:
        assert validate_plain(value) is value
    except ValueError:
        pass


@FUZZ
@given(well_formed_specs(), answers)
@example(("below", {"bound": {"type": "number", "value": 0.1}}), {"type": "number", "value": -(10 ** 400)})
@example(("close", {"expected": {"type": "number", "value": 1.0}}), {"type": "bool", "value": True})
@example(("close", {"expected": {"type": "list", "items": [{"type": "number", "value": 1}]}}),
         {"type": "tensor", "dtype": "float32", "device": "meta", "shape": [1], "values": None})
@example(("metric", {"expected": {"type": "list", "items": [{"type": "number", "value": 1}]}}),
         {"type": "list", "items": [{"type": "number", "value": 10 ** 400}]})
@example(("finite", {}), {"type": "list", "items": []})
@example(("equal", {"expected": {"type": "number", "value": 3}}), {"type": "error", "error": ["not", "text"]})
def test_judge_decides_any_answer_against_a_well_formed_spec(kind_and_spec, found):
    kind, spec = kind_and_spec
    verdict = judge(kind, found, spec)
    assert_decided(verdict)
    assert verdict.mistake != COULD_NOT_JUDGE, verdict.message


@FUZZ
@given(st.sampled_from(CHECK_KINDS + ("unknown",)), answers, json_values)
def test_judge_never_raises_whatever_the_spec(kind, found, spec):
    assert_decided(judge(kind, found, spec))


@FUZZ
@given(well_formed_specs(), answers)
def test_answers_survive_a_json_round_trip_unchanged_in_verdict(kind_and_spec, found):
    """What the kernel sends is JSON: judging the decoded text gives the same verdict."""
    kind, spec = kind_and_spec
    try:
        text = json.dumps(found)
    except (ValueError, TypeError):
        return
    assert judge(kind, json.loads(text), spec) == judge(kind, found, spec)


def test_memory_stays_bounded_for_large_answers():
    """Judging an answer of 20 000 numbers stays under 16 MiB of new allocations for every kind
    of check (the grader's bound per answer is MAX_RECORDED_NUMBERS, five times as many)."""
    size = MAX_RECORDED_NUMBERS // 5
    large = to_plain([0.5] * size)
    spec = {"expected": to_plain([0.25] * size), "bound": to_plain(1.0), "metric": "accuracy"}
    tracemalloc.start()
    try:
        for kind in CHECK_KINDS:
            assert_decided(judge(kind, large, {**spec, "expected": to_plain([size])} if kind == "shape" else spec))
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 16 * 2 ** 20, f"peak {peak / 2 ** 20:.0f} MiB"


@pytest.mark.parametrize("kind", CHECK_KINDS)
def test_answers_beyond_the_bound_are_refused_before_they_are_read(kind):
    too_many = {"type": "list", "items": [to_plain(list(range(1000)))] * 10_000}  # shared, so cheap to build
    spec = {"expected": to_plain([1.0]), "bound": to_plain(1.0)}
    assert judge(kind, too_many, spec).mistake == "unreadable answer"
