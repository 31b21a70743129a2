"""utils.checks and the modules behind it: plain data, judging with honest diagnoses, the exercise
block, by_hand and the authoring lint."""

import json

import numpy as np
import pytest
import torch

from utils.checks import (ChecksFailed, NotAttempted, by_hand, exercise, inputs_seen, judge, show, to_plain,
                          validate_plain)


def spec(expected, **extra):
    plain = {"expected": to_plain(expected)}
    if "mistakes" in extra:
        plain["mistakes"] = {k: to_plain(v) for k, v in extra.pop("mistakes").items()}
    plain.update(extra)
    return plain


def test_plain_data_round_trips_through_json_and_validation():
    values = [torch.tensor([1.0, float("nan")]), np.arange(6).reshape(2, 3), 3, 2.5, True, "text", None,
              (torch.tensor(1.0), 2.0), {"lr": 0.1}, torch.Size([2, 3]), torch.tensor([1.0], dtype=torch.float16)]
    for value in values:
        plain = json.loads(json.dumps(to_plain(value), allow_nan=False))
        assert validate_plain(plain) == plain


def test_objects_that_are_not_plain_data_cannot_be_recorded():
    class AlwaysEqual:
        def __eq__(self, other):
            return True
    with pytest.raises(TypeError, match="can only compare"):
        to_plain(AlwaysEqual())


@pytest.mark.parametrize("junk", [
    {"type": "number", "value": "12"}, {"type": "tensor", "dtype": "float32", "device": "cpu", "shape": [3],
                                        "values": [1, 2]},
    {"type": "number", "value": 1, "extra": 2}, {"type": "object", "value": 1}, ["not", "a", "dict"],
    {"type": "list", "items": [{"type": "bool", "value": 1}]},
])
def test_validation_rejects_anything_else(junk):
    with pytest.raises(ValueError):
        validate_plain(junk)


def test_close_passes_within_tolerance_across_devices_and_dtypes():
    assert judge("close", to_plain(torch.tensor([1.0, 2.0])), spec(torch.tensor([1.0, 2.0 + 1e-7], dtype=torch.float64))).passed
    assert judge("close", to_plain(np.float32(96.0)), spec(96.0)).passed
    assert not judge("close", to_plain(96.1), spec(96.0)).passed


def test_close_names_a_known_mistake_first():
    verdict = judge("close", to_plain(-12.0), spec(-4.0, mistakes={"forgot the 1/N of the mean": -12.0}))
    assert not verdict.passed and verdict.mistake == "forgot the 1/N of the mean"
    assert "expected -4.0, found -12.0" in verdict.message


def test_close_diagnoses_scale_sign_shape_none_and_nan():
    assert "11× too large" in judge("close", to_plain(-112.2), spec(-10.2)).message
    assert "2× too small" in judge("close", to_plain(torch.tensor([1.0, 2.0])), spec([2.0, 4.0])).message
    assert judge("close", to_plain(-5.0), spec(5.0)).mistake == "sign flipped"
    assert judge("close", to_plain(torch.ones(3, 1)), spec(torch.ones(3))).mistake == "wrong shape"
    assert judge("close", to_plain(torch.ones(2, 3)), spec(torch.ones(3, 2) * 2)).mistake == "transposed"
    assert "forget the `return`" in judge("close", to_plain(None), spec(1.0)).message
    assert judge("close", to_plain(float("inf")), spec(1.0)).mistake == "not finite"


def test_other_kinds():
    assert judge("equal", to_plain(["slow", "diverged"]), spec(["slow", "diverged"])).passed
    assert not judge("equal", to_plain(3), spec(4)).passed
    assert judge("below", to_plain(0.05), {"bound": to_plain(0.1)}).passed
    assert not judge("above", to_plain(0.5), {"bound": to_plain(0.8)}).passed
    assert not judge("finite", to_plain([1.0, float("nan")]), {}).passed
    assert judge("shape", to_plain(torch.zeros(4, 2)), {"expected": to_plain([4, 2])}).passed


def test_not_attempted_and_errors_are_named():
    assert judge("close", {"type": "not_attempted"}, spec(1.0)).mistake == "not attempted"
    verdict = judge("close", {"type": "error", "error": "TypeError: bad"}, {**spec(1.0), "hint": "read the docstring"})
    assert "TypeError: bad" in verdict.message and "Hint: read the docstring" in verdict.message


