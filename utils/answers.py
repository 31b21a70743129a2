"""Answers as plain data: the only form in which an answer leaves the student's process.

``to_plain`` turns what a student's code returned into JSON-ready built-in
types; ``validate_plain`` is what the grader calls on anything that comes out
of a sandbox before looking at it. Neither imports torch or NumPy unless the
value is one of theirs, so the grader can judge without them.

The plain forms::

    {"type": "none"}
    {"type": "bool", "value": True}
    {"type": "number", "value": 3}          # a Python int (any size)
    {"type": "number", "value": 2.5}        # a Python float; "nan", "inf", "-inf" spelled as strings
    {"type": "str", "value": "..."}
    {"type": "list", "items": [plain, ...]} # lists and tuples
    {"type": "dict", "items": {"key": plain}}
    {"type": "tensor" | "array", "dtype": "float32", "device": "cpu", "shape": [2, 3],
     "values": [...]}                       # flattened; None for a tensor on the meta device
"""

from __future__ import annotations

import math
from typing import Any

RECORD_ENV_VAR = "COURSE_CHECK_RECORD"
RECORD_MIME = "application/vnd.course.check+json"

MAX_RECORDED_NUMBERS = 100_000   # numbers in one answer, all tensors and lists together
MAX_RECORDED_TEXT = 2_000        # characters of one string
MAX_DEPTH = 8                    # nesting of lists and dicts
NON_FINITE = ("nan", "inf", "-inf")


class UnrecordableAnswer(TypeError):
    """The answer is not a number, tensor, array, string, bool, None, list or dict (or is too big)."""


# ---------------------------------------------------------------------------
# Numbers

def encode_number(x: float | int) -> float | int | str:
    """A JSON-ready number: non-finite floats become "nan", "inf" or "-inf"."""
    if isinstance(x, float) and not math.isfinite(x):
        return "nan" if math.isnan(x) else ("inf" if x > 0 else "-inf")
    return x


def is_number(x: Any) -> bool:
    """True for what ``encode_number`` produces: an int, a float, or one of the non-finite spellings."""
    if isinstance(x, str):
        return x in NON_FINITE
    return isinstance(x, (int, float)) and not isinstance(x, bool)


def as_float(x: Any) -> float:
    """A plain number as a float: huge integers become ±inf instead of raising ``OverflowError``.

    Raises ``ValueError`` for anything ``is_number`` rejects.
    """
    if isinstance(x, str):
        if x not in NON_FINITE:
            raise ValueError(f"not a number: {x[:40]!r}")
        return float(x)
    if isinstance(x, bool) or not isinstance(x, (int, float)):
        raise ValueError(f"not a number: {str(x)[:40]}")
    try:
        return float(x)
    except OverflowError:
        return math.inf if x > 0 else -math.inf


# ---------------------------------------------------------------------------
# Recording (in the student's process)

class _Budget:
    """Counts the numbers recorded so far, so one answer stays bounded however it is nested."""

    def __init__(self):
        self.left = MAX_RECORDED_NUMBERS

    def spend(self, count: int) -> None:
        self.left -= count
        if self.left < 0:
            raise UnrecordableAnswer(f"the answer holds more than {MAX_RECORDED_NUMBERS} numbers, "
                                     "more than a check records")


