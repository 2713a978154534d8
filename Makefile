# dpg.cluster — `make lab` builds the lab, `make test` runs every test.
SHELL := /bin/bash
.SHELLFLAGS := -eu -o pipefail -c
.DEFAULT_GOAL := help

VENV ?= .venv
PYTHON ?= python3
LAB_DIR ?= $(CURDIR)/.lab
COLLECTIONS := $(CURDIR)/build/collections
# With DPG_CITUS_IMAGE (a Debian 13 image carrying Citus for PostgreSQL 17) the lab is sharded.
LAB_INVENTORY := $(if $(DPG_CITUS_IMAGE),inventories/lab_citus,inventories/lab)
export PATH := $(CURDIR)/$(VENV)/bin:$(PATH)
export ANSIBLE_COLLECTIONS_PATH := $(COLLECTIONS)
export ANSIBLE_CONFIG := $(CURDIR)/ansible.cfg
export DPG_LAB_DIR := $(LAB_DIR)
export PYTHONDONTWRITEBYTECODE := 1

.PHONY: help venv collection docker image lab lab-down test unit lint sanity integration build clean

help:
	@echo "make lab       build the lab (Docker engine, node image, containers, site.yml) and print its endpoints"
	@echo "make lab-down  remove the lab's containers and network"
	@echo "make test      unit tests, ansible-lint, ansible-test sanity, molecule scenarios (pytest summary last)"
	@echo "make build     build the collection tarball"

$(VENV)/.installed: requirements-dev.txt
	$(PYTHON) -m venv $(VENV)
	$(VENV)/bin/pip install -q --upgrade pip
	$(VENV)/bin/pip install -q -r requirements-dev.txt
	touch $@

venv: $(VENV)/.installed

# Make the checkout importable as the dpg.cluster collection.
collection:
	@mkdir -p $(COLLECTIONS)/ansible_collections/dpg
	@ln -sfn $(CURDIR) $(COLLECTIONS)/ansible_collections/dpg/cluster

docker:
	@bash lab/ensure-docker.sh

image: docker
	@bash lab/image/build.sh

lab: venv collection image
	@mkdir -p $(LAB_DIR) && chmod 0700 $(LAB_DIR)
	@if [ -n "$${DPG_CITUS_IMAGE:-}" ]; then echo "Citus: image $$DPG_CITUS_IMAGE -> coordinator group + 2 worker groups"; \
	else echo "Citus: DPG_CITUS_IMAGE is not set and Citus has no package source here -> HA topology without Citus"; fi
	@start=$$(date +%s); \
	ansible-playbook -i $(LAB_INVENTORY) lab/lab.yml | tee $(LAB_DIR)/last-run.log; \
	end=$$(date +%s); \
	changed=$$(awk '/PLAY RECAP/{f=1;next} f && /changed=/{for(i=1;i<=NF;i++) if($$i ~ /^changed=/){split($$i,a,"=");s+=a[2]}} END{print s+0}' $(LAB_DIR)/last-run.log); \
	echo "make lab: $$((end-start)) s, $$changed changed tasks"

lab-down: venv collection
	ansible-playbook -i $(LAB_INVENTORY) lab/down.yml
	rm -rf $(LAB_DIR)

unit: venv collection
	pytest tests/unit

lint: venv collection
	pytest tests/lint -k ansible_lint

sanity: venv collection
	pytest tests/lint -k sanity

integration: venv collection image
	pytest tests/integration

# Everything, in one pytest run so the last line is pytest's summary.
test: venv collection image
	DPG_NO_SKIP=1 pytest -rsP --durations=25 tests/unit tests/lint tests/integration

build: venv
	mkdir -p build
	ansible-galaxy collection build --force --output-path build .

clean:
	rm -rf build .cache .pytest_cache
