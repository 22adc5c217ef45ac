PYTHON ?= python3
VENV := .venv
BIN := $(VENV)/bin

BENCH_VENV := .venv-bench
BENCH_BIN := $(BENCH_VENV)/bin

.PHONY: demo test test-slow bench bench-reference fuzz lint clean

$(BIN)/activate:
	$(PYTHON) -m venv $(VENV)
	$(BIN)/python -m pip install --quiet --upgrade pip

$(VENV)/.installed-test: pyproject.toml $(BIN)/activate
	$(BIN)/python -m pip install --quiet -e ".[test]"
	touch $@

$(VENV)/.installed: pyproject.toml $(BIN)/activate
	$(BIN)/python -m pip install --quiet -e .
	touch $@

demo: $(VENV)/.installed
	$(BIN)/ionscale demo --out demo-output

test: $(VENV)/.installed-test
	$(BIN)/ruff check src tests benchmarks examples
	$(BIN)/python -m pytest

# The long physics checks (kMC correlation factors, calibration over replicas, ...).
test-slow: $(VENV)/.installed-test
	$(BIN)/python -m pytest -m slow

# The long fuzz run of every reader (issue 10): mutated copies of ../shared/data and of a demo.
fuzz: $(VENV)/.installed-test
	$(BIN)/ionscale demo --out demo-output --no-progress > /dev/null || true
	$(BIN)/python benchmarks/fuzz.py --n 20000 --seed 1 --demo demo-output --json fuzz-report.json

bench: $(VENV)/.installed-test
	$(BIN)/python benchmarks/bench_tracer.py
	$(BIN)/python benchmarks/bench_nmr.py

# Side-by-side benchmarks against the reference tools, in their own environment (the tools are
# never dependencies of ionscale): impedance.py, PoreSpy (+ OpenPNM for tortuosity_fd), TauFactor,
# scikit-learn and pystackreg (bench_imaging.py);
# pyDiffusion in a second one, as it needs NumPy 1 (it calls np.trapz, gone in NumPy 2.4). Set
# PYD_EXAMPLES to pyDiffusion's examples/data folder to add its Ni-Mo FSA example.
BENCH_PYD := .venv-bench-pyd
$(BENCH_VENV)/.installed: pyproject.toml
	$(PYTHON) -m venv $(BENCH_VENV)
	$(BENCH_BIN)/python -m pip install --quiet --upgrade pip
	$(BENCH_BIN)/python -m pip install --quiet -e . impedance porespy openpnm taufactor \
		scikit-learn pystackreg
	touch $@

$(BENCH_PYD)/.installed:
	$(PYTHON) -m venv $(BENCH_PYD)
	$(BENCH_PYD)/bin/python -m pip install --quiet --upgrade pip
	$(BENCH_PYD)/bin/python -m pip install --quiet "numpy<2" "pandas<2.3" "scipy<1.16" \
		"matplotlib<3.11" pydiffusion==0.2.3
	touch $@

bench-reference: $(BENCH_VENV)/.installed $(BENCH_PYD)/.installed
	OPENBLAS_NUM_THREADS=1 $(BENCH_BIN)/python benchmarks/bench_impedance.py --n 1000
	$(BENCH_BIN)/python benchmarks/bench_microstructure.py
	$(BENCH_BIN)/python benchmarks/bench_microstructure_large.py --size 512
	$(BENCH_BIN)/python benchmarks/bench_imaging.py --repeats 3
	$(BENCH_BIN)/python benchmarks/bench_interdiffusion.py

clean:
	rm -rf $(VENV) $(BENCH_VENV) $(BENCH_PYD) demo-output