def run_cell(source: str, **names) -> dict:
    """Run ``source`` as IPython runs a notebook cell: in ``__main__``, its lines in ``linecache``."""
    import linecache
    filename = f"<cell {len(linecache.cache)}-{hash(source)}>"
    linecache.cache[filename] = (len(source), None, source.splitlines(True), filename)
    namespace = {"__name__": "__main__", **names}
    exec(compile(source, filename, "exec"), namespace)
    return namespace


stub = run_cell("def stub():\n    raise NotImplementedError()\n")["stub"]  # as nbgrader writes it


def test_untouched_exercise_says_not_attempted_in_one_line():
    with pytest.raises(NotAttempted) as info:
        with exercise("9 · demo") as ex:
            ex.close("value", stub, expected=1.0)
            ex.close("other", lambda: stub(), expected=2.0)
    assert info.value._render_traceback_() == [str(info.value)]
    assert "not attempted yet" in str(info.value)


def test_failing_exercise_raises_with_expected_found_and_mistake(capsys):
    """nbgrader's Validate dialog shows the exception's message: it carries the ✗ lines."""
    with pytest.raises(ChecksFailed) as info:
        with exercise("9 · demo") as ex:
            ex.close("good", lambda: 1.0, expected=1.0)
            ex.close("bad", lambda: 3.0, expected=1.0, mistakes={"tripled it": lambda e: 3 * e})
    assert "✓ good: passed" in capsys.readouterr().out
    message = str(info.value)
    assert message.splitlines() == ["Exercise 9 · demo: 1 of 2 checks failed.",
                                    "  ✗ bad: expected 1.0, found 3.0. Likely mistake: tripled it."]
    assert info.value._render_traceback_() == [message]


def test_failure_message_stays_short():
    with pytest.raises(ChecksFailed) as info:
        with exercise("9 · demo") as ex:
            for i in range(10):
                ex.close(f"check {i}", lambda: list(range(100, 200)), expected=list(range(100)),
                         hint="x" * 400)
    lines = str(info.value).splitlines()
    assert len(lines) == 8 and lines[-1] == "  … and 4 more." and max(map(len, lines)) <= 300


def test_passing_exercise_says_so(capsys):
    with exercise("9 · demo") as ex:
        ex.close("good", lambda: torch.tensor(2.0), expected=2.0)
    assert "The check passed." in capsys.readouterr().out


def test_recording_mode_publishes_plain_answers_and_never_raises(monkeypatch, capsys):
    monkeypatch.setenv("COURSE_CHECK_RECORD", "1")
    with exercise("9 · demo") as ex:
        ex.close("answer", lambda: torch.tensor([1.0, 2.0]))
        ex.close("stub", stub)
    records = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert records[0]["found"]["values"] == [1.0, 2.0] and "spec" not in records[0]
    assert records[1]["found"] == {"type": "not_attempted"}


def test_by_hand_names_the_use_of_autograd():
    def with_autograd(x):
        w = torch.tensor(1.0, requires_grad=True)
        (w * x).backward()
        return w.grad
    with pytest.raises(RuntimeError, match="worked out by hand"):
        by_hand(with_autograd)(3.0)
    assert by_hand(lambda x: 2 * x)(3.0) == 6.0


def test_inputs_seen_lists_where_a_function_was_evaluated():
    assert inputs_seen(lambda f: f(1.0) + f(-1.0), abs) == [-1.0, 1.0]


def test_show_is_short():
    assert show(to_plain(torch.arange(10.0))) == "[0.0, 1.0, 2.0, 3.0, 4.0, 5.0, …]"
    assert show(to_plain(0.123456789)) == "0.123457"


# ---------------------------------------------------------------------------
# "Not attempted" only for the stub's own NotImplementedError

