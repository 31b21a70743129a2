"""utils.progress, the training loops' progress bar, where no browser draws it.

In JupyterLab it is a tqdm widget (tests/test_browser.py). Headless runs (the
tests, ``make site``, the grader) set ``COURSE_PLAIN_PROGRESS=1`` and get a
plain text bar; without that variable a headless kernel records the widget.
"""

from __future__ import annotations

import os
import subprocess
import sys

import nbformat
from nbclient import NotebookClient

from conftest import run_notebook

PROGRESS_CELL = "from utils.progress import progress\n\nfor _ in progress(range(3)):\n    pass"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def _notebook(tmp_path):
    path = tmp_path / "progress_bar.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROGRESS_CELL)]), path)
    return path


def test_headless_runs_print_a_plain_text_bar(tmp_path):
    assert os.environ["COURSE_PLAIN_PROGRESS"] == "1"  # set by conftest, as by make site and the grader
    notebook = run_notebook(_notebook(tmp_path), timeout=60)
    outputs = notebook.cells[0].outputs
    assert not any(WIDGET_VIEW in o.get("data", {}) for o in outputs)
    text = "".join(o.get("text", "") for o in outputs if o.output_type == "stream")
    final_bar = text.split("\r")[-1]
    assert "100%" in final_bar and "3/3" in final_bar, text


def test_without_the_variable_a_kernel_gets_the_widget(tmp_path):
    notebook = nbformat.read(_notebook(tmp_path), as_version=4)
    env = {key: value for key, value in os.environ.items() if key != "COURSE_PLAIN_PROGRESS"}
    NotebookClient(notebook, timeout=60, kernel_name="python3", shutdown_kernel="immediate").execute(env=env)

    [output] = notebook.cells[0].outputs
    assert WIDGET_VIEW in output.data, "tqdm.auto picks the widget bar in a kernel with ipywidgets"
    models = notebook.metadata.widgets[WIDGET_STATE]["state"].values()
    [bar] = [model["state"] for model in models if model["model_name"] == "FloatProgressModel"]
    assert bar["value"] == bar["max"] == 3
    labels = [model["state"]["value"] for model in models if model["model_name"] == "HTMLModel"]
    assert "100%" in labels and any(label.strip().startswith("3/3") for label in labels), labels


def test_outside_a_kernel_the_bar_is_plain_text():
    script = PROGRESS_CELL.replace("pass", "pass\nprint('done')")
    env = {key: value for key, value in os.environ.items() if key != "COURSE_PLAIN_PROGRESS"}
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60,
                            check=True, env=env)
    assert result.stdout == "done\n"
    final_bar = result.stderr.split("\r")[-1]
    assert "100%" in final_bar and "3/3" in final_bar, result.stderr
