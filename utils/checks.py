"""The checks behind every exercise: compare an answer with what was expected, and say why not.

A test cell of an assignment reads::

    with exercise("2 · gradient of the MSE") as ex:
        ex.close("dL/db at w=1, b=0", lambda: mse_gradients(x, y, 1.0, 0.0)[1],
                 expected=-17.9,
                 mistakes={"summed instead of averaged (forgot the 1/N of the mean)":
                           lambda g: g * len(x)})

Every check takes two positional arguments that say *what* is compared: a
name, and a function of no arguments that computes the student's answer.
Everything the answer is judged against (``expected``, tolerances, bounds,
named ``mistakes``, a ``hint``) is keyword-only. That split is the format's
contract with the autograder:

- In a student's kernel (and under stock ``nbgrader autograde``) the checks
  judge on the spot, print one line per check, and raise when one fails, so
  the cell shows an error and nbgrader awards no points for it.
- Under the autograder (``COURSE_CHECK_RECORD=1``) the keyword arguments
  are stripped from the cell before it runs, and each check only publishes
  its answer as plain data (numbers, lists, flat arrays: never objects).
  The grader judges those answers in its own process with ``judge``,
  against the keyword values recorded from the instructor's notebook.

An answer that raises ``NotImplementedError`` (the stub of a released
notebook) is "not attempted yet", said in one line, not a traceback.
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

RECORD_ENV_VAR = "COURSE_CHECK_RECORD"
RECORD_MIME = "application/vnd.course.check+json"
CHECK_KINDS = ("close", "equal", "below", "above", "finite", "shape")

MAX_RECORDED_NUMBERS = 100_000
MAX_RECORDED_TEXT = 2_000
_MAX_DEPTH = 8

# Default tolerances by the least precise dtype involved: (rtol, atol).
_TOLERANCES = {
    "float16": (1e-3, 1e-5), "bfloat16": (1e-2, 1e-4),
    "float32": (1e-5, 1e-6), "float64": (1e-7, 1e-10),
}


# ---------------------------------------------------------------------------
# Plain data: the only form in which an answer leaves the student's process.

class UnrecordableAnswer(TypeError):
    """The answer is not a number, tensor, array, string, bool, None, list or dict."""


def _encode_number(x: float | int) -> float | int | str:
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


def _decode_number(x) -> float | int:
    if isinstance(x, str):
        if x not in ("nan", "inf", "-inf"):
            raise ValueError(f"not a number: {x!r}")
        return float(x)
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ValueError(f"not a number: {x!r}")
    return x


def to_plain(value: Any, _depth: int = 0) -> dict:
    """Describe ``value`` with JSON-ready built-in types only.

    Tensors (any device, any float or integer dtype) and NumPy arrays become
    ``{"type": "tensor"|"array", "dtype", "device", "shape", "values"}`` with
    ``values`` flattened; non-finite floats are spelled "nan", "inf", "-inf".
    """
    if _depth > _MAX_DEPTH:
        raise UnrecordableAnswer("the answer is nested too deeply to record")
    if value is None:
        return {"type": "none"}
    if isinstance(value, bool):
        return {"type": "bool", "value": bool(value)}
    if isinstance(value, (int, float)):
        return {"type": "number", "value": _encode_number(float(value) if isinstance(value, float) else int(value))}
    if isinstance(value, str):
        return {"type": "str", "value": str(value)[:MAX_RECORDED_TEXT]}
    if isinstance(value, (list, tuple)):
        return {"type": "list", "items": [to_plain(v, _depth + 1) for v in value]}
    if isinstance(value, dict):
        return {"type": "dict", "items": {str(k): to_plain(v, _depth + 1) for k, v in value.items()}}
    module = type(value).__module__.split(".")[0]
    if module == "torch":
        import torch
        if isinstance(value, torch.Size):
            return {"type": "list", "items": [to_plain(int(v)) for v in value]}
        if isinstance(value, torch.Tensor):
            return _array_plain("tensor", value.detach().cpu(), str(value.dtype).replace("torch.", ""),
                                value.device.type)
    if module == "numpy":
        import numpy as np
        if isinstance(value, np.generic):
            return to_plain(value.item(), _depth)
        if isinstance(value, np.ndarray):
            return _array_plain("array", value, str(value.dtype), "cpu")
    raise UnrecordableAnswer(
        f"the answer is a {type(value).__name__}; a check can only compare numbers, tensors, "
        "arrays, strings, booleans, None, and lists or dicts of those")


def _array_plain(kind: str, array, dtype: str, device: str) -> dict:
    shape = [int(n) for n in array.shape]
    if math.prod(shape) > MAX_RECORDED_NUMBERS:
        raise UnrecordableAnswer(f"the answer has {math.prod(shape)} numbers, more than a check records")
    if dtype.startswith("complex"):
        raise UnrecordableAnswer("complex numbers cannot be compared by these checks")
    if dtype in ("bfloat16", "float16"):
        array = array.float()
    flat = array.reshape(-1).tolist()
    return {"type": kind, "dtype": dtype, "device": device, "shape": shape,
            "values": [_encode_number(v) for v in flat]}


def validate_plain(plain: Any, _depth: int = 0) -> dict:
    """Return ``plain`` if it is a well-formed plain description, else raise ``ValueError``.

    The grader calls this on everything that comes out of a sandbox before
    looking at it: only the shapes ``to_plain`` produces are accepted.
    """
    if _depth > _MAX_DEPTH or not isinstance(plain, dict):
        raise ValueError("not a plain answer")
    kind = plain.get("type")
    if kind == "none" and set(plain) == {"type"}:
        return plain
    if kind == "bool" and isinstance(plain.get("value"), bool) and set(plain) == {"type", "value"}:
        return plain
    if kind == "number" and set(plain) == {"type", "value"}:
        _decode_number(plain["value"])
        return plain
    if kind == "str" and isinstance(plain.get("value"), str) and set(plain) == {"type", "value"}:
        if len(plain["value"]) > MAX_RECORDED_TEXT:
            raise ValueError("string too long")
        return plain
    if kind == "list" and isinstance(plain.get("items"), list) and set(plain) == {"type", "items"}:
        for item in plain["items"]:
            validate_plain(item, _depth + 1)
        return plain
    if kind == "dict" and isinstance(plain.get("items"), dict) and set(plain) == {"type", "items"}:
        for key, item in plain["items"].items():
            if not isinstance(key, str):
                raise ValueError("dict keys must be strings")
            validate_plain(item, _depth + 1)
        return plain
    if kind in ("tensor", "array") and set(plain) == {"type", "dtype", "device", "shape", "values"}:
        shape, values = plain["shape"], plain["values"]
        if not (isinstance(shape, list) and all(isinstance(n, int) and not isinstance(n, bool) and n >= 0
                                                for n in shape)):
            raise ValueError("bad shape")
        if not isinstance(values, list) or len(values) != math.prod(shape) or len(values) > MAX_RECORDED_NUMBERS:
            raise ValueError("values do not match the shape")
        if not isinstance(plain["dtype"], str) or not isinstance(plain["device"], str):
            raise ValueError("bad dtype or device")
        for v in values:
            if isinstance(v, bool):
                continue  # bool tensors hold True/False
            _decode_number(v)
        return plain
    raise ValueError("not a plain answer")


def _as_array(plain: dict):
    """A float64 NumPy array (shape preserved) for a numeric plain value, else None."""
    import numpy as np
    kind = plain["type"]
    if kind == "number":
        return np.array(float(_decode_number(plain["value"])))
    if kind == "bool":
        return np.array(float(plain["value"]))
    if kind in ("tensor", "array"):
        values = [float(_decode_number(v)) if not isinstance(v, bool) else float(v) for v in plain["values"]]
        return np.array(values, dtype=float).reshape(plain["shape"])
    if kind == "list":  # a list of numbers or of equally shaped tensors stacks into one array
        parts = [_as_array(item) for item in plain["items"]]
        if parts and all(p is not None and p.shape == parts[0].shape for p in parts):
            return np.stack(parts)
        if not parts:
            return np.zeros(0)
    return None


def show(plain: dict, limit: int = 6) -> str:
    """A short human reading of a plain value, e.g. ``96.0`` or ``[3.04, 4.68]``."""
    kind = plain["type"]
    if kind == "none":
        return "None"
    if kind in ("bool", "str"):
        return repr(plain["value"])
    if kind == "number":
        return _fmt(_decode_number(plain["value"]))
    if kind in ("tensor", "array"):
        values = plain["values"]
        if not plain["shape"]:
            return _fmt(_decode_number(values[0]))
        shown = ", ".join(_fmt(_decode_number(v)) for v in values[:limit])
        more = ", …" if len(values) > limit else ""
        shape = "" if len(plain["shape"]) == 1 else f" of shape {tuple(plain['shape'])}"
        return f"[{shown}{more}]{shape}"
    if kind == "list":
        return "[" + ", ".join(show(item, limit) for item in plain["items"][:limit]) + \
            (", …" if len(plain["items"]) > limit else "") + "]"
    return "{" + ", ".join(f"{k!r}: {show(v, limit)}" for k, v in list(plain["items"].items())[:limit]) + "}"


def _fmt(x: float | int) -> str:
    if isinstance(x, int):
        return str(x)
    if math.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return f"{x:.1f}"
    return f"{x:.6g}"


# ---------------------------------------------------------------------------
# Judging: a pure function of plain data, run by the student's kernel and by
# the grader alike.

@dataclass(frozen=True)
class Verdict:
    """The outcome of one check. ``mistake`` names the diagnosed mistake, if any."""

    passed: bool
    message: str
    mistake: str | None = None


def default_tolerance(*plains: dict) -> tuple[float, float]:
    """(rtol, atol) for the least precise float dtype among the values; float32 otherwise."""
    order = ["bfloat16", "float16", "float32", "float64"]
    dtypes = [p.get("dtype") for p in plains if p.get("dtype") in _TOLERANCES]
    if not dtypes:
        return _TOLERANCES["float32"]
    return _TOLERANCES[min(dtypes, key=order.index)]


def judge(kind: str, found: dict, spec: dict) -> Verdict:
    """Decide one check from plain data.

    Args:
        kind: one of ``CHECK_KINDS``.
        found: the plain answer (``to_plain``), or a plain record of what went
            wrong: ``{"type": "not_attempted"}`` or ``{"type": "error", "error": str}``.
        spec: the check's keyword arguments in plain form, e.g.
            ``{"expected": plain, "rtol": 1e-5, "mistakes": {label: plain}, "hint": str}``.
    """
    hint = spec.get("hint")
    verdict = _judge(kind, found, spec)
    if not verdict.passed and hint:
        return Verdict(False, f"{verdict.message} Hint: {hint}", verdict.mistake)
    return verdict


def _judge(kind: str, found: dict, spec: dict) -> Verdict:
    if found["type"] == "not_attempted":
        return Verdict(False, "not attempted yet.", "not attempted")
    if found["type"] == "error":
        return Verdict(False, f"your code raised {found['error']}", found.get("mistake") or "raised an error")
    if kind == "close":
        return _judge_close(found, spec)
    if kind == "equal":
        expected = spec["expected"]
        if found == expected:
            return Verdict(True, "passed")
        for label, wrong in (spec.get("mistakes") or {}).items():
            if found == wrong:
                return Verdict(False, f"expected {show(expected)}, found {show(found)}. Likely mistake: {label}.", label)
        return Verdict(False, f"expected {show(expected)}, found {show(found)}.", _none_mistake(found))
    if kind in ("below", "above"):
        values = _as_array(found)
        if values is None or values.size != 1:
            return Verdict(False, f"expected one number, found {show(found)}.", _none_mistake(found))
        value, bound = float(values.reshape(-1)[0]), float(_decode_number(spec["bound"]["value"]))
        ok = value < bound if kind == "below" else value > bound
        word = "below" if kind == "below" else "above"
        if ok:
            return Verdict(True, "passed")
        return Verdict(False, f"expected a value {word} {_fmt(bound)}, found {_fmt(value)}.")
    if kind == "finite":
        import numpy as np
        values = _as_array(found)
        if values is None:
            return Verdict(False, f"expected numbers, found {show(found)}.", _none_mistake(found))
        if np.all(np.isfinite(values)):
            return Verdict(True, "passed")
        return Verdict(False, "found nan or inf: the computation diverged or divided by zero.", "not finite")
    if kind == "shape":
        expected = [int(_decode_number(i["value"])) for i in spec["expected"]["items"]]
        if found["type"] not in ("tensor", "array"):
            return Verdict(False, f"expected a tensor of shape {tuple(expected)}, found {show(found)}.",
                           _none_mistake(found))
        if found["shape"] == expected:
            return Verdict(True, "passed")
        return Verdict(False, f"expected shape {tuple(expected)}, found {tuple(found['shape'])}.", "wrong shape")
    raise ValueError(f"unknown check kind {kind!r}")


def _none_mistake(found: dict) -> str | None:
    return "returned None" if found["type"] == "none" else None


def _judge_close(found: dict, spec: dict) -> Verdict:
    import numpy as np
    expected_plain = spec["expected"]
    expected = _as_array(expected_plain)
    values = _as_array(found)
    if values is None:
        if found["type"] == "none":
            return Verdict(False, "your code returned None: did you forget the `return`?", "returned None")
        return Verdict(False, f"expected a number or tensor like {show(expected_plain)}, found {show(found)}.")
    if expected is None:
        raise ValueError("a 'close' check needs a numeric expected value")

    if values.shape != expected.shape:
        if values.size == expected.size:
            if values.ndim == 2 and expected.ndim == 2 and values.shape == expected.T.shape:
                return Verdict(False, f"expected shape {expected.shape}, found {values.shape}: transposed?",
                               "transposed")
            if np.allclose(values.reshape(expected.shape), expected, rtol=1e-4, atol=1e-6):
                return Verdict(False, f"right numbers, wrong shape: expected {expected.shape}, found "
                                      f"{values.shape} (reshape, or check for an extra dimension).", "wrong shape")
        return Verdict(False, f"expected shape {expected.shape}, found {values.shape}.", "wrong shape")

    rtol_default, atol_default = default_tolerance(found, expected_plain)
    rtol = spec.get("rtol", rtol_default)
    atol = spec.get("atol", atol_default)

    if not np.all(np.isfinite(values)) and np.all(np.isfinite(expected)):
        return Verdict(False, f"expected {show(expected_plain)}, found {show(found)}: nan or inf means the "
                              "computation diverged or divided by zero.", "not finite")
    if np.allclose(values, expected, rtol=rtol, atol=atol, equal_nan=True):
        return Verdict(True, "passed")

    where = f"expected {show(expected_plain)}, found {show(found)}"
    for label, wrong in (spec.get("mistakes") or {}).items():
        wrong_values = _as_array(wrong)
        if wrong_values is not None and wrong_values.shape == values.shape and \
                np.allclose(values, wrong_values, rtol=max(rtol, 1e-4), atol=max(atol, 1e-6)):
            return Verdict(False, f"{where}. Likely mistake: {label}.", label)

    ratio = _consistent_ratio(values, expected)
    if ratio is not None:
        if abs(ratio + 1) < 1e-3:
            return Verdict(False, f"{where}: the sign is flipped.", "sign flipped")
        size = f"{ratio:.3g}× too large" if abs(ratio) > 1 else f"{1 / ratio:.3g}× too small"
        if ratio < 0:
            size = f"the sign is flipped and it is {abs(ratio):.3g}× the expected size"
        return Verdict(False, f"{where}: {size}.", "scaled by a constant")
    return Verdict(False, f"{where}.")


def _consistent_ratio(values, expected) -> float | None:
    """found / expected when that ratio is the same everywhere (and not 1), else None."""
    import numpy as np
    mask = np.abs(expected) > 1e-12
    if not mask.any() or not np.all(np.isfinite(values)):
        return None
    if np.any(np.abs(values[~mask]) > 1e-9):
        return None
    ratios = values[mask] / expected[mask]
    if np.ptp(ratios) <= 1e-4 * max(1.0, np.abs(ratios).max()) and abs(ratios.mean() - 1) > 1e-4 \
            and abs(ratios.mean()) > 1e-12:
        return float(ratios.mean())
    return None


# ---------------------------------------------------------------------------
# Running checks in a notebook.

class NotAttempted(Exception):
    """Every check of an exercise met the stub's ``NotImplementedError``."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [str(self)]


