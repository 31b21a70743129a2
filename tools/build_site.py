"""Build site/: every lecture executed and rendered to HTML, so a student can read one without running it.

    python tools/build_site.py                      # what `make site` runs
    python tools/build_site.py --notebooks DIR --output DIR

Each ``*.ipynb`` in the notebooks folder runs top to bottom in a fresh kernel
(working directory: that folder; one thread, ``OMP_NUM_THREADS=1``, like the
tests), and becomes ``<name>.html`` in JupyterLab's look, its figures embedded
in the page, titled by its first heading, with a link back to the index.
``index.html`` lists the lectures by title. A lecture that raises stops the build.

The site works offline: MathJax is copied next to the pages from the
``jupyter-server-mathjax`` package (a dependency of the course) into
``site/mathjax/``, and no page loads a script or style sheet from elsewhere.
Progress bars, written as a run of carriage-return updates, are kept as the
one line a terminal would show at the end.
"""

from __future__ import annotations

import argparse
import html
import os
import re
import shutil
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient
from nbconvert import HTMLExporter

REPO = Path(__file__).resolve().parent.parent
SITE_TITLE = "Gradient descent, autograd and SGD in PyTorch"
SINGLE_THREAD = {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1", "OPENBLAS_NUM_THREADS": "1"}
HEADING = re.compile(r"^#{1,6}\s+(.+?)\s*#*\s*$", re.MULTILINE)
TEMPLATE = Path(__file__).resolve().parent / "site_template" / "lecture.html.j2"
MATHJAX_FOLDER = "mathjax"
MATHJAX_URL = f"{MATHJAX_FOLDER}/MathJax.js?config=TeX-AMS-MML_HTMLorMML-full,Safe"
PROGRESS_BAR = re.compile(r"\d+%\|")


def mathjax_files() -> Path:
    """MathJax 2's files as the ``jupyter-server-mathjax`` package installs them."""
    import jupyter_server_mathjax

    return Path(jupyter_server_mathjax.__file__).parent / "static"


def copy_mathjax(output: Path) -> Path:
    """``output/mathjax/``: the MathJax files the pages load (copied once)."""
    target = output / MATHJAX_FOLDER
    if not (target / "MathJax.js").exists():
        shutil.copytree(mathjax_files(), target, dirs_exist_ok=True)
    return target


def settle_progress(notebook: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Each cell's streams as a terminal would leave them: nbconvert's CoalesceStreamsPreprocessor
    joins a cell's consecutive stream messages and keeps only the last state of a line rewritten
    with carriage returns (a progress bar's updates); then a stderr stream that holds only
    progress bars becomes ordinary output, so the page does not show it as an error."""
    from nbconvert.preprocessors import CoalesceStreamsPreprocessor

    notebook, _ = CoalesceStreamsPreprocessor().preprocess(notebook, {})
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            shown = [line for line in output.get("text", "").splitlines() if line.strip()]
            if output.get("name") == "stderr" and shown and all(PROGRESS_BAR.search(line) for line in shown):
                output.name = "stdout"
    return notebook


def lecture_title(notebook: nbformat.NotebookNode, fallback: str) -> str:
    """The text of the first markdown heading, e.g. "Lecture 1 · Gradients three ways"; ``fallback`` if none."""
    for cell in notebook.cells:
        if cell.cell_type == "markdown":
            match = HEADING.search(cell.source)
            if match:
                return match.group(1)
    return fallback


def execute(notebook: nbformat.NotebookNode, folder: Path, timeout: int) -> nbformat.NotebookNode:
    """Run every cell in a fresh kernel whose working directory is ``folder``; the outputs land in ``notebook``."""
    client = NotebookClient(notebook, timeout=timeout, kernel_name="python3",
                            resources={"metadata": {"path": str(folder)}}, shutdown_kernel="immediate")
    env = {key: value for key, value in os.environ.items() if key != "COURSE_CHECK_RECORD"}
    client.execute(env={**env, **SINGLE_THREAD, "COURSE_PLAIN_PROGRESS": "1"})  # a static page draws no widget
    return notebook


def render(notebook: nbformat.NotebookNode, title: str | None = None) -> str:
    """One HTML page in JupyterLab's style, titled ``title``; figures are inline data, not separate
    files; MathJax from ``mathjax/`` beside the page; a link back to ``index.html``."""
    exporter = HTMLExporter(template_name="lab", template_file=str(TEMPLATE), embed_images=True,
                            mathjax_url=MATHJAX_URL)
    notebook = settle_progress(nbformat.from_dict(notebook))
    if title:
        notebook.metadata["title"] = title
    body, _ = exporter.from_notebook_node(notebook)
    return body


def index_page(lectures: list[tuple[str, str]]) -> str:
    """The contents page: ``lectures`` is a list of (file name of the page, title)."""
    items = "\n".join(f'      <li><a href="{html.escape(page)}">{_inline_code(html.escape(title))}</a></li>'
                      for page, title in lectures)
    return f"""<!DOCTYPE html>
<html lang="en">
  <head>
    <meta charset="utf-8">
    <title>{html.escape(SITE_TITLE)}</title>
    <style>
      body {{ font-family: system-ui, sans-serif; max-width: 46rem; margin: 3rem auto; padding: 0 1rem; line-height: 1.5; }}
      li {{ margin: 0.4rem 0; }}
    </style>
  </head>
  <body>
    <h1>{html.escape(SITE_TITLE)}</h1>
    <p>The lectures, run once from top to bottom, with every output and figure. Read them here;
    open the notebooks in JupyterLab to run and change them.</p>
    <ol>
{items}
    </ol>
  </body>
</html>
"""


def _inline_code(text: str) -> str:
    """Markdown's `code` spans as <code> elements (the only markup lecture titles use)."""
    return re.sub(r"`([^`]+)`", r"<code>\1</code>", text)


def build_site(notebooks: Path, output: Path, timeout: int = 600) -> list[Path]:
    """Execute and render every notebook in ``notebooks`` into ``output``; return the pages written, index last."""
    output.mkdir(parents=True, exist_ok=True)
    copy_mathjax(output)
    written, lectures = [], []
    for path in sorted(notebooks.glob("*.ipynb")):
        print(f"running {path.name}", flush=True)
        notebook = execute(nbformat.read(path, as_version=4), path.parent, timeout)
        page = output / f"{path.stem}.html"
        title = lecture_title(notebook, fallback=path.stem)
        page.write_text(render(notebook, title), encoding="utf-8")
        lectures.append((page.name, title))
        written.append(page)
    index = output / "index.html"
    index.write_text(index_page(lectures), encoding="utf-8")
    written.append(index)
    print(f"wrote {len(lectures)} lectures and {index}")
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--notebooks", type=Path, default=REPO / "notebooks", help="folder of .ipynb files")
    parser.add_argument("--output", type=Path, default=REPO / "site", help="folder for the HTML pages")
    parser.add_argument("--timeout", type=int, default=600, help="seconds one cell may run")
    args = parser.parse_args(argv)
    build_site(args.notebooks.resolve(), args.output.resolve(), args.timeout)
    return 0


if __name__ == "__main__":
    sys.exit(main())
