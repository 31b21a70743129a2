"""Judging: decide one check from plain data, without raising, whatever the answer is.

``judge(kind, found, spec)`` is a pure function of plain data (``utils.answers``),
run by the student's kernel (to print a verdict) and by the grader in its own
process (to score). ``found`` may be any JSON value: a wrong kind of answer fails
that one check with a message, it never raises.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

from utils.answers import as_float, fmt, is_number, kind_of, show, validate_plain
from utils.diagnose import constant_factor, match_mistake, near_miss, shape_mistake

CHECK_KINDS = ("close", "equal", "below", "above", "finite", "shape", "metric")

# The kinds of answer an exercise's instructions can name (``kind=``), in a student's words.
ANSWER_KINDS = {
    "float": "a Python float", "int": "a Python int", "bool": "a bool", "str": "a string",
    "tensor": "a tensor", "tensor0d": "a 0-dim tensor", "array": "a NumPy array", "list": "a list",
    "dict": "a dict", "none": "None",
}
METRICS = ("accuracy", "f1", "precision", "recall")

# Default tolerances by the expected value's dtype: (rtol, atol). A low-precision
# *answer* never widens them; only the expected value or the check's dtype= does.
TOLERANCES = {
    "float16": (1e-3, 1e-5), "bfloat16": (1e-2, 1e-4),
    "float32": (1e-5, 1e-6), "float64": (1e-7, 1e-10),
}
COULD_NOT_JUDGE = "could not judge"


@dataclass(frozen=True)
class Verdict:
    """The outcome of one check. ``mistake`` names the diagnosed mistake, if any."""

    passed: bool
    message: str
    mistake: str | None = None


def default_tolerance(expected: dict, dtype: str | None = None) -> tuple[float, float]:
    """(rtol, atol) for ``dtype`` if the check names one, else the expected value's dtype; float32 otherwise."""
    if dtype in TOLERANCES:
        return TOLERANCES[dtype]
    if isinstance(expected, dict) and expected.get("dtype") in TOLERANCES:
        return TOLERANCES[expected["dtype"]]
    return TOLERANCES["float32"]


def judge(kind: str, found: Any, spec: Any) -> Verdict:
    """Decide one check from plain data; never raises.

    Args:
        kind: one of ``CHECK_KINDS``.
        found: the plain answer (``to_plain``), or a plain record of what went
            wrong: ``{"type": "not_attempted"}`` or ``{"type": "error", "error": str}``.
            Any other JSON value fails the check as unreadable.
        spec: the check's keyword arguments in plain form, e.g.
            ``{"expected": plain, "rtol": 1e-5, "mistakes": {label: plain}, "hint": str,
            "kind": "float", "dtype": "float64", "device": "cpu"}``.
    """
    try:
        spec = spec if isinstance(spec, dict) else {}
        verdict = _judge(kind, found, spec)
        hint = spec.get("hint")
        if not verdict.passed and isinstance(hint, str) and hint:
            return Verdict(False, f"{verdict.message} Hint: {hint[:500]}", verdict.mistake)
        return verdict
    except Exception as error:  # a malformed spec; the fuzz tests prove answers never get here
        return Verdict(False, f"this check could not be judged ({type(error).__name__}); "
                              "please tell your instructor.", COULD_NOT_JUDGE)


def _judge(kind: str, found: Any, spec: dict) -> Verdict:
    if isinstance(found, dict) and found.get("type") == "not_attempted":
        return Verdict(False, "not attempted yet.", "not attempted")
    if isinstance(found, dict) and found.get("type") == "error":
        text = found.get("error")
        text = text[:500] if isinstance(text, str) else "an error"
        # the error's own name says which named mistake it is; nothing else the record claims is trusted
        # (the grader keeps only the class name of a student's exception, the kernel the whole text)
        used_autograd = text == "UsedAutograd" or text.startswith("UsedAutograd:")
        mistake = "used autograd" if used_autograd else "raised an error"
        return Verdict(False, f"your code raised {text}", mistake)
    try:
        found = validate_plain(found)
    except ValueError:
        return Verdict(False, "the answer could not be read as plain data (numbers, tensors, lists, ...).",
                       "unreadable answer")
    if kind not in CHECK_KINDS:
        raise ValueError(f"unknown check kind {kind!r}")
    problem = contract_problem(found, spec)
    if problem:
        return problem
    return {"close": _close, "equal": _equal, "below": _bound, "above": _bound, "finite": _finite,
            "shape": _shape, "metric": _metric}[kind](found, spec, kind)