class ChecksFailed(AssertionError):
    """At least one check of an exercise failed; the lines above say which and why."""

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


class UsedAutograd(RuntimeError):
    """Raised by ``by_hand`` when an answer that must not use autograd did."""


def recording() -> bool:
    """True inside the autograder's sandbox, where checks publish answers instead of judging."""
    return os.environ.get(RECORD_ENV_VAR) == "1"


def _publish(record: dict) -> None:
    """Send a record as display data in a kernel; print it as a JSON line elsewhere."""
    try:
        from IPython import get_ipython
        from IPython.display import display
        in_kernel = get_ipython() is not None
    except ImportError:
        in_kernel = False
    if in_kernel:
        display({RECORD_MIME: record, "text/plain": f"[recorded] {record['check']}"}, raw=True)
    else:
        import json
        print(json.dumps(record))


def _plain_spec(spec: dict) -> dict:
    """The keyword arguments of a check in plain form; ``mistakes`` may map to
    functions of the expected value."""
    plain = {}
    expected = spec.get("expected")
    for key, value in spec.items():
        if key == "mistakes":
            plain[key] = {label: to_plain(wrong(expected) if callable(wrong) else wrong)
                          for label, wrong in (value or {}).items()}
        elif key in ("expected", "bound"):
            plain[key] = to_plain(value)
        elif key in ("rtol", "atol"):
            plain[key] = float(value)
        elif key == "hint":
            plain[key] = str(value)
        else:
            raise TypeError(f"unknown check argument {key!r}")
    return plain