def test_not_implemented_from_a_library_or_other_line_is_an_error():
    def library_raises():
        raise NotImplementedError("meta tensors are not supported")  # this test module stands for torch
    namespace = run_cell("def attempted():\n    return library_raises()\n"
                         "def own_message():\n    x = 1\n    raise NotImplementedError('todo')\n",
                         library_raises=library_raises)
    with pytest.raises(ChecksFailed) as info:
        with exercise("9 · demo") as ex:
            ex.close("from a library", namespace["attempted"], expected=1.0)
            ex.close("stub", stub, expected=1.0)
    assert "your code raised NotImplementedError: meta tensors are not supported" in str(info.value)
    assert [v.mistake for _, v in ex.results] == ["raised an error", "not attempted"]
    with pytest.raises(NotAttempted):
        with exercise("9 · demo") as ex:
            ex.close("own stub with a message", namespace["own_message"], expected=1.0)


# ---------------------------------------------------------------------------
# kind=, dtype=, device=

@pytest.mark.parametrize("answer, kind, passes", [
    (2.0, "float", True), (torch.tensor(2.0), "float", False), (2, "float", False),
    (2, "int", True), (2.0, "int", False), (True, "int", False),
    (torch.tensor(2.0), "tensor0d", True), (torch.tensor([2.0]), "tensor0d", False), (2.0, "tensor0d", False),
    (torch.tensor([2.0]), "tensor", True), ([2.0], "tensor", False), (np.array([2.0]), "array", True),
    ([2.0], "list", True), ((2.0,), "list", True),
])
def test_kind_is_checked_before_the_value(answer, kind, passes):
    expected = [2.0] if kind in ("tensor", "array", "list") else 2.0
    verdict = judge("close", to_plain(answer), {**spec(expected), "kind": kind})
    assert verdict.passed is passes
    if not passes:
        assert verdict.mistake == "wrong type" and verdict.message.startswith("expected a")


def test_kind_message_reads_well():
    verdict = judge("close", to_plain(torch.tensor(2.0)), {**spec(2.0), "kind": "float"})
    assert verdict.message == "expected a Python float, found a 0-dim float32 tensor."


def test_dtype_and_device_are_exact_when_named():
    x64 = torch.tensor([1.0, 2.0], dtype=torch.float64)
    with exercise("9 · demo") as ex:
        ex.close("float64 kept", lambda: x64 * 1, expected=[1.0, 2.0], dtype=torch.float64, device="cpu")
        ex.equal("labels", lambda: torch.tensor([1, 0]), expected=torch.tensor([1, 0]), dtype="int64")
    verdict = judge("close", to_plain(x64.float()), {**spec([1.0, 2.0]), "dtype": "float64"})
    assert verdict.mistake == "wrong dtype" and verdict.message == "expected dtype float64, found float32."
    on_meta = to_plain(torch.empty(2, 3, device="meta"))
    assert on_meta["values"] is None and validate_plain(json.loads(json.dumps(on_meta))) == on_meta
    assert judge("shape", on_meta, {"expected": to_plain([2, 3]), "device": "meta"}).passed
    moved = judge("shape", to_plain(torch.empty(2, 3)), {"expected": to_plain([2, 3]), "device": "meta"})
    assert moved.mistake == "wrong device" and "found one on cpu" in moved.message
    both_meta = judge("close", on_meta, {"expected": to_plain(torch.empty(2, 3, device="meta"))})
    assert both_meta.passed
    assert judge("close", on_meta, spec(torch.ones(2, 3))).mistake == "wrong type"


def test_equal_says_when_only_the_type_is_wrong():
    verdict = judge("equal", to_plain(torch.tensor([1.0, 0.0])), spec(torch.tensor([1, 0])))
    assert verdict.mistake == "wrong type"
    assert verdict.message == ("the values are right, but expected a int64 tensor of shape (2,), "
                               "found a float32 tensor of shape (2,).")


# ---------------------------------------------------------------------------
# ex.metric: labels the grader holds