# ---------------------------------------------------------------------------
# The answer's kind, dtype and device, where the instructions name them

def _is_kind(found: dict, want: str) -> bool:
    kind = found["type"]
    if want in ("float", "int"):
        if kind != "number":
            return False
        value = found["value"]
        is_int = isinstance(value, int) and not isinstance(value, bool)
        return is_int if want == "int" else not is_int
    if want == "tensor0d":
        return kind == "tensor" and found["shape"] == []
    return kind == want


def contract_problem(found: dict, spec: dict) -> Verdict | None:
    """A failing verdict when the answer is not of the kind, dtype or device the check names."""
    want = spec.get("kind")
    if want is not None:
        if want not in ANSWER_KINDS:
            raise ValueError(f"unknown answer kind {want!r}")
        if not _is_kind(found, want):
            return Verdict(False, f"expected {ANSWER_KINDS[want]}, found {kind_of(found)}.", "wrong type")
    dtype = spec.get("dtype")
    if dtype is not None:
        if found["type"] not in ("tensor", "array"):
            return Verdict(False, f"expected a {dtype} tensor, found {kind_of(found)}.", "wrong type")
        if found["dtype"] != dtype:
            return Verdict(False, f"expected dtype {dtype}, found {found['dtype']}.", "wrong dtype")
    device = spec.get("device")
    if device is not None:
        if found["type"] != "tensor":
            return Verdict(False, f"expected a tensor on {device}, found {kind_of(found)}.", "wrong type")
        if found["device"] != device:
            return Verdict(False, f"expected a tensor on {device}, found one on {found['device']}.",
                           "wrong device")
    return None


# ---------------------------------------------------------------------------
# Numbers

def as_array(plain: dict, allow_bool: bool = False):
    """A float64 NumPy array (shape preserved) for a numeric plain value, else None.

    Bools and bool tensors are numbers only when ``allow_bool``; a meta tensor
    (no values) is never one; lists stack when their items share a shape.
    """
    import numpy as np
    kind = plain["type"]
    if kind == "number":
        return np.array(as_float(plain["value"]))
    if kind == "bool":
        return np.array(float(plain["value"])) if allow_bool else None
    if kind in ("tensor", "array"):
        if plain["values"] is None or (plain["dtype"] == "bool" and not allow_bool):
            return None
        values = [float(v) if isinstance(v, bool) else as_float(v) for v in plain["values"]]
        return np.array(values, dtype=float).reshape(plain["shape"])
    if kind == "list":
        parts = [as_array(item, allow_bool) for item in plain["items"]]
        if not parts:
            return np.zeros(0)
        if all(p is not None and p.shape == parts[0].shape for p in parts):
            return np.stack(parts)
    return None


def _tolerances(expected: dict, spec: dict) -> tuple[float, float]:
    rtol, atol = default_tolerance(expected, spec.get("dtype"))
    given_rtol, given_atol = spec.get("rtol"), spec.get("atol")
    if is_number(given_rtol) and as_float(given_rtol) >= 0:
        rtol = as_float(given_rtol)
    if is_number(given_atol) and as_float(given_atol) >= 0:
        atol = as_float(given_atol)
    return rtol, atol


