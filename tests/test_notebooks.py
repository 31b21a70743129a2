"""Every notebook in notebooks/ and source/ runs headless without an error, and is committed clean."""

from __future__ import annotations

import nbformat
import pytest

from conftest import REPO, figure_count, lecture_notebooks, printed_text, release_notebooks, run_notebook, source_notebooks


def _param(path):
    return pytest.param(path, id=str(path.relative_to(REPO)), marks=pytest.mark.xdist_group(path.stem))


@pytest.mark.notebook
@pytest.mark.parametrize("path", [_param(p) for p in lecture_notebooks()])
def test_lecture_runs_and_draws_figures(path):
    notebook = run_notebook(path)
    assert figure_count(notebook) >= 2, "a lecture shows its results in figures"


@pytest.mark.notebook
@pytest.mark.parametrize("path", [_param(p) for p in source_notebooks()])
def test_answered_assignment_passes_every_check(path):
    text = printed_text(run_notebook(path))
    assert "✗" not in text
    assert text.count("checks passed") + text.count("The check passed") >= 4


@pytest.mark.parametrize("path", [_param(p) for p in lecture_notebooks() + source_notebooks() + release_notebooks()])
def test_committed_without_outputs(path):
    notebook = nbformat.read(path, as_version=4)
    nbformat.validate(notebook)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            assert cell.outputs == [] and cell.execution_count is None, \
                f"{path.name}: clear outputs before committing (outputs belong to the reader's run)"
