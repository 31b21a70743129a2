"""tools/build_site.py (`make site`) on two tiny notebooks: pages with outputs and figures, and an index.

The lectures themselves are executed by tests/test_notebooks.py; here only the
tool is checked, on notebooks that run in a second.
"""

from __future__ import annotations

import re
import subprocess
import sys

import nbformat
import pytest

from conftest import REPO

PLOT_CELL = """\
import os

import matplotlib.pyplot as plt

print("working directory holds", open("numbers.txt").read(), "| threads:", os.environ["OMP_NUM_THREADS"])
plt.plot([0, 1, 2], [0, 1, 4])
plt.title("a tiny plot")
plt.show()"""


PROGRESS_CELL = """\
from utils.progress import progress

for _ in progress(range(40), desc="epochs", mininterval=0):
    pass"""

FORMULA = r"The loss is $L(w) = \frac{1}{N}\sum_i (w x_i - y_i)^2$."


def _write_notebooks(folder):
    folder.mkdir()
    (folder / "numbers.txt").write_text("1 2 3")
    titled = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell("Some words before the title.\n\n# Lecture 9 · A `tiny` plot\n\n## A section"),
        nbformat.v4.new_code_cell(PLOT_CELL),
        nbformat.v4.new_markdown_cell(FORMULA),
        nbformat.v4.new_code_cell(PROGRESS_CELL),
    ])
    untitled = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("print(6 * 7)")])
    nbformat.write(titled, folder / "09_tiny_plot.ipynb")
    nbformat.write(untitled, folder / "10_no_heading.ipynb")


@pytest.fixture(scope="module")
def built(tmp_path_factory):
    """The site of the two tiny notebooks, built once for the module."""
    folder = tmp_path_factory.mktemp("site-build")
    notebooks, site = folder / "notebooks", folder / "site"
    _write_notebooks(notebooks)
    subprocess.run([sys.executable, str(REPO / "tools" / "build_site.py"), "--notebooks", str(notebooks),
                    "--output", str(site), "--timeout", "120"], check=True, timeout=300, cwd=folder)
    return site


def test_site_has_a_page_per_notebook_and_an_index_of_titles(built):
    site = built

    assert sorted(p.name for p in site.iterdir()) == ["09_tiny_plot.html", "10_no_heading.html", "index.html",
                                                      "mathjax"]
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


def _remote_references(page: str) -> list[str]:
    """Every URL a script, style sheet, image or frame of ``page`` would fetch from another host."""
    sources = re.findall(r'<(?:script|img|iframe)\b[^>]*\bsrc\s*=\s*["\']?([^"\'\s>]+)', page, re.I)
    links = re.findall(r'<link\b[^>]*\bhref\s*=\s*["\']?([^"\'\s>]+)', page, re.I)
    imports = re.findall(r'@import\s+(?:url\()?["\']?([^"\')\s;]+)', page, re.I)
    return [url for url in sources + links + imports if re.match(r"(https?:)?//", url)]


def test_site_pages_work_offline_with_titles_index_links_and_settled_progress_bars(built):
    site = built

    for page in site.glob("*.html"):
        assert _remote_references(page.read_text()) == [], f"{page.name} loads something from the network"
    page = (site / "09_tiny_plot.html").read_text()
    mathjax = re.search(r'<script src="(mathjax/MathJax\.js[^"]*)"', page)
    assert mathjax and (site / "mathjax" / "MathJax.js").is_file(), "MathJax is served from site/mathjax/"
    assert (site / "mathjax" / "config" / "TeX-AMS-MML_HTMLorMML-full.js").is_file()
    assert "<title>Lecture 9 · A `tiny` plot</title>" in page
    assert "<title>10_no_heading</title>" in (site / "10_no_heading.html").read_text()
    assert all('href="index.html"' in p.read_text() for p in site.glob("[0-9]*.html"))
    bars = re.findall(r"epochs:[^<\n]*", page)
    assert len(bars) == 1 and "100%" in bars[0] and "40/40" in bars[0], bars
    assert "jp-OutputArea-output" in page and 'data-mime-type="application/vnd.jupyter.stderr"' not in page


def test_every_remote_reference_is_noticed():
    page = ('<script src="https://cdn.example/x.js"></script><link rel="stylesheet" href="//cdn.example/a.css">'
            '<script src="mathjax/MathJax.js"></script><style>@import url("https://f.example/f.css");</style>')
    assert _remote_references(page) == ["https://cdn.example/x.js", "//cdn.example/a.css", "https://f.example/f.css"]
