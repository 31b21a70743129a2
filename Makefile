# Two commands on a fresh machine:
#   make lab    set everything up and open the course in JupyterLab
#   make test   set everything up and run every test
# Everything installs into .venv; nothing outside this folder is touched.

PYTHON ?= python3
VENV   ?= .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed
PORT   ?= 8888
# JupyterLab refuses root unless told; containers and CI often run as root.
ROOT_FLAG := $(if $(filter 0,$(shell id -u)),--allow-root,)
# Fixed CPU build of torch: the only torch spec that installs from the
# local wheel instead of downloading gigabytes of CUDA packages.
TORCH  := torch==2.13.0
# Debian packages: bubblewrap sandboxes student code during grading,
# chromium runs the browser test. Installed once, when missing.
SYSTEM_PACKAGES := bubblewrap chromium
SYSTEM_STAMP    := $(VENV)/.system-packages

.PHONY: install lab test test-fast release grade bench notebooks site clean

install: $(STAMP) $(SYSTEM_STAMP)

$(SYSTEM_STAMP):
	@missing=""; for cmd in bwrap chromium; do command -v $$cmd >/dev/null || missing=yes; done; \
	if [ -n "$$missing" ]; then \
	  sudo=$$([ "$$(id -u)" = 0 ] || echo sudo); \
	  $$sudo apt-get install -y -q $(SYSTEM_PACKAGES) || \
	  { $$sudo apt-get update -q && $$sudo apt-get install -y -q $(SYSTEM_PACKAGES); }; \
	fi
	@mkdir -p $(VENV) && touch $(SYSTEM_STAMP)

$(STAMP): pyproject.toml
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet $(TORCH)
	$(BIN)/python -m pip install --quiet -e '.[dev]'
	touch $(STAMP)

lab: install
	$(BIN)/jupyter lab $(ROOT_FLAG) --ServerApp.root_dir=. --port=$(PORT) notebooks/01_manual_gradients.ipynb

test: install
	$(BIN)/python -m pytest -n 2 --dist loadgroup

test-fast: install  ## everything except whole-notebook runs
	$(BIN)/python -m pytest -m "not notebook"

release: install  ## regenerate release/ from source/ with nbgrader
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/autograder release

grade: install  ## grade submitted/ (ASSIGNMENT=name for one); with nothing submitted, the demo batch
	@if [ -n "$$(ls -A submitted 2>/dev/null)" ]; then \
	  PATH=$(abspath $(BIN)):$$PATH $(BIN)/autograder grade $(ASSIGNMENT); \
	else \
	  echo "submitted/ is empty: grading the bundled demo batch instead."; \
	  PATH=$(abspath $(BIN)):$$PATH $(BIN)/autograder demo; \
	fi

site: install  ## every lecture executed and rendered to HTML in site/ (index.html lists them)
	$(BIN)/python tools/build_site.py

bench: install  ## time autograder grade against stock nbgrader autograde on a synthetic batch
	PATH=$(abspath $(BIN)):$$PATH $(BIN)/python benchmarks/grading.py $(BENCH_ARGS)

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