class exercise:  # noqa: N801 -- read aloud as "with exercise(...)"
    """Group the checks of one exercise; used as ``with exercise("title") as ex:``.

    On leaving the block it prints one line per check, then raises
    ``ChecksFailed`` if any failed or ``NotAttempted`` if none was attempted,
    so stock nbgrader scores the cell. In the autograder's sandbox it only
    publishes each check's answer (``RECORD_MIME`` display data) and never raises.
    """

    def __init__(self, title: str):
        self.title = title
        self.results: list[tuple[str, Verdict]] = []
        self._record = recording()

    def __enter__(self) -> exercise:
        return self

    # -- the check vocabulary: two positional arguments, the rest keyword-only --

    def close(self, what: str, answer: Callable[[], Any] | Any, *, expected: Any = None,
              rtol: float | None = None, atol: float | None = None,
              mistakes: dict[str, Any] | None = None, hint: str | None = None) -> None:
        """The answer equals ``expected`` within tolerances (default: by dtype).

        ``mistakes`` maps a plain-words description of a common mistake to the
        value that mistake produces (or a function of ``expected`` giving it).
        """
        spec = {"expected": expected, "mistakes": mistakes, "hint": hint, "rtol": rtol, "atol": atol}
        self._check("close", what, answer, spec)

    def equal(self, what: str, answer: Callable[[], Any] | Any, *, expected: Any = None,
              mistakes: dict[str, Any] | None = None, hint: str | None = None) -> None:
        """The answer is exactly ``expected`` (for integers, strings, labels, lists of them)."""
        self._check("equal", what, answer, {"expected": expected, "mistakes": mistakes, "hint": hint})

    def below(self, what: str, answer: Callable[[], Any] | Any, *, bound: float | None = None,
              hint: str | None = None) -> None:
        """The answer is a number strictly below ``bound`` (e.g. a final loss)."""
        self._check("below", what, answer, {"bound": bound, "hint": hint})

    def above(self, what: str, answer: Callable[[], Any] | Any, *, bound: float | None = None,
              hint: str | None = None) -> None:
        """The answer is a number strictly above ``bound`` (e.g. an F1 score)."""
        self._check("above", what, answer, {"bound": bound, "hint": hint})

    def finite(self, what: str, answer: Callable[[], Any] | Any, *, hint: str | None = None) -> None:
        """Every number in the answer is finite (no nan, no inf)."""
        self._check("finite", what, answer, {"hint": hint})

    def shape(self, what: str, answer: Callable[[], Any] | Any, *, expected: Any = None,
              hint: str | None = None) -> None:
        """The answer is a tensor or array of shape ``expected``."""
        self._check("shape", what, answer, {"expected": list(expected) if expected is not None else None,
                                            "hint": hint})

    # -- machinery --

    def _answer(self, answer) -> dict:
        try:
            value = answer() if callable(answer) else answer
        except NotImplementedError:
            return {"type": "not_attempted"}
        except Exception as error:  # the student's code failed: report it, keep checking
            text = f"{type(error).__name__}: {error}"[:MAX_RECORDED_TEXT]
            found = {"type": "error", "error": text}
            if isinstance(error, UsedAutograd):
                found["mistake"] = "used autograd"
            return found
        try:
            return to_plain(value)
        except UnrecordableAnswer as error:
            return {"type": "error", "error": f"an answer that cannot be checked: {error}"}

    def _check(self, kind: str, what: str, answer, spec: dict) -> None:
        found = self._answer(answer)
        given = {key: value for key, value in spec.items() if value is not None}
        if self._record:
            record = {"exercise": self.title, "check": what, "kind": kind, "found": found}
            if given:  # present only in the instructor's notebook; stripped for students
                record["spec"] = _plain_spec(given)
            _publish(record)
            return
        verdict = judge(kind, found, _plain_spec(given))
        self.results.append((what, verdict))

    def __exit__(self, exc_type, exc, tb) -> bool:
        if exc_type is not None or self._record:
            return False
        attempted = [(w, v) for w, v in self.results if v.mistake != "not attempted"]
        if self.results and not attempted:
            raise NotAttempted(f"Exercise {self.title}: not attempted yet. Replace "
                               "`raise NotImplementedError()` with your answer and run this cell again.")
        failed = [(w, v) for w, v in self.results if not v.passed]
        print(f"Exercise {self.title}")
        for what, verdict in self.results:
            mark = "✓" if verdict.passed else "✗"
            text = "passed" if verdict.passed else verdict.message
            print(f"  {mark} {what}: {text}")
        if failed:
            raise ChecksFailed(f"Exercise {self.title}: {len(failed)} of {len(self.results)} checks "
                               "failed (see above).")
        count = len(self.results)
        print(f"  All {count} checks passed." if count > 1 else "  The check passed.")
        return False


