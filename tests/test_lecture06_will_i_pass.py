"""Lecture 6 reproduces the figures of the lecture notes, and every claim it makes about its classifiers."""

import math
import re

import pytest

from conftest import number_after

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("06_will_i_pass")]
LECTURE = "notebooks/06_will_i_pass.ipynb"


def lines_starting(text, start):
    return [line for line in text.splitlines() if line.startswith(start)]


def numbers(line):
    return [float(v) for v in re.findall(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?", line)]


def test_data_and_the_notes_probability(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "students:") == 400
    assert number_after(text, "passed:") == 267
    # the notes' example output, 98% pass, comes from the logit ln 49
    assert number_after(text, "logit +3.8918 -> probability") == pytest.approx(0.98, abs=1e-4)
    assert number_after(text, "logit +0.0000 -> probability") == 0.5


def test_three_bce_agree_then_only_logits_form_survives(notebook_text):
    text = notebook_text(LECTURE)
    by_hand = number_after(text, "by hand:")
    assert by_hand == pytest.approx(1.115714, abs=1e-5)
    assert number_after(text, "nn.BCELoss:") == pytest.approx(by_hand, abs=1e-5)
    assert number_after(text, "nn.BCEWithLogitsLoss:") == pytest.approx(by_hand, abs=1e-5)
    assert math.isinf(number_after(text, "logit 20, failed, by hand: loss"))
    assert math.isnan(number_after(text, "logit 20, failed, by hand: loss inf, grad"))
    assert number_after(text, "logit 20, failed, BCELoss: loss") == pytest.approx(100.0)
    assert number_after(text, "logit 20, failed, BCELoss: loss 100.0000, grad") == 0.0
    assert number_after(text, "logit 20, failed, BCEWithLogitsLoss: loss") == pytest.approx(20.0, abs=1e-4)
    assert number_after(text, "logit 20, failed, BCEWithLogitsLoss: loss 20.0000, grad") == pytest.approx(1.0)
    # "In float32, sigma(20) rounds to exactly 1": the hand-written loss is already inf below 20
    assert number_after(text, "the hand-written loss first becomes inf at logit") == pytest.approx(17.0)


def test_multiclass_cross_entropy_read_off_a_trained_model(notebook_text):
    text = notebook_text(LECTURE)
    assert "grades: fail 128, pass 134, distinction 138" in text
    assert number_after(text, "F.cross_entropy") == pytest.approx(number_after(text, "test cross-entropy by hand"), abs=1e-4)
    assert number_after(text, "test accuracy over 3 grades") > 0.85
    for line in lines_starting(text, "student "):
        probabilities_and_loss = line.split("probabilities")[1]
        values = numbers(probabilities_and_loss)
        grade = int(numbers(line)[1])
        assert values[-1] == pytest.approx(-math.log(max(values[grade], 1e-3)), abs=0.01)  # loss = -log p[grade]
    assert "Exercise 6.1 · cross-entropy from logits: not attempted yet" in text


def test_double_softmax_floor_and_detection(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "double-softmax floor with 2 classes:") == pytest.approx(math.log(1 + math.exp(-1)), abs=1e-4)
    assert number_after(text, "double-softmax floor with 3 classes:") == pytest.approx(math.log(1 + 2 * math.exp(-1)), abs=1e-4)
    assert number_after(text, "margin 20.0: cross_entropy(logits) 0.0000, cross_entropy(softmax(logits))") \
        == pytest.approx(0.3133, abs=1e-4)
    assert "logits look like probabilities: False" in text
    assert "softmax outputs look like probabilities: True" in text


def test_double_softmax_halves_right_gradients_and_starves_wrong_ones(notebook_text):
    """Confidently right: the gradient halves. Confidently wrong: about 1.4 against a hundred times smaller."""
    text = notebook_text(LECTURE)
    right = numbers(lines_starting(text, "confidently right:")[0])
    wrong = numbers(lines_starting(text, "confidently wrong:")[0])
    assert right[-1] == pytest.approx(2.0, abs=0.3)
    assert wrong[0] == pytest.approx(1.4, abs=0.05)
    assert 70 < wrong[-1] < 150


def test_a_model_trained_with_the_bug_lags_in_every_seed(notebook_text):
    text = notebook_text(LECTURE)
    rows = lines_starting(text, "seed ")
    rows = [row for row in rows if "double softmax" in row]
    assert len(rows) == 3
    for row in rows:
        _, _, right_loss, bug_loss, right_accuracy, bug_accuracy = numbers(row)
        assert 2.0 < bug_loss / right_loss < 3.6  # "about two to three times higher"
        assert bug_accuracy < right_accuracy
    low, high = numbers(lines_starting(text, "true cross-entropy with the bug is")[0])
    assert 2.0 < low <= high < 3.6


def test_early_stopping_restores_the_best_epoch(notebook_text):
    text = notebook_text(LECTURE)
    epochs_run = number_after(text, "stopped after")
    best_epoch = number_after(text, "best epoch")
    assert epochs_run - best_epoch == 10  # patience 10
    best_val = number_after(text, "best epoch " + str(int(best_epoch)) + ", validation loss")
    assert best_val < 0.45 and number_after(text, "validation loss in the last epoch") > best_val


def test_test_scores_and_f1_for_each_class(notebook_text):
    text = notebook_text(LECTURE)
    # seeds fixed (set_seed(0), split seed 1, loader seed 0): on the CPU F1 0.9483, accuracy 0.925
    assert number_after(text, "test F1") > 0.90
    assert number_after(text, "test accuracy") > 0.88
    majority_f1 = number_after(text, "test F1")
    minority_f1 = numbers(lines_starting(text, "class 'fail' (minority)")[0])[-1]
    assert minority_f1 < majority_f1  # "the minority class scores lower"
    assert number_after(text, "pass rate in train") == pytest.approx(0.667, abs=0.01)  # "two students in three pass"
    rule_wrong, _, model_wrong = numbers(lines_starting(text, "test students the rule gets wrong")[0])
    assert model_wrong - rule_wrong == 1  # "the model gets one student more wrong than the rule"
    assert "Exercise 6.2 · F1 for the rare class: not attempted yet" in text


def test_weighted_loss_on_seed_zero(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "imbalanced set:") == 96
    assert number_after(text, "pos_weight") == pytest.approx(3.0, abs=1e-4)
    plain, weighted = (lines_starting(text, f"{name}: accuracy")[0] for name in ("plain BCE", "weighted BCE"))
    # "finds more of the students who passed, loses no precision, and comes out ahead on F1"
    assert number_after(weighted, "recall") > number_after(plain, "recall")
    assert number_after(weighted, "precision") >= number_after(plain, "precision")
    assert number_after(weighted, "F1") > number_after(plain, "F1")


def test_weighted_loss_trades_precision_for_recall_across_seeds(notebook_text):
    text = notebook_text(LECTURE)
    higher, equal, lower = numbers(lines_starting(text, "recall: weighted higher in")[0])[:3]
    assert lower == 0 and higher + equal == 6
    higher_p, equal_p, lower_p = numbers(lines_starting(text, "precision: weighted higher in")[0])[:3]
    assert higher_p == 0 and lower_p > equal_p  # "lower in most seeds"
    wins = number_after(text, "F1: weighted wins")
    ties = number_after(text, "ties (within 0.01)")
    losses = number_after(text, "loses")
    assert wins + ties + losses == 6 and losses > wins  # "goes down more often than up"
