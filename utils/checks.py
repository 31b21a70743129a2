"""The checks behind every exercise: the student-facing API.

A test cell of an assignment reads::

    with exercise("2 · gradient of the MSE") as ex:
        ex.close("dL/db at w=1, b=0", lambda: mse_gradients(x, y, 1.0, 0.0)[1],
                 expected=-17.9,
                 mistakes={"summed instead of averaged (forgot the 1/N of the mean)":
                           lambda g: g * len(x)})

Every check takes two positional arguments that say *what* is compared: a
name, and a function of no arguments that computes the student's answer.
Everything the answer is judged against (``expected``, tolerances, bounds,
named ``mistakes``, the answer's ``kind``/``dtype``/``device``, a ``hint``)
is keyword-only. That split is the format's contract with the autograder:

- In a student's kernel (and under stock ``nbgrader autograde``) the checks
  judge on the spot, print one line per check, and raise when one fails, so
  the cell shows an error (with the failing lines) and nbgrader awards no
  points for it.
- Under the autograder (``COURSE_CHECK_RECORD=1``) the keyword arguments
  are stripped from the cell before it runs, and each check only publishes
  its answer as plain data (``utils.answers``). The grader judges those
  answers in its own process with ``judge`` (``utils.judge``), against the
  keyword values recorded from the instructor's notebook.

An answer that raises the stub's own ``NotImplementedError`` (from the answer
cell itself) is "not attempted yet", said in one line, not a traceback.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Callable
from typing import Any

from utils.answers import (MAX_RECORDED_NUMBERS, MAX_RECORDED_TEXT, RECORD_ENV_VAR, RECORD_MIME,
                           UnrecordableAnswer, show, to_plain, validate_plain)
from utils.judge import ANSWER_KINDS, CHECK_KINDS, METRICS, Verdict, default_tolerance, judge

__all__ = [
    "exercise", "by_hand", "inputs_seen", "Spy", "ChecksFailed", "NotAttempted", "UsedAutograd",
    "judge", "Verdict", "validate_plain", "to_plain", "show", "default_tolerance", "UnrecordableAnswer",
    "RECORD_MIME", "RECORD_ENV_VAR", "CHECK_KINDS", "ANSWER_KINDS", "METRICS",
    "MAX_RECORDED_NUMBERS", "MAX_RECORDED_TEXT",
]

# ---------------------------------------------------------------------------
# Running checks in a notebook.

class NotAttempted(Exception):
    """Every check of an exercise met the stub's ``NotImplementedError``."""

    def _render_traceback_(self) -> list[str]:  # IPython shows this instead of a traceback
        return [str(self)]


class ChecksFailed(AssertionError):
    """At least one check of an exercise failed; the message lists each failing check with what was
    expected, what was found and the likely mistake (nbgrader's Validate dialog shows it)."""

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


def _dtype_name(dtype: Any) -> str:
    """"float64" for torch.float64, numpy.float64 or the string itself."""
    return str(getattr(dtype, "name", None) if type(dtype).__module__.startswith("numpy") else dtype) \
        .replace("torch.", "")


def _device_type(device: Any) -> str:
    """"cuda" for torch.device("cuda:0"), "cuda:0" or "cuda"."""
    return str(getattr(device, "type", device)).split(":")[0]


def _plain_spec(spec: dict) -> dict:
    """The keyword arguments of a check in plain form; ``mistakes`` may map to
    functions of the expected value."""
    plain = {}
    expected = spec.get("expected")
    for key, value in spec.items():
        if key == "mistakes":
            plain[key] = {str(label): to_plain(wrong(expected) if callable(wrong) else wrong)
                          for label, wrong in (value or {}).items()}
        elif key in ("expected", "bound"):
            plain[key] = to_plain(value)
        elif key in ("rtol", "atol", "at_least"):
            plain[key] = float(value)
        elif key in ("hint",):
            plain[key] = str(value)
        elif key == "allow_infinite":
            plain[key] = bool(value)
        elif key == "kind":
            if value not in ANSWER_KINDS:
                raise TypeError(f"kind={value!r}: expected one of {', '.join(ANSWER_KINDS)}")
            plain[key] = value
        elif key == "metric":
            if value not in METRICS:
                raise TypeError(f"metric={value!r}: expected one of {', '.join(METRICS)}")
            plain[key] = value
        elif key == "dtype":
            plain[key] = _dtype_name(value)
        elif key == "device":
            plain[key] = _device_type(value)
        else:
            raise TypeError(f"unknown check argument {key!r}")
    return plain