def to_plain(value: Any, _depth: int = 0, _budget: _Budget | None = None) -> dict:
    """Describe ``value`` with JSON-ready built-in types only (see the module docstring).

    Raises ``UnrecordableAnswer`` for anything else, and for answers nested
    deeper than ``MAX_DEPTH`` or holding more than ``MAX_RECORDED_NUMBERS`` numbers.
    """
    budget = _budget or _Budget()
    if _depth > MAX_DEPTH:
        raise UnrecordableAnswer("the answer is nested too deeply to record")
    if value is None:
        return {"type": "none"}
    if isinstance(value, bool):
        return {"type": "bool", "value": bool(value)}
    if type(value) in (int, float):
        budget.spend(1)
        number = float(value) if isinstance(value, float) else int(value)
        return {"type": "number", "value": encode_number(number)}
    if isinstance(value, str):
        return {"type": "str", "value": str.__str__(value)[:MAX_RECORDED_TEXT]}
    if isinstance(value, (list, tuple)):
        budget.spend(1)
        return {"type": "list", "items": [to_plain(v, _depth + 1, budget) for v in list(value)]}
    if isinstance(value, dict):
        budget.spend(1)
        return {"type": "dict", "items": {str(k)[:MAX_RECORDED_TEXT]: to_plain(v, _depth + 1, budget)
                                          for k, v in dict(value).items()}}
    module = type(value).__module__.split(".")[0]
    if module == "torch":
        import torch
        if isinstance(value, torch.Size):
            return {"type": "list", "items": [to_plain(int(v), _depth + 1, budget) for v in value]}
        if isinstance(value, torch.Tensor):
            return _tensor_plain(value, budget)
    if module == "numpy":
        import numpy as np
        if isinstance(value, np.generic):
            return to_plain(value.item(), _depth, budget)
        if isinstance(value, np.ndarray):
            return _array_plain("array", value, str(value.dtype), "cpu", budget)
    if isinstance(value, (int, float)):  # an int or float subclass: record its plain value, not the object
        return to_plain(float(value) if isinstance(value, float) else int(value), _depth, budget)
    raise UnrecordableAnswer(
        f"the answer is a {type(value).__name__}; a check can only compare numbers, tensors, "
        "arrays, strings, booleans, None, and lists or dicts of those")


def _tensor_plain(tensor, budget: _Budget) -> dict:
    dtype = str(tensor.dtype).replace("torch.", "")
    device = tensor.device.type
    if device == "meta":  # shape, dtype and device only: a meta tensor holds no numbers
        return {"type": "tensor", "dtype": dtype, "device": "meta", "shape": [int(n) for n in tensor.shape],
                "values": None}
    if tensor.layout != __import__("torch").strided:
        tensor = tensor.to_dense()
    return _array_plain("tensor", tensor.detach().cpu(), dtype, device, budget)


def _array_plain(kind: str, array, dtype: str, device: str, budget: _Budget) -> dict:
    shape = [int(n) for n in array.shape]
    budget.spend(math.prod(shape))
    if dtype.startswith("complex"):
        raise UnrecordableAnswer("complex numbers cannot be compared by these checks")
    if dtype in ("bfloat16", "float16") or dtype.startswith("float8"):
        array = array.float()  # exact: every low-precision value is a float32 value
    flat = array.reshape(-1).tolist()
    if dtype == "bool" or dtype == "bool_":
        values = [bool(v) for v in flat]
    else:
        values = [encode_number(v) for v in flat]
    return {"type": kind, "dtype": dtype, "device": device, "shape": shape, "values": values}


# ---------------------------------------------------------------------------
# Reading (in the grader's process): anything may arrive here

def validate_plain(plain: Any, _depth: int = 0, _budget: list[int] | None = None) -> dict:
    """Return ``plain`` if it is a well-formed plain description, else raise ``ValueError``.

    Accepts only the shapes ``to_plain`` produces, within the same bounds
    (depth, numbers in all), for any JSON value given; raises nothing but
    ``ValueError``.
    """
    budget = [MAX_RECORDED_NUMBERS] if _budget is None else _budget
    budget[0] -= 1
    if budget[0] < 0:
        raise ValueError("the answer holds more numbers than a check records")
    if _depth > MAX_DEPTH or not isinstance(plain, dict):
        raise ValueError("not a plain answer")
    kind = plain.get("type")
    keys = set(plain)
    if kind == "none" and keys == {"type"}:
        return plain
    if kind == "bool" and keys == {"type", "value"} and isinstance(plain["value"], bool):
        return plain
    if kind == "number" and keys == {"type", "value"} and is_number(plain["value"]):
        return plain
    if kind == "str" and keys == {"type", "value"} and isinstance(plain["value"], str):
        if len(plain["value"]) > MAX_RECORDED_TEXT:
            raise ValueError("string too long")
        return plain
    if kind == "list" and keys == {"type", "items"} and isinstance(plain["items"], list):
        for item in plain["items"]:
            validate_plain(item, _depth + 1, budget)
        return plain
    if kind == "dict" and keys == {"type", "items"} and isinstance(plain["items"], dict):
        for key, item in plain["items"].items():
            if not isinstance(key, str):
                raise ValueError("dict keys must be strings")
            validate_plain(item, _depth + 1, budget)
        return plain
    if kind in ("tensor", "array") and keys == {"type", "dtype", "device", "shape", "values"}:
        _validate_array(plain)
        budget[0] -= len(plain["values"] or ())
        if budget[0] < 0:
            raise ValueError("the answer holds more numbers than a check records")
        return plain
    raise ValueError("not a plain answer")


