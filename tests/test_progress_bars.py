"""tqdm.auto, lecture 5's progress bar, where no browser draws it: a headless notebook run and a plain script.

In JupyterLab the same bar is a widget (tests/test_browser.py). A headless
run records that widget: the notebook keeps a text rendering of the bar taken
when it appeared, and the widget's final state in its metadata.
"""

from __future__ import annotations

import subprocess
import sys

import nbformat

from conftest import run_notebook

PROGRESS_CELL = "from tqdm.auto import tqdm\n\nfor _ in tqdm(range(3)):\n    pass"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
WIDGET_STATE = "application/vnd.jupyter.widget-state+json"


def test_headless_notebook_keeps_a_text_bar_and_the_finished_widget(tmp_path):
    path = tmp_path / "progress_bar.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(PROGRESS_CELL)]), path)
    notebook = run_notebook(path, timeout=60)

    [output] = notebook.cells[0].outputs
    assert WIDGET_VIEW in output.data, "tqdm.auto picks the widget bar in a kernel with ipywidgets"
    text = output.data["text/plain"]
    assert "|" in text and "0/3" in text, f"the text form of the bar, as it was when it appeared: {text!r}"

    models = notebook.metadata.widgets[WIDGET_STATE]["state"].values()
    [bar] = [model["state"] for model in models if model["model_name"] == "FloatProgressModel"]
    assert bar["value"] == bar["max"] == 3
    labels = [model["state"]["value"] for model in models if model["model_name"] == "HTMLModel"]
    assert "100%" in labels and any(label.strip().startswith("3/3") for label in labels), labels


def test_outside_a_kernel_the_bar_is_plain_text():
    script = PROGRESS_CELL.replace("pass", "pass\nprint('done')")
    result = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert result.stdout == "done\n"
    final_bar = result.stderr.split("\r")[-1]
    assert "100%" in final_bar and "3/3" in final_bar, result.stderr