def _raised_by_stub(error: BaseException) -> bool:
    """True when ``error`` was raised by a ``raise NotImplementedError`` line of a notebook cell
    (code run as ``__main__``), not from inside torch, ``utils`` or any other module."""
    import linecache
    tb = error.__traceback__
    if tb is None:
        return False
    while tb.tb_next is not None:
        tb = tb.tb_next
    frame = tb.tb_frame
    if frame.f_globals.get("__name__") != "__main__":
        return False
    line = linecache.getline(frame.f_code.co_filename, tb.tb_lineno, frame.f_globals).strip()
    return line.startswith("raise NotImplementedError")


MAX_FAILURE_LINES = 6      # failing checks listed in ChecksFailed's message
MAX_FAILURE_LINE = 300     # characters of each


class exercise:  # noqa: N801 -- read aloud as "with exercise(...)"
    """Group the checks of one exercise; used as ``with exercise("title") as ex:``.

    On leaving the block it prints one line per passed check, then raises
    ``ChecksFailed`` (whose message lists every failing check) if any failed,
    or ``NotAttempted`` if none was attempted, so stock nbgrader scores the
    cell. In the autograder's sandbox it only publishes each check's answer
    (``RECORD_MIME`` display data) and never raises.
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
              mistakes: dict[str, Any] | None = None, hint: str | None = None,
              kind: str | None = None, dtype: Any = None, device: Any = None) -> None:
        """The answer equals ``expected`` within tolerances (default: by the expected value's dtype).

        ``mistakes`` maps a plain-words description of a common mistake to the
        value that mistake produces (or a function of ``expected`` giving it).
        ``kind`` (one of ``ANSWER_KINDS``: "float", "int", "tensor0d", ...),
        ``dtype`` ("float64") and ``device`` ("cpu", "cuda", "meta") name what
        the answer must be, where the instructions say so.
        """
        self._check("close", what, answer, {"expected": expected, "mistakes": mistakes, "hint": hint,
                                            "rtol": rtol, "atol": atol, "kind": kind, "dtype": dtype,
                                            "device": device})

    def equal(self, what: str, answer: Callable[[], Any] | Any, *, expected: Any = None,
              mistakes: dict[str, Any] | None = None, hint: str | None = None,
              kind: str | None = None, dtype: Any = None, device: Any = None) -> None:
        """The answer is exactly ``expected`` (for integers, strings, labels, lists of them);
        ``kind``/``dtype``/``device`` as for ``close``."""
        self._check("equal", what, answer, {"expected": expected, "mistakes": mistakes, "hint": hint,
                                            "kind": kind, "dtype": dtype, "device": device})

    def below(self, what: str, answer: Callable[[], Any] | Any, *, bound: float | None = None,
              hint: str | None = None, allow_infinite: bool | None = None) -> None:
        """The answer is one finite number strictly below ``bound`` (e.g. a final loss);
        ``allow_infinite=True`` lets -inf pass. nan never does."""
        self._check("below", what, answer, {"bound": bound, "hint": hint, "allow_infinite": allow_infinite})

    def above(self, what: str, answer: Callable[[], Any] | Any, *, bound: float | None = None,
              hint: str | None = None, allow_infinite: bool | None = None) -> None:
        """The answer is one finite number strictly above ``bound`` (e.g. an F1 score);
        ``allow_infinite=True`` lets +inf pass. nan never does."""
        self._check("above", what, answer, {"bound": bound, "hint": hint, "allow_infinite": allow_infinite})

    def finite(self, what: str, answer: Callable[[], Any] | Any, *, hint: str | None = None) -> None:
        """The answer holds at least one number and every number is finite (no nan, no inf)."""
        self._check("finite", what, answer, {"hint": hint})

    def shape(self, what: str, answer: Callable[[], Any] | Any, *, expected: Any = None,
              hint: str | None = None, dtype: Any = None, device: Any = None) -> None:
        """The answer is a tensor or array of shape ``expected`` (and ``dtype``/``device`` if given)."""
        self._check("shape", what, answer, {"expected": list(expected) if expected is not None else None,
                                            "hint": hint, "dtype": dtype, "device": device})

    def metric(self, what: str, answer: Callable[[], Any] | Any, *, expected: Any = None,
               metric: str | None = None, at_least: float | None = None, hint: str | None = None) -> None:
        """The answered labels score at least ``at_least`` (default 0.9) on ``metric`` ("f1", the
        default; "accuracy", "precision", "recall") against the ``expected`` labels.

        ``expected`` is keyword-only, so under the autograder it never enters the
        student's process: labels only the grader holds. For graded bands, use
        several check cells, each with its own points and ``at_least``.
        """
        self._check("metric", what, answer, {"expected": expected, "metric": metric, "at_least": at_least,
                                             "hint": hint})

    # -- machinery --

    def _answer(self, answer) -> dict:
        try:
            value = answer() if callable(answer) else answer
        except NotImplementedError as error:
            if _raised_by_stub(error):
                return {"type": "not_attempted"}
            return {"type": "error", "error": f"NotImplementedError: {error}"[:MAX_RECORDED_TEXT]}
        except Exception as error:  # the student's code failed: report it, keep checking
            try:
                text = f"{type(error).__name__}: {error}"[:MAX_RECORDED_TEXT]
            except Exception:  # an exception whose str() raises
                text = type(error).__name__[:MAX_RECORDED_TEXT]
            found = {"type": "error", "error": text}
            if isinstance(error, UsedAutograd):
                found["mistake"] = "used autograd"
            return found
        try:
            return to_plain(value)
        except UnrecordableAnswer as error:
            return {"type": "error", "error": f"an answer that cannot be checked: {error}"}
        except Exception as error:  # an object that breaks while being read
            return {"type": "error", "error": f"an answer that cannot be checked ({type(error).__name__})"}

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

    def failure_message(self) -> str:
        """The failing checks, one short ✗ line each, as ``ChecksFailed`` carries them."""
        failed = [(w, v) for w, v in self.results if not v.passed]
        lines = [f"Exercise {self.title}: {len(failed)} of {len(self.results)} checks failed."]
        for what, verdict in failed[:MAX_FAILURE_LINES]:
            line = f"  ✗ {what}: {verdict.message}"
            lines.append(line if len(line) <= MAX_FAILURE_LINE else line[:MAX_FAILURE_LINE - 1] + "…")
        if len(failed) > MAX_FAILURE_LINES:
            lines.append(f"  … and {len(failed) - MAX_FAILURE_LINES} more.")
        return "\n".join(lines)

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
            if verdict.passed:
                print(f"  ✓ {what}: passed")
        if failed:
            sys.stdout.flush()
            raise ChecksFailed(self.failure_message())
        count = len(self.results)
        print(f"  All {count} checks passed." if count > 1 else "  The check passed.")
        return False


# ---------------------------------------------------------------------------
# Helpers that test cells use to compute answers.

_AUTOGRAD_REFUSAL = ("this exercise asks for the derivative worked out by hand, but your code used "
                     "autograd (backward, torch.autograd.grad, torch.autograd.functional or torch.func).")


class _AutogradRefused:
    """While active: autograd off, and every way into the autograd engine raises ``UsedAutograd``.

    ``backward()``, ``torch.autograd.grad``, ``torch.autograd.functional.*`` and
    the reverse-mode ``torch.func`` transforms all run the engine through
    ``_engine_run_backward``; forward-mode transforms (``torch.func.jvp``,
    ``jacfwd``, ``hessian``) make dual tensors. Both are replaced for the
    duration of the call, so a name the student imported earlier
    (``from torch.func import grad``) is caught too.
    """

    def __init__(self):
        self.used = False

    def _refuse(self, *args, **kwargs):
        self.used = True
        raise UsedAutograd(_AUTOGRAD_REFUSAL)

    def __enter__(self):
        import torch
        import torch.autograd.forward_ad as forward_ad
        import torch.autograd.graph as graph
        self._patched = [(torch.autograd, "_engine_run_backward"), (graph, "_engine_run_backward"),
                         (forward_ad, "make_dual")]
        self._saved = [getattr(module, name) for module, name in self._patched]
        for module, name in self._patched:
            setattr(module, name, self._refuse)
        self._no_grad = torch.no_grad()
        self._no_grad.__enter__()
        return self

    def __exit__(self, *exc):
        self._no_grad.__exit__(*exc)
        for (module, name), original in zip(self._patched, self._saved):
            setattr(module, name, original)
        return False


def by_hand(function: Callable) -> Callable:
    """Wrap ``function`` so it runs with autograd switched off and refused.

    For exercises that ask for a derivative worked out by hand: an answer
    that calls ``backward()``, ``torch.autograd.grad``, a
    ``torch.autograd.functional`` function or a ``torch.func`` transform
    fails with a clear ``UsedAutograd`` error (the named mistake "used
    autograd"), even if it catches that error and carries on.
    """
    def run_without_autograd(*args, **kwargs):
        with _AutogradRefused() as guard:
            try:
                result = function(*args, **kwargs)
            except RuntimeError as error:
                if guard.used or "does not require grad" in str(error):
                    raise UsedAutograd(_AUTOGRAD_REFUSAL) from None
                raise
        if guard.used:
            raise UsedAutograd(_AUTOGRAD_REFUSAL)
        return result
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