def _close(found: dict, spec: dict, _kind: str) -> Verdict:
    import numpy as np
    expected_plain = validate_plain(spec["expected"])
    both_meta = (found["type"] == expected_plain["type"] == "tensor"
                 and found["values"] is None and expected_plain["values"] is None)
    if both_meta:  # nothing to compare but the shape
        if found["shape"] == expected_plain["shape"]:
            return Verdict(True, "passed")
        return Verdict(False, f"expected shape {tuple(expected_plain['shape'])}, found {tuple(found['shape'])}.",
                       "wrong shape")
    expected_is_bool = expected_plain["type"] == "bool" or expected_plain.get("dtype") == "bool"
    expected = as_array(expected_plain, allow_bool=expected_is_bool)
    if expected is None:
        raise ValueError("a 'close' check needs a numeric expected value")
    values = as_array(found, allow_bool=expected_is_bool)
    if values is None:
        if found["type"] == "none":
            return Verdict(False, "your code returned None: did you forget the `return`?", "returned None")
        return Verdict(False, f"expected numbers like {show(expected_plain)}, found {kind_of(found)}"
                              f" ({show(found)}).", "wrong type")

    if values.shape != expected.shape:
        return shape_mistake(values, expected)

    rtol, atol = _tolerances(expected_plain, spec)
    if not np.all(np.isfinite(values)) and np.all(np.isfinite(expected)):
        return Verdict(False, f"expected {show(expected_plain)}, found {show(found)}: nan or inf means the "
                              "computation diverged or divided by zero.", "not finite")
    if _allclose(values, expected, rtol, atol):
        return Verdict(True, "passed")

    where = f"expected {show(expected_plain)}, found {show(found)}"
    label = match_mistake(values, expected, spec.get("mistakes"), rtol, atol)
    if label:
        return Verdict(False, f"{where}. Likely mistake: {label}.", label)
    factor = constant_factor(values, expected)
    if factor:
        text, mistake = factor
        return Verdict(False, f"{where}: {text}.", mistake)
    return Verdict(False, f"{where}{near_miss(values, expected)}.")


def _allclose(values, expected, rtol: float, atol: float) -> bool:
    import numpy as np
    with np.errstate(all="ignore"):
        return bool(np.allclose(values, expected, rtol=rtol, atol=atol, equal_nan=True))


def _equal(found: dict, spec: dict, _kind: str) -> Verdict:
    expected = validate_plain(spec["expected"])
    if found == expected:
        return Verdict(True, "passed")
    where = f"expected {show(expected)}, found {show(found)}"
    mistakes = spec.get("mistakes") if isinstance(spec.get("mistakes"), dict) else {}
    for label, wrong in mistakes.items():
        if found == wrong and wrong != expected:
            return Verdict(False, f"{where}. Likely mistake: {label}.", label)
    if found["type"] == "none":
        return Verdict(False, f"{where}: did you forget the `return`?", "returned None")
    import numpy as np
    values, wanted = as_array(found, allow_bool=True), as_array(expected, allow_bool=True)
    if values is not None and wanted is not None and values.shape == wanted.shape and np.array_equal(values, wanted):
        return Verdict(False, f"the values are right, but expected {kind_of(expected)}, found {kind_of(found)}.",
                       "wrong type")
    return Verdict(False, f"{where}.")


def _one_number(found: dict):
    values = as_array(found)
    if values is None or values.size != 1:
        return None
    return float(values.reshape(-1)[0])


def _bound(found: dict, spec: dict, kind: str) -> Verdict:
    value = _one_number(found)
    if value is None:
        mistake = "returned None" if found["type"] == "none" else "wrong type"
        return Verdict(False, f"expected one number, found {kind_of(found)} ({show(found)}).", mistake)
    bound = _one_number(validate_plain(spec["bound"]))  # a number, or a one-element tensor
    if bound is None:
        raise ValueError("a bound is one number")
    word = "below" if kind == "below" else "above"
    if math.isnan(value):
        return Verdict(False, f"expected a value {word} {fmt(bound)}, found nan: the computation diverged "
                              "or divided by zero.", "not finite")
    if math.isinf(value) and not spec.get("allow_infinite"):
        return Verdict(False, f"expected a finite value {word} {fmt(bound)}, found {fmt(value)}.", "not finite")
    if (value < bound) if kind == "below" else (value > bound):
        return Verdict(True, "passed")
    return Verdict(False, f"expected a value {word} {fmt(bound)}, found {fmt(value)}.")


