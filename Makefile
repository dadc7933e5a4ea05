# The lab kit's commands. Only Python 3.11+ and make are needed: everything else goes into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv check lab test test-moto-next jupyter notebooks benchmarks clean

venv: $(STAMP)

$(STAMP): pyproject.toml
	@echo "==> Making $(VENV) and installing the lab's packages into it (the first time: about 3 minutes)"
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip
	$(BIN)/python -m pip install --quiet -e ".[test]"  # the lab, and what its tests use
	@echo "==> Building matplotlib's font cache"
	$(BIN)/python -c "import matplotlib.pyplot"  # now, not in a notebook cell
	@echo "==> Ready: $(VENV)"
	touch $@

# Is this machine ready for the lab? (Python, packages, the Jupyter kernel, a local cloud that answers.)
check: venv
	$(BIN)/labkit doctor

# Run every notebook headless on the local cloud, then tear down; executed notebooks go to runs/.
lab: venv
	$(BIN)/labkit run

# Unit tests, conformance tests and notebook tests; then nbval over the committed notebooks, in a
# process of its own (moto's state is per process: the notebooks start from a fresh account).
test: venv
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest notebooks

# The unit tests against moto's next minor version, in .venv-moto-next (not part of CI).
test-moto-next:
	scripts/test-moto-next.sh

# Your own copy of the lab in work/ (git-ignored: the committed notebooks stay as they are), the local
# cloud in the background, and JupyterLab on work/. As root (a container, a cloud IDE) JupyterLab
# refuses to start without --allow-root.
jupyter: venv
	$(BIN)/labkit work
	$(BIN)/labkit local start --detach
	$(BIN)/jupyter lab work/ $(if $(filter 0,$(shell id -u)),--allow-root)

# Re-execute the notebooks in place on a fresh local cloud (the committed outputs nbval compares).
notebooks: venv
	$(BIN)/python -m labkit.refresh

benchmarks: venv
	for script in benchmarks/bench_*.py; do $(BIN)/python $$script || exit 1; done

clean:
	rm -rf $(VENV) .venv-moto-next runs .pytest_cache
