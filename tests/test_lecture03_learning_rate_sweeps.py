"""Lecture 3 reproduces the learning-rate sweep of the lecture notes and its stability bound,
and every number its text quotes."""

import pytest

import nbformat

from conftest import REPO, figure_count, number_after, run_notebook
from lecture_exercises import exercise_names, run_exercises

pytestmark = [pytest.mark.notebook, pytest.mark.xdist_group("03_learning_rate_sweeps")]
LECTURE = "notebooks/03_learning_rate_sweeps.ipynb"


def _line(text, prefix):
    return text.split(prefix)[1].split("\n")[0]


def test_least_squares_target(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "least squares: w*") == pytest.approx(3.0, abs=0.01)
    assert number_after(text, "least squares: w* 2.9997, b*") == pytest.approx(0.0385, abs=1e-3)
    assert number_after(text, ", loss") == pytest.approx(1.0495, abs=1e-3)


def test_sweep_matches_torch_optim(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "largest difference in (w, b)") < 1e-5
    assert number_after(text, "lr 0.001: after 100 epochs: loss") == pytest.approx(1.0880, abs=1e-3)


def test_the_six_rates_of_the_notes(notebook_text):
    text = notebook_text(LECTURE)
    converging = {"0.0005": 1.4093, "0.001": 1.0880, "0.005": 1.0752, "0.025": 1.0530, "0.028": 1.0520}
    for lr, loss in converging.items():
        assert number_after(text, f"lr {lr}: after 100 epochs: loss") == pytest.approx(loss, abs=2e-3)
    assert number_after(text, "lr 0.03: after 100 epochs: loss") > 1000  # diverged


def test_zig_zagging_rates_end_closer(notebook_text):
    """'7 to 10 times closer to the best loss', 'about 3 times closer to the best line', across 10 data seeds."""
    text = notebook_text(LECTURE)
    assert number_after(text, "lr 0.025 ends") == pytest.approx(7.4, abs=0.1)
    assert number_after(text, "than lr 0.005, lr 0.028") == pytest.approx(10.0, abs=0.1)
    distance = {lr: number_after(_line(text, f"lr {lr}: after 100 epochs:"), "distance to the best line")
                for lr in ("0.005", "0.025", "0.028")}
    assert 2.5 < distance["0.005"] / distance["0.025"] < 3.5 and 2.5 < distance["0.005"] / distance["0.028"] < 3.5
    seeds = _line(text, "over 10 other data seeds, lr 0.025 ends")
    low, high = float(seeds.split(" to ")[0]), float(seeds.split(" to ")[1].split(" ")[0])
    assert 7.0 < low <= high < 8.0
    assert number_after(text, "than lr 0.005, lr 0.028 10.0 to") == pytest.approx(10.0, abs=0.5)
    assert number_after(text, "lr 0.001: after 30 steps w =") == pytest.approx(2.6, abs=0.05)
    assert number_after(text, "the first step lands at w =") == pytest.approx(4.9, abs=0.05)


def test_classification_and_its_threshold(notebook_text):
    """Verdicts, and 'any threshold between 0.4 % and 2.4 % sorts them the same way'."""
    text = notebook_text(LECTURE)
    verdicts = {"0.0005": "too slow", "0.001": "too slow", "0.005": "too slow",
                "0.025": "converged, zig-zagging", "0.028": "converged, zig-zagging", "0.03": "diverged"}
    for lr, verdict in verdicts.items():
        assert f"lr {lr}: {verdict} (" in text
    percent = {lr: number_after(text, f"lr {lr}: {verdicts[lr]} (L - L* =") for lr in verdicts}
    assert max(percent["0.025"], percent["0.028"]) < 0.4
    assert min(percent["0.0005"], percent["0.001"], percent["0.005"]) >= 2.4


def test_stability_bound_from_the_hessian(notebook_text):
    text = notebook_text(LECTURE)
    assert number_after(text, "lambda_max =") == pytest.approx(67.1738, abs=1e-3)
    assert number_after(text, "lambda_min =") == pytest.approx(0.4962, abs=1e-3)
    assert number_after(text, "condition number") == pytest.approx(135.4, abs=0.1)
    bound = number_after(text, "stability bound 2/lambda_max =")
    assert bound == pytest.approx(0.029774, abs=1e-5)
    assert 0.028 < bound < 0.03  # why 0.028 converges and 0.03 diverges
    assert number_after(text, "difference from autograd's Hessian:") < 1e-10
    first_diverging = number_after(text, "first diverging lr")
    last_stable = number_after(text, "last stable lr")
    assert last_stable < bound < first_diverging
    assert first_diverging - last_stable == pytest.approx(1e-4, abs=1e-6)


