# Two commands on a fresh machine:
#   make lab    set everything up and open the course in JupyterLab (Python packages only: no root, no apt)
#   make test   set everything up and run every test (also needs bubblewrap and chromium)
# Python packages install into .venv; nothing outside this folder is touched,
# except the Debian packages bubblewrap and chromium, which only grading and
# the tests need (tools/system_tools.sh installs them when it can, and says
# what is missing when it cannot).

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8888
LAB_ARGS ?=   # more options for jupyter lab, e.g. --no-browser
# JupyterLab refuses root unless told; containers and CI often run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# Fixed CPU build of torch: the only torch spec that installs from the
# local wheel instead of downloading gigabytes of CUDA packages.
TORCH  := torch==2.13.0
# The student's JupyterLab: nbgrader's instructor tools switched off (jupyter/README.md).
STUDENT_JUPYTER := JUPYTER_CONFIG_PATH=$(CURDIR)/jupyter/student
FIRST_LECTURE   := work/lectures/01_manual_gradients.ipynb

.PHONY: install system-tools lab lab-instructor work test test-fast release grade bench notebooks site clean

install: $(STAMP)  ## Python packages only: everything `make lab` needs

system-tools:  ## bubblewrap (grading sandbox) and chromium (browser tests)
	@sh tools/system_tools.sh bwrap chromium

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

work: install  ## your own copies of the lectures and assignments in work/ (never overwritten)
	$(BIN)/python tools/student_copies.py

lab: work  ## JupyterLab on your copies in work/, as a student sees it
	$(STUDENT_JUPYTER) $(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir=work --port=$(PORT) $(LAB_ARGS) $(FIRST_LECTURE)

lab-instructor: install  ## JupyterLab on the course root with every nbgrader tool (Formgrader, Create Assignment)
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir=. --port=$(PORT) $(LAB_ARGS)

test: install
	@sh tools/system_tools.sh bwrap chromium
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test-fast: install  ## everything except whole-notebook runs, servers and batch grading
	$(BIN)/python -m pytest -m "not notebook and not slow"

release: install  ## regenerate release/ from source/ with nbgrader
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/autograder release

grade: install  ## grade submitted/ (ASSIGNMENT=name for one); with nothing submitted, the demo batch
	@sh tools/system_tools.sh bwrap
	@if [ -n "$$(ls -A submitted 2>/dev/null)" ]; then \
	  PATH=$(abspath $(BIN)):$$PATH $(BIN)/autograder grade $(ASSIGNMENT); \
	else \
	  echo "submitted/ is empty: grading the bundled demo batch instead."; \
	  PATH=$(abspath $(BIN)):$$PATH $(BIN)/autograder demo; \
	fi

site: install  ## every lecture executed and rendered to HTML in site/ (index.html lists them)
	$(BIN)/python tools/build_site.py

bench: install  ## time autograder grade against stock nbgrader autograde, then through a loopback Dask cluster
	@sh tools/system_tools.sh bwrap
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python benchmarks/grading.py $(BENCH_ARGS)
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python benchmarks/cluster.py $(CLUSTER_BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
