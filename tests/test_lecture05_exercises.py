"""Lecture 5's "your turn" exercises: the stub reads as not attempted, the solution passes, wrong answers are named."""

import textwrap

import pytest

from lecture_exercise_cells import lecture_exercises, run_checks
from utils.checks import ChecksFailed

LECTURE = "notebooks/05_mlp_training.ipynb"

WRONG = {
    0: [("last against first", """
def diagnose(train_losses, val_losses):
    if val_losses[-1] > 1.5 * val_losses[0] and train_losses[-1] < train_losses[0]:
        return "overfitting"
    return "underfitting" if train_losses[-1] > 0.5 else "fine"
""", "not the lowest"),
        ("underfitting tested first", """
def diagnose(train_losses, val_losses):
    if train_losses[-1] > 0.5:
        return "underfitting"
    if val_losses[-1] > 1.5 * min(val_losses):
        return "overfitting"
    return "fine"
""", "tested underfitting first"),
        ("any gap is overfitting", """
def diagnose(train_losses, val_losses):
    if train_losses[-1] > 0.5:
        return "underfitting"
    return "overfitting" if val_losses[-1] > train_losses[-1] else "fine"
""", "any difference")],
    1: [("xavier", """
def relu_weight_std(fan_in):
    return math.sqrt(1 / fan_in)
""", "forgot that the ReLU halves"),
        ("variance", """
def relu_weight_std(fan_in):
    return 2 / fan_in
""", "not its square root")],
}


def test_two_exercises_each_with_a_solution():
    assert len(lecture_exercises(LECTURE)) >= 2


@pytest.mark.parametrize("index", [0, 1])
def test_untouched_stub_reads_not_attempted(index):
    printed = run_checks(lecture_exercises(LECTURE)[index])
    assert "not attempted yet" in printed


@pytest.mark.parametrize("index", [0, 1])
def test_solution_passes(index):
    exercise = lecture_exercises(LECTURE)[index]
    printed = run_checks(exercise, exercise.solution)
    assert "✗" not in printed and "checks passed" in printed


@pytest.mark.parametrize("index,name,source,mistake",
                         [(i, name, source, mistake) for i, cases in WRONG.items() for name, source, mistake in cases],
                         ids=[f"{i}-{name}" for i, cases in WRONG.items() for name, _, _ in cases])
def test_plausible_wrong_answer_is_caught_and_named(index, name, source, mistake):
    with pytest.raises(ChecksFailed) as failure:
        run_checks(lecture_exercises(LECTURE)[index], textwrap.dedent(source))
    if mistake is not None:  # None: the check fails without naming a mistake (e.g. nan from an overflow)
        assert "Likely mistake" in failure.value.printed and mistake in failure.value.printed
