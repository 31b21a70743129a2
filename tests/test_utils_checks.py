"""utils.checks: plain data, judging with diagnoses, and the exercise block."""

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


def stub():
    raise NotImplementedError()


def test_untouched_exercise_says_not_attempted_in_one_line():
    with pytest.raises(NotAttempted) as info:
        with exercise("9 · demo") as ex:
            ex.close("value", stub, expected=1.0)
            ex.close("other", lambda: stub(), expected=2.0)
    assert info.value._render_traceback_() == [str(info.value)]
    assert "not attempted yet" in str(info.value)


def test_failing_exercise_prints_expected_found_and_mistake(capsys):
    with pytest.raises(ChecksFailed):
        with exercise("9 · demo") as ex:
            ex.close("good", lambda: 1.0, expected=1.0)
            ex.close("bad", lambda: 3.0, expected=1.0, mistakes={"tripled it": lambda e: 3 * e})
    out = capsys.readouterr().out
    assert "✓ good: passed" in out
    assert "✗ bad: expected 1.0, found 3.0. Likely mistake: tripled it." in out


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