def _finite(found: dict, spec: dict, _kind: str) -> Verdict:
    import numpy as np
    values = as_array(found)
    if values is None:
        mistake = "returned None" if found["type"] == "none" else "wrong type"
        return Verdict(False, f"expected numbers, found {kind_of(found)} ({show(found)}).", mistake)
    if values.size == 0:
        return Verdict(False, "expected numbers, found an empty answer.", "empty")
    if np.all(np.isfinite(values)):
        return Verdict(True, "passed")
    return Verdict(False, "found nan or inf: the computation diverged or divided by zero.", "not finite")


def _shape(found: dict, spec: dict, _kind: str) -> Verdict:
    expected = [int(as_float(i["value"])) for i in validate_plain(spec["expected"])["items"]]
    if found["type"] not in ("tensor", "array"):
        mistake = "returned None" if found["type"] == "none" else "wrong type"
        return Verdict(False, f"expected a tensor of shape {tuple(expected)}, found {kind_of(found)}.", mistake)
    if found["shape"] == expected:
        return Verdict(True, "passed")
    if sorted(found["shape"]) == sorted(expected) and len(expected) == 2:
        return Verdict(False, f"expected shape {tuple(expected)}, found {tuple(found['shape'])}: transposed?",
                       "transposed")
    return Verdict(False, f"expected shape {tuple(expected)}, found {tuple(found['shape'])}.", "wrong shape")


# ---------------------------------------------------------------------------
# A score of predicted labels against labels only the grader holds

def _labels(plain: dict):
    values = as_array(plain, allow_bool=True)
    return None if values is None else values.reshape(-1)


def _metric(found: dict, spec: dict, _kind: str) -> Verdict:
    import numpy as np
    metric = spec.get("metric", "accuracy")
    if metric not in METRICS:
        raise ValueError(f"unknown metric {metric!r}")
    at_least = as_float(spec.get("at_least", 0.0))
    truth = _labels(validate_plain(spec["expected"]))
    if truth is None:
        raise ValueError("a 'metric' check needs expected labels")
    predicted = _labels(found)
    if predicted is None or (found["type"] in ("tensor", "array") and len(found["shape"]) > 2):
        mistake = "returned None" if found["type"] == "none" else "wrong type"
        return Verdict(False, f"expected {truth.size} predicted labels, found {kind_of(found)}.", mistake)
    if predicted.size != truth.size:
        return Verdict(False, f"expected {truth.size} predicted labels, found {predicted.size}.", "wrong shape")
    if not np.all(np.isfinite(predicted)):
        return Verdict(False, "found nan or inf among the predicted labels.", "not finite")
    classes = set(np.unique(truth).tolist())
    strays = sorted(set(np.unique(predicted).tolist()) - classes)
    if strays:
        return Verdict(False, f"expected labels among {sorted(classes)}, found other values such as "
                              f"{fmt(strays[0])} (probabilities or logits instead of labels?).", "not labels")
    score = _score(metric, truth, predicted, classes)
    name = {"f1": "F1", "accuracy": "accuracy", "precision": "precision", "recall": "recall"}[metric]
    if score >= at_least:
        return Verdict(True, "passed")
    return Verdict(False, f"{name} {score:.3f} on labels only the grader holds; at least {at_least:.3g} "
                          "is needed.")


def import_scorers() -> None:
    """Import scikit-learn's metrics (about a second), which ``metric`` checks score with;
    a grader calls this ahead of time, off its event loop."""
    from sklearn import metrics  # noqa: F401


def _score(metric: str, truth, predicted, classes: set) -> float:
    from sklearn import metrics

    if metric == "accuracy":
        return float(metrics.accuracy_score(truth, predicted))
    binary = classes <= {0.0, 1.0}
    options = {"average": "binary", "pos_label": 1.0} if binary else {"average": "macro"}
    scorer = {"f1": metrics.f1_score, "precision": metrics.precision_score, "recall": metrics.recall_score}[metric]
    return float(scorer(truth, predicted, zero_division=0.0, **options))
