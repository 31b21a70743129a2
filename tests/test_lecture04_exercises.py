"""Lecture 4's "your turn" exercises: the stub reads as not attempted, the solution passes, wrong answers are named."""

import textwrap

import pytest

from lecture_exercise_cells import lecture_exercises, run_checks
from utils.checks import ChecksFailed

LECTURE = "notebooks/04_sgd_batching.ipynb"

WRONG = {
    0: [("rounded down", """
def steps_in_run(N, B, num_epochs, drop_last=False):
    return num_epochs * (N // B)
""", "rounded down"),
        ("ignores drop_last", """
def steps_in_run(N, B, num_epochs, drop_last=False):
    return num_epochs * math.ceil(N / B)
""", "kept the ragged batch")],
    1: [("previous epoch", """
def stopping_epochs(val_losses, patience, min_delta):
    previous, waited = math.inf, 0
    for epoch, loss in enumerate(val_losses, start=1):
        waited = 0 if previous - loss > min_delta else waited + 1
        if waited >= patience:
            return epoch, epoch
        previous = loss
    return len(val_losses), len(val_losses)
""", "not with the best so far"),
        ("not strict", """
def stopping_epochs(val_losses, patience, min_delta):
    best_loss, best_epoch = math.inf, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if best_loss - loss >= min_delta:
            best_loss, best_epoch = loss, epoch
        elif epoch - best_epoch >= patience:
            return epoch, best_epoch
    return len(val_losses), best_epoch
""", ">= min_delta"),
        ("one epoch late", """
def stopping_epochs(val_losses, patience, min_delta):
    best_loss, best_epoch = math.inf, 0
    for epoch, loss in enumerate(val_losses, start=1):
        if best_loss - loss > min_delta:
            best_loss, best_epoch = loss, epoch
        elif epoch - best_epoch > patience:
            return epoch, best_epoch
    return len(val_losses), best_epoch
""", "one epoch late")],
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