def test_best_fixed_rate_zig_zags(notebook_text):
    """'≈ 0.0296, twice the rate where the zig-zag begins', 'about 0.985', 'two thirds', 0.028 ahead at 1000 epochs."""
    text = notebook_text(LECTURE)
    best = number_after(text, "best fixed rate 2/(lambda_min + lambda_max) =")
    onset = number_after(text, "above 1/lambda_max =")
    assert best == pytest.approx(0.0296, abs=1e-4) and best > onset and best / onset == pytest.approx(2, abs=0.02)
    assert number_after(text, "its factor per step") == pytest.approx(0.985, abs=1e-3)
    assert 1 / (1 - number_after(text, "its factor per step")) == pytest.approx(68, abs=1)  # 'about 68 steps'
    assert number_after(text, "1 - lr*lambda_max =") == pytest.approx(-0.68, abs=0.01)
    after = {lr: number_after(_line(text, f"lr {lr}: L - L* after 100 epochs"), "after 1000 epochs")
             for lr in ("0.005", "0.025", "0.028", "0.02956")}
    assert after["0.028"] < after["0.02956"] and after["0.028"] < after["0.025"] < after["0.005"]
    for lr in ("0.005", "0.025", "0.028", "0.02956"):
        line = _line(text, f"lr {lr}: L - L* after 100 epochs")
        assert number_after(line, "it shrank by") == pytest.approx(number_after(line, "factor squared:"), abs=5e-4)
    shrink = {lr: number_after(_line(text, f"lr {lr}: L - L* after 100 epochs"), "it shrank by")
              for lr in ("0.025", "0.028", "0.02956")}
    assert shrink["0.02956"] < shrink["0.028"] < shrink["0.025"]  # the best rate shrinks the gap fastest


def test_centring_removes_the_valley(notebook_text):
    """'from 135 to 8.3, and standardising to 1'; 'within 0.02 after 20 steps'; 'still 15 away after 100'."""
    text = notebook_text(LECTURE)
    assert number_after(text, "centred: condition number") == pytest.approx(8.3, abs=0.05)
    assert number_after(text, "standardised: condition number") == pytest.approx(1.0, abs=1e-3)
    assert number_after(_line(text, "centred: condition number"), "after 20 epochs") < 0.02
    assert abs(number_after(_line(text, "standardised: condition number"), "after 20 epochs")) < 1e-12
    assert number_after(_line(text, "raw: condition number"), "after 100") == pytest.approx(15, abs=1)


def test_recipe_and_optimizers(notebook_text):
    """The recipe's 0.016; the optimizer paragraph's epochs, rates, effective step and RMSprop's leap."""
    text = notebook_text(LECTURE)
    assert number_after(text, "the recipe picks lr =") == pytest.approx(0.016, abs=1e-6)
    sgd = _line(text, "SGD: best lr")
    assert "not within 200 epochs" in sgd and number_after(sgd, "after 200 epochs") == pytest.approx(1.7e-3, rel=0.1)
    assert number_after(sgd, ", b") == pytest.approx(0.12, abs=0.01)
    reached = {name: number_after(_line(text, f"{name}: best lr"), "L* at epoch")
               for name in ("SGD + momentum 0.9", "Adagrad", "RMSprop", "Adam")}
    assert reached["SGD + momentum 0.9"] == 71 and min(reached.values()) == 71
    assert 86 <= min(reached["RMSprop"], reached["Adam"], reached["Adagrad"]) and max(reached.values()) <= 103
    rates = {name: number_after(text, f"{name}: best lr") for name in ("SGD", "SGD + momentum 0.9", "Adagrad", "RMSprop", "Adam")}
    assert rates["SGD + momentum 0.9"] == rates["SGD"] == pytest.approx(0.016)
    assert number_after(text, "momentum's long-run step lr/(1 - beta) =") == pytest.approx(10 * rates["SGD"])
    ratios = [rates[name] / rates["SGD"] for name in ("Adagrad", "RMSprop", "Adam")]
    assert min(ratios) == pytest.approx(64) and max(ratios) == pytest.approx(512)
    assert number_after(_line(text, "RMSprop: best lr"), "epochs 100 to 200:") == pytest.approx(250, rel=0.1)


def test_headless_slider_draws_the_static_figure():
    notebook = run_notebook(REPO / LECTURE)
    slider_cells = [cell for cell in notebook.cells if "slider_or_static(" in cell.source]
    assert len(slider_cells) == 1 and figure_count(notebook) >= 5
    assert any("image/png" in output.get("data", {}) for output in slider_cells[0].outputs)


def test_exercises_left_alone_do_not_stop_the_lecture(notebook_text):
    assert exercise_names(LECTURE) == ["stable-lr", "best-lr"]
    assert notebook_text(LECTURE).count("not attempted yet") == 2


WRONG = {
    "stable-lr": ("def largest_stable_lr(x):\n"
                  "    design = torch.cat([x, torch.ones_like(x)], dim=1).double()\n"
                  "    return 1 / torch.linalg.eigvalsh(2 / len(x) * design.T @ design)[-1].item()\n"),
    "best-lr": "def best_fixed_lr(lam_min, lam_max):\n    return 2 / lam_max\n",
}


def test_exercises_catch_a_wrong_answer_and_pass_the_solution():
    runs = run_exercises(LECTURE, WRONG)
    assert "1/lambda_max is where the zig-zag starts" in runs["stable-lr"].wrong
    assert "2/lambda_max is the edge of divergence" in runs["best-lr"].wrong
    for name, run in runs.items():
        assert "✗" in run.wrong, name
        assert "✗" not in run.solution and "passed" in run.solution, name


def test_wording_of_the_fixed_sentences():
    """No 'just right' for 0.005; momentum's step is not 'below' SGD's; adaptive methods rescale coordinates."""
    source = "\n".join(cell.source for cell in nbformat.read(REPO / LECTURE, as_version=4).cells)
    assert "just right" not in source and "The best fixed rate zig-zags" in source
    assert "*below* plain SGD" not in source and "ten times larger" in source
    assert "rescale each **coordinate**" in source