def test_metric_scores_labels_with_scikit_learn():
    from sklearn.metrics import f1_score
    truth = torch.tensor([1, 1, 0, 0, 1, 0, 1, 1, 0, 1])
    guess = torch.tensor([1, 0, 0, 0, 1, 1, 1, 1, 0, 1])
    f1 = f1_score(truth.numpy(), guess.numpy())
    assert judge("metric", to_plain(guess), {"expected": to_plain(truth), "metric": "f1", "at_least": f1}).passed
    below = judge("metric", to_plain(guess), {"expected": to_plain(truth), "metric": "f1", "at_least": 0.9})
    assert not below.passed and f"F1 {f1:.3f}" in below.message
    assert judge("metric", to_plain(guess.float()), {"expected": to_plain(truth), "metric": "accuracy",
                                                     "at_least": 0.8}).passed
    assert judge("metric", to_plain(guess.bool()), {"expected": to_plain(truth.float()), "at_least": 0.8}).passed
    probs = judge("metric", to_plain(torch.full((10,), 0.7)), {"expected": to_plain(truth)})
    assert probs.mistake == "not labels" and "0.7" in probs.message
    assert judge("metric", to_plain(guess[:9]), {"expected": to_plain(truth)}).mistake == "wrong shape"
    assert judge("metric", to_plain("yes"), {"expected": to_plain(truth)}).mistake == "wrong type"


def test_metric_in_a_notebook_block(capsys):
    with exercise("9 · demo") as ex:
        ex.metric("F1 on held-out students", lambda: [1, 0, 1, 1], expected=[1, 0, 1, 1], metric="f1",
                  at_least=0.9)
    with pytest.raises(TypeError, match="metric='auc'"):
        with exercise("9 · demo") as ex:
            ex.metric("AUC", lambda: [1], expected=[1], metric="auc")


# ---------------------------------------------------------------------------
# by_hand refuses every road into autograd

@pytest.mark.parametrize("use", [
    "backward", "autograd.grad", "func.grad", "func.grad imported earlier", "jacrev", "jacfwd", "hessian",
    "vjp", "jvp", "functional.jacobian", "functional.hvp", "caught and ignored",
])
def test_by_hand_refuses_autograd(use):
    from torch.func import grad as imported_grad
    square = lambda w: (w ** 2).sum()  # noqa: E731
    w0 = torch.tensor(2.0)

    def answer(x):
        w = w0.clone().requires_grad_(True)
        if use == "backward":
            with torch.enable_grad():
                square(w).backward()
            return w.grad
        if use == "caught and ignored":
            try:
                with torch.enable_grad():
                    square(w).backward()
            except Exception:
                pass
            return 2 * w0
        return {"autograd.grad": lambda: torch.autograd.grad(square(w), w),
                "func.grad": lambda: torch.func.grad(square)(w0),
                "func.grad imported earlier": lambda: imported_grad(square)(w0),
                "jacrev": lambda: torch.func.jacrev(square)(w0), "jacfwd": lambda: torch.func.jacfwd(square)(w0),
                "hessian": lambda: torch.func.hessian(square)(w0),
                "vjp": lambda: torch.func.vjp(square, w0)[1](torch.tensor(1.0)),
                "jvp": lambda: torch.func.jvp(square, (w0,), (torch.tensor(1.0),)),
                "functional.jacobian": lambda: torch.autograd.functional.jacobian(square, w0),
                "functional.hvp": lambda: torch.autograd.functional.hvp(square, w0, torch.tensor(1.0)),
                }[use]()
    with pytest.raises(ChecksFailed, match="worked out by hand"):
        with exercise("9 · demo") as ex:
            ex.close("gradient", lambda: by_hand(answer)(1.0), expected=4.0)
    assert ex.results[0][1].mistake == "used autograd"
    assert torch.func.grad(square)(w0) == 4.0  # autograd works again afterwards


# ---------------------------------------------------------------------------
# Honest diagnoses

def test_no_constant_factor_for_a_lone_number_unless_the_factor_is_clean():
    near = judge("close", to_plain(12.37), spec(12.01))
    assert near.mistake is None and "×" not in near.message and "relative difference" in near.message
    odd = judge("close", to_plain(17.3), spec(4.1))
    assert odd.mistake is None and "×" not in odd.message
    assert judge("close", to_plain(12.0), spec(4.0)).message.endswith(": 3× too large.")
    assert judge("close", to_plain(1.0), spec(4.0)).message.endswith(": 4× too small.")
    assert judge("close", to_plain(-8.0), spec(4.0)).message.endswith("the sign is flipped and it is 2× too large.")