# ---------------------------------------------------------------------------
# Helpers that test cells use to compute answers.

def by_hand(function: Callable) -> Callable:
    """Wrap ``function`` so it runs with autograd switched off.

    For exercises that ask for a derivative worked out by hand: an answer
    that calls ``backward()`` or ``torch.autograd.grad`` fails with a clear
    ``UsedAutograd`` error instead of quietly passing.
    """
    def run_without_autograd(*args, **kwargs):
        import torch
        with torch.no_grad():
            try:
                return function(*args, **kwargs)
            except RuntimeError as error:
                if "does not require grad" in str(error):
                    raise UsedAutograd("this exercise asks for the derivative worked out by hand, "
                                       "but your code used autograd (backward or autograd.grad).") from None
                raise
    return run_without_autograd


class Spy:
    """Wrap a function of one number and remember every input it was called with.

    ``spy = Spy(f); centred_slope(spy, 3.0, 0.1); spy.inputs`` → ``[3.1, 2.9]``.
    """

    def __init__(self, function: Callable[[float], float]):
        self.function = function
        self.inputs: list[float] = []

    def __call__(self, x):
        self.inputs.append(float(x))
        return self.function(x)


def inputs_seen(call: Callable[[Callable], Any], function: Callable[[float], float]) -> list[float]:
    """The sorted inputs ``function`` received while ``call(spy_of_function)`` ran.

    ``inputs_seen(lambda f: centred_slope(f, 2.0, h=0.1), cube)`` → ``[1.9, 2.1]``.
    """
    spy = Spy(function)
    call(spy)
    return sorted(spy.inputs)
