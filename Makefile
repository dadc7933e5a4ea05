# The lab kit's commands. Only Python 3.11+ and make are needed: everything else goes into .venv.
PYTHON ?= python3
VENV   := .venv
BIN    := $(VENV)/bin
STAMP  := $(VENV)/.installed

.PHONY: venv venv-clients check lab rehearse test test-slow test-moto-next jupyter notebooks benchmarks workshop-venv workshop-test workshop-bench clean

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

# The client tools the tests also use (pyproject's `clients`), without their dependencies: see there.
venv-clients: venv
	$(BIN)/python -c "import tomllib; print(*tomllib.load(open('pyproject.toml', 'rb'))['project']['optional-dependencies']['clients'])" \
		| xargs $(BIN)/python -m pip install --quiet --no-deps

# Is this machine ready for the lab? (Python, packages, the Jupyter kernel, a local cloud that answers.)
check: venv
	$(BIN)/labkit doctor

# Run every notebook headless on the local cloud, then tear down; executed notebooks go to runs/.
lab: venv
	$(BIN)/labkit run

# The whole lab on a local cloud of its own that takes AWS's time (LABKIT_DELIVERY=realistic), every delay
# shrunk by TIME_SCALE (0.1: a 5-minute delivery takes 30 s); the notebooks wait as they do on AWS.
REHEARSE_HOME := $(CURDIR)/runs/rehearse-home
rehearse: venv
	rm -rf $(REHEARSE_HOME)
	LABKIT_HOME=$(REHEARSE_HOME) LABKIT_DELIVERY=realistic LABKIT_TIME_SCALE=$(or $(TIME_SCALE),0.1) \
		$(BIN)/labkit local start --detach
	LABKIT_HOME=$(REHEARSE_HOME) $(BIN)/labkit run; status=$$?; \
		LABKIT_HOME=$(REHEARSE_HOME) $(BIN)/labkit local stop; exit $$status

# Unit tests, conformance tests and notebook tests; then nbval over the committed notebooks, in a
# process of its own (moto's state is per process: the notebooks start from a fresh account).
test: venv venv-clients
	$(BIN)/python -m pytest tests
	$(BIN)/python -m pytest notebooks

# The slow suites (minutes each: grading whole labs with nbgrader); not part of make test.
test-slow: venv
	$(BIN)/python -m pytest tests -m slow

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

# A workshop's host (workshop/README.md). Its venv is made from a Python every learner may run (not one
# under /root), with labkit installed as a package (no checkout on learners' servers), JupyterHub, and the
# hub's proxy from npm. labkit is reinstalled each time: the venv runs this checkout's code.
WORKSHOP_PYTHON ?= /usr/bin/python3
WORKSHOP_VENV   := .venv-workshop

workshop-venv: workshop/node_modules/.bin/configurable-http-proxy
	test -x $(WORKSHOP_VENV)/bin/python || $(WORKSHOP_PYTHON) -m venv $(WORKSHOP_VENV)
	$(WORKSHOP_VENV)/bin/python -m pip install --quiet ".[workshop]"
	$(WORKSHOP_VENV)/bin/python -m pip install --quiet --no-deps --force-reinstall .

workshop/node_modules/.bin/configurable-http-proxy:
	npm install --prefix workshop --no-save --no-fund --no-audit configurable-http-proxy@5

# The hub for real, with four learners running the whole lab (as root: it makes Unix accounts). Not in `make test`.
workshop-test: workshop-venv
	$(WORKSHOP_VENV)/bin/python -m pytest workshop/tests -p no:cacheprovider

# N learners at once through the hub: green/red per learner, wall times, peak memory (USERS=2 by default).
workshop-bench: workshop-venv
	$(WORKSHOP_VENV)/bin/python benchmarks/workshop_hub.py --users $(or $(USERS),2)

clean:
	rm -rf $(VENV) .venv-moto-next $(WORKSHOP_VENV) workshop/node_modules runs .pytest_cache