def test_never_one_times_and_arrays_need_a_shared_ratio():
    close_array = judge("close", to_plain([1.003, 2.006, 3.009]), spec([1.0, 2.0, 3.0]))
    assert "1×" not in close_array.message and close_array.mistake is None
    scaled = judge("close", to_plain([1.5, 3.0, 4.5]), spec([1.0, 2.0, 3.0]))
    assert scaled.message.endswith("every number is 1.5× too large.") and scaled.mistake == "scaled by a constant"
    mixed = judge("close", to_plain([1.5, 3.0, 4.0]), spec([1.0, 2.0, 3.0]))
    assert mixed.mistake is None


def test_a_mistake_equal_to_the_expected_value_is_never_named():
    verdict = judge("close", to_plain(0.5), spec(0.0, mistakes={"summed instead of averaged": 0.0}))
    assert verdict.mistake is None


def test_lint_rejects_mistakes_that_cannot_be_told_apart():
    from utils.diagnose import lint_spec
    clean = spec(-4.0, mistakes={"summed": -12.0, "forgot the 2": -2.0})
    assert lint_spec("close", clean) == []
    bad = spec(0.0, mistakes={"summed": 0.0, "forgot the 2": 1.0, "doubled": 1.00001})
    assert lint_spec("close", bad) == ["the mistake 'summed' gives the expected value",
                                       "the mistakes 'forgot the 2' and 'doubled' give the same value"]
    assert lint_spec("equal", spec("slow", mistakes={"a": "slow"})) == ["the mistake 'a' gives the expected value"]


# ---------------------------------------------------------------------------
# The judge has no soft spots

def test_bounds_reject_nan_and_infinity_unless_allowed():
    bound = {"bound": to_plain(0.1)}
    assert judge("below", to_plain(float("-inf")), bound).mistake == "not finite"
    assert judge("below", to_plain(float("-inf")), {**bound, "allow_infinite": True}).passed
    assert judge("below", to_plain(float("nan")), {**bound, "allow_infinite": True}).mistake == "not finite"
    assert judge("above", to_plain(float("inf")), bound).mistake == "not finite"
    assert judge("below", to_plain(True), {"bound": to_plain(2.0)}).mistake == "wrong type"
    assert judge("below", to_plain(-(10 ** 400)), bound).mistake == "not finite"
    assert judge("below", to_plain(0.05), {"bound": to_plain(torch.tensor(0.1))}).passed


def test_finite_rejects_empty_answers_and_bools():
    assert judge("finite", to_plain([]), {}).mistake == "empty"
    assert judge("finite", to_plain(torch.zeros(0)), {}).mistake == "empty"
    assert judge("finite", to_plain(torch.tensor([True])), {}).mistake == "wrong type"


def test_low_precision_answers_do_not_widen_the_tolerance():
    expected = torch.tensor([1.0, 2.0, 3.1])
    half = to_plain(expected.to(torch.bfloat16))
    assert not judge("close", half, spec(expected)).passed
    assert judge("close", half, spec(expected.to(torch.bfloat16))).passed  # the exercise asks for bfloat16
    assert judge("close", half, {**spec(expected), "rtol": 1e-2}).passed


@pytest.mark.parametrize("found", [
    {"type": "number", "value": 10 ** 400}, {"type": "bool", "value": False}, {"type": "str", "value": "1.0"},
    {"type": "list", "items": [{"type": "number", "value": 1.0}] * 3}, [1, 2], None, 12, "nan",
    {"type": "number", "value": "nan"}, {"type": "list", "items": []},
    {"type": "dict", "items": {"a": {"type": "none"}}}, {"type": "error", "error": 5},
])
@pytest.mark.parametrize("kind", ["close", "equal", "below", "above", "finite", "shape", "metric"])
def test_any_answer_fails_one_check_with_a_message_and_never_raises(found, kind):
    specs = {"close": spec([1.0, 2.0]), "equal": spec([1.0, 2.0]), "below": {"bound": to_plain(1.0)},
             "above": {"bound": to_plain(1.0)}, "finite": {}, "shape": {"expected": to_plain([2])},
             "metric": {"expected": to_plain([1, 0])}}
    verdict = judge(kind, found, specs[kind])
    assert isinstance(verdict.message, str) and verdict.message
    assert verdict.mistake != "could not judge"
    finite_numbers = kind == "finite" and found == {"type": "list", "items": [{"type": "number", "value": 1.0}] * 3}
    assert verdict.passed is finite_numbers


