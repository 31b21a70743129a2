"""Lecture 6's "your turn" exercises: the stub reads as not attempted, the solution passes, wrong answers are named."""

import textwrap

import pytest

from lecture_exercise_cells import lecture_exercises, run_checks
from utils.checks import ChecksFailed

LECTURE = "notebooks/06_will_i_pass.ipynb"

WRONG = {
    0: [("double softmax", """
def cross_entropy_from_logits(logits, targets):
    probs = torch.softmax(logits, dim=1)
    log_probs = probs - torch.logsumexp(probs, dim=1, keepdim=True)
    return -log_probs[torch.arange(len(targets)), targets].mean()
""", "double softmax"),
        ("summed", """
def cross_entropy_from_logits(logits, targets):
    log_probs = logits - torch.logsumexp(logits, dim=1, keepdim=True)
    return -log_probs[torch.arange(len(targets)), targets].sum()
""", "summed over students"),
        ("unstable", """
def cross_entropy_from_logits(logits, targets):
    probs = torch.exp(logits) / torch.exp(logits).sum(dim=1, keepdim=True)
    return -torch.log(probs[torch.arange(len(targets)), targets]).mean()
""", None)],
    1: [("other class", """
def f1_for(y_true, y_pred, positive):
    other = 1 - positive
    tp = ((y_pred == other) & (y_true == other)).sum().item()
    fp = ((y_pred == other) & (y_true != other)).sum().item()
    fn = ((y_pred != other) & (y_true == other)).sum().item()
    return 2 * tp / (2 * tp + fp + fn) if tp else 0.0
""", "other (majority) class"),
        ("accuracy", """
def f1_for(y_true, y_pred, positive):
    return (y_true == y_pred).float().mean().item()
""", "returned the accuracy"),
        ("precision", """
def f1_for(y_true, y_pred, positive):
    tp = ((y_pred == positive) & (y_true == positive)).sum().item()
    return tp / max(1, (y_pred == positive).sum().item())
""", "returned the precision")],
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
