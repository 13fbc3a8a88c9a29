# Two commands a newcomer needs:  make demo   and   make test
VENV ?= .venv
PY := $(VENV)/bin/python
STAMP := $(VENV)/.vlgsim-installed
DEMO_OUT ?= runs/demo

.PHONY: setup demo test test-fast bench clean

setup: $(STAMP)

$(STAMP): pyproject.toml scripts/setup.sh scripts/setup_vulkan.sh scripts/setup_lerobot_venv.sh scripts/setup_mplib_venv.sh
	bash scripts/setup.sh
	touch $(STAMP)

demo: setup
	$(VENV)/bin/vlgsim eval --env RealVLG-Grasp-v0 --policy oracle --episodes 10 --workers 2 --seed 0 \
		--video-episodes 2 --out $(DEMO_OUT)
	@echo "Report: $(DEMO_OUT)/report.md  (JSON: $(DEMO_OUT)/report.json, videos: $(DEMO_OUT)/videos/)"

test: setup
	$(PY) -m pytest -q

test-fast: setup
	$(PY) -m pytest -q -m "not sim"

bench: setup
	$(PY) benchmarks/bench_realvlg_grasp.py

clean:
	rm -rf $(VENV) $(VENV)-lerobot $(VENV)-mplib runs .pytest_cache