def _validate_array(plain: dict) -> None:
    shape, values, dtype, device = plain["shape"], plain["values"], plain["dtype"], plain["device"]
    if not (isinstance(dtype, str) and isinstance(device, str) and len(dtype) < 40 and len(device) < 40):
        raise ValueError("bad dtype or device")
    if not (isinstance(shape, list) and len(shape) <= 32
            and all(isinstance(n, int) and not isinstance(n, bool) and 0 <= n <= MAX_RECORDED_NUMBERS
                    for n in shape)):
        raise ValueError("bad shape")
    if values is None and device == "meta" and plain["type"] == "tensor":
        return
    if not isinstance(values, list) or len(values) > MAX_RECORDED_NUMBERS or len(values) != math.prod(shape):
        raise ValueError("values do not match the shape")
    if dtype == "bool":
        if not all(isinstance(v, bool) for v in values):
            raise ValueError("a bool tensor holds True or False")
    elif not all(is_number(v) for v in values):
        raise ValueError("values must be numbers")


# ---------------------------------------------------------------------------
# Describing plain values to people

def kind_of(plain: dict) -> str:
    """What a plain value is, in words a student knows: "a Python float", "a 0-dim tensor", ..."""
    kind = plain.get("type")
    if kind == "number":
        value = plain.get("value")
        return "a Python int" if isinstance(value, int) and not isinstance(value, bool) else "a Python float"
    if kind == "tensor":
        shape = plain.get("shape") or []
        where = f" on {plain.get('device')}" if plain.get("device") not in ("cpu", None) else ""
        if not shape:
            return f"a 0-dim {plain.get('dtype')} tensor{where}"
        return f"a {plain.get('dtype')} tensor of shape {tuple(shape)}{where}"
    return {"none": "None", "bool": "a bool", "str": "a string", "list": "a list",
            "dict": "a dict", "array": "a NumPy array"}.get(kind, "an answer that cannot be read")


def show(plain: dict, limit: int = 6) -> str:
    """A short human reading of a plain value, e.g. ``96.0`` or ``[3.04, 4.68]``."""
    kind = plain.get("type")
    if kind == "none":
        return "None"
    if kind == "bool":
        return repr(plain["value"])
    if kind == "str":
        text = plain["value"]
        return repr(text if len(text) <= 80 else text[:77] + "...")
    if kind == "number":
        return fmt(plain["value"])
    if kind in ("tensor", "array"):
        values = plain["values"]
        if values is None:
            return f"a meta tensor of shape {tuple(plain['shape'])}"
        if not plain["shape"]:
            return fmt(values[0])
        shown = ", ".join(fmt(v) for v in values[:limit])
        more = ", …" if len(values) > limit else ""
        shape = "" if len(plain["shape"]) == 1 else f" of shape {tuple(plain['shape'])}"
        return f"[{shown}{more}]{shape}"
    if kind == "list":
        return "[" + ", ".join(show(item, limit) for item in plain["items"][:limit]) + \
            (", …" if len(plain["items"]) > limit else "") + "]"
    if kind == "dict":
        return "{" + ", ".join(f"{k[:40]!r}: {show(v, limit)}" for k, v in list(plain["items"].items())[:limit]) + \
            (", …" if len(plain["items"]) > limit else "") + "}"
    return "an answer that cannot be read"


def fmt(x: Any) -> str:
    """A number as a student reads it: 12.0, 0.398, 1e+30, nan; bools as True/False."""
    if isinstance(x, bool):
        return repr(x)
    if isinstance(x, int):
        text = str(x) if abs(x) < 10 ** 15 else f"{as_float(x):.6g}"
        return text
    if isinstance(x, str):
        return x
    if math.isfinite(x) and x == int(x) and abs(x) < 1e15:
        return f"{x:.1f}"
    return f"{x:.6g}"
