"""tools/build_site.py (`make site`) on two tiny notebooks: pages with outputs and figures, and an index.

The lectures themselves are executed by tests/test_notebooks.py; here only the
tool is checked, on notebooks that run in a second.
"""

from __future__ import annotations

import re
import subprocess
import sys

import nbformat

from conftest import REPO

PLOT_CELL = """\
import os

import matplotlib.pyplot as plt

print("working directory holds", open("numbers.txt").read(), "| threads:", os.environ["OMP_NUM_THREADS"])
plt.plot([0, 1, 2], [0, 1, 4])
plt.title("a tiny plot")
plt.show()"""


def _write_notebooks(folder):
    folder.mkdir()
    (folder / "numbers.txt").write_text("1 2 3")
    titled = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("Some words before the title.\n\n# Lecture 9 · A `tiny` plot\n\n## A section"),
        nbformat.v4.new_code_cell(PLOT_CELL),
    ])
    untitled = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    nbformat.write(titled, folder / "09_tiny_plot.ipynb")
    nbformat.write(untitled, folder / "10_no_heading.ipynb")


def test_site_has_a_page_per_notebook_and_an_index_of_titles(tmp_path):
    notebooks, site = tmp_path / "notebooks", tmp_path / "site"
    _write_notebooks(notebooks)

    subprocess.run([sys.executable, str(REPO / "tools" / "build_site.py"), "--notebooks", str(notebooks),
                    "--output", str(site), "--timeout", "120"], check=True, timeout=300, cwd=tmp_path)

    assert sorted(p.name for p in site.iterdir()) == ["09_tiny_plot.html", "10_no_heading.html", "index.html"]
    index = (site / "index.html").read_text()
    links = re.findall(r'<li><a href="([^"]+)">(.*?)</a></li>', index)
    assert links == [("09_tiny_plot.html", "Lecture 9 · A <code>tiny</code> plot"),
                     ("10_no_heading.html", "10_no_heading")]

    page = (site / "09_tiny_plot.html").read_text()
    assert "working directory holds 1 2 3 | threads: 1" in page, "run in the notebook's folder, one thread"
    figures = re.findall(r'<div class="jp-RenderedImage jp-OutputArea-output"[^>]*>\s*<img [^>]*src="data:image/png;base64,',
                         page)
    assert len(figures) == 1, "the figure is embedded in the page"
    assert "jp-Notebook" in page, "JupyterLab's look (the lab template)"
    assert re.search(r"<pre>\s*42\s*</pre>", (site / "10_no_heading.html").read_text())
