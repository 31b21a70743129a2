"""Lecture 5's torch.export cell (skipped in a normal run, as it is slow to load) works when asked for."""

import os

import nbformat
import pytest

from conftest import REPO

pytestmark = pytest.mark.notebook  # loads torch.export: seconds


def test_export_cell_exports_the_notes_mlp_and_agrees_with_it():
    import torch
    from torch import nn

    cells = nbformat.read(REPO / "notebooks/05_mlp_training.ipynb", as_version=4).cells
    source = next(cell.source for cell in cells if "def export_mlp" in cell.source)
    namespace = {"torch": torch, "nn": nn, "os": os, "device": torch.device("cpu")}
    exec(source.split("\n\nif RUN_EXPORT:")[0], namespace)
    torch.manual_seed(0)
    mlp = nn.Sequential(nn.Linear(1, 20), nn.ReLU(), nn.Linear(20, 20), nn.ReLU(), nn.Linear(20, 20), nn.ReLU(),
                        nn.Linear(20, 20), nn.ReLU(), nn.Linear(20, 1)).eval()
    program, operations = namespace["export_mlp"](mlp)
    # "the graph holds five aten.linear and four aten.relu calls, nothing else"
    assert sorted(operations) == sorted(["aten.linear.default"] * 5 + ["aten.relu.default"] * 4)
    X_new = torch.linspace(-10, 10, 7)[:, None]
    assert torch.allclose(program.module()(X_new), mlp(X_new))