def test_answers_are_recorded_within_bounds():
    import utils.answers as answers
    deep = [1.0]
    for _ in range(20):
        deep = [deep]
    with pytest.raises(TypeError, match="nested too deeply"):
        to_plain(deep)
    with pytest.raises(TypeError, match="more than"):
        to_plain([torch.zeros(60_000), torch.zeros(60_000)])
    with pytest.raises(ValueError):
        validate_plain({"type": "list", "items": [to_plain(torch.zeros(60_000))] * 2})
    assert to_plain(10 ** 400)["value"] == 10 ** 400
    assert answers.fmt(10 ** 400) == "inf"


def test_recorded_answers_from_hostile_objects_become_errors():
    class Liar(torch.Tensor):
        def tolist(self):
            raise RuntimeError("no")

    class Loud(float):
        def __eq__(self, other):
            return True
    with exercise("9 · demo") as ex:
        ex.close("float subclass is recorded by value", lambda: Loud(3.0), expected=3.0)
    plain = ex._answer(lambda: Loud(2.0))
    assert plain == {"type": "number", "value": 2.0}
    broken = ex._answer(lambda: torch.ones(2).as_subclass(Liar))
    assert broken["type"] in ("error", "tensor")


def test_used_autograd_survives_the_trip_through_the_grader():
    """The grader keeps only an error's text; the named mistake is read back from the error's name."""
    with exercise("9 · demo") as ex:
        found = ex._answer(lambda: by_hand(lambda: torch.func.grad(torch.sin)(torch.tensor(1.0)))())
    text_only = {"type": "error", "error": found["error"]}
    assert judge("close", text_only, spec(1.0)).mistake == "used autograd"
    forged = {"type": "error", "error": "ValueError: x", "mistake": "not attempted"}
    assert judge("close", forged, spec(1.0)).mistake == "raised an error"


def test_instructor_records_carry_the_new_keywords_and_strip_removes_them(monkeypatch, capsys):
    from autograder.strip import strip_expectations
    monkeypatch.setenv("COURSE_CHECK_RECORD", "1")
    with exercise("9 · demo") as ex:
        ex.close("typed", lambda: 2.0, expected=2.0, kind="float", dtype=None, device=torch.device("cpu"))
        ex.metric("labels", lambda: [1, 0], expected=[1, 1], metric="accuracy", at_least=0.5)
    typed, labels = [json.loads(line) for line in capsys.readouterr().out.splitlines()]
    assert typed["spec"] == {"expected": to_plain(2.0), "kind": "float", "device": "cpu"}
    assert labels["spec"] == {"expected": to_plain([1, 1]), "metric": "accuracy", "at_least": 0.5}
    cell = 'with exercise("x") as ex:\n    ex.metric("labels", lambda: predict(X), expected=secret_labels(), at_least=0.9)\n'
    assert "secret_labels" not in strip_expectations(cell) and "predict(X)" in strip_expectations(cell)


def test_inputs_after_shows_what_a_call_did_to_its_inputs():
    from utils.checks import inputs_after
    x, v = torch.tensor([1.0, 2.0]), torch.tensor([0.5, 0.5])

    def in_place(x, v):
        v.mul_(0.9).add_(x)
        return x - v

    def pure(x, v):
        return x - (0.9 * v + x)
    assert judge("close", to_plain(inputs_after(pure, x, v)), spec([x, v])).passed
    assert not judge("close", to_plain(inputs_after(in_place, x, v)), spec([x, v])).passed
    assert v.tolist() == [0.5, 0.5]  # the originals were never handed out


def test_dtype_is_named_the_same_however_it_is_written():
    from utils.checks import _dtype_name
    assert {_dtype_name(d) for d in (torch.float64, np.float64, np.dtype("float64"), "float64")} == {"float64"}


def test_autograd_refusal_is_named_from_the_class_name_the_grader_keeps():
    """The grader keeps only an exception's class name; the named mistake must survive that."""
    from utils.judge import judge
    for text in ("UsedAutograd", "UsedAutograd: this exercise is done by hand"):
        verdict = judge("close", {"type": "error", "error": text}, {"expected": 1.0})
        assert not verdict.passed and verdict.mistake == "used autograd"
    assert judge("close", {"type": "error", "error": "ValueError"}, {"expected": 1.0}).mistake == "raised an error"
