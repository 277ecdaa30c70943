# make run   — install what is missing, then serve on http://127.0.0.1:8000
# make test  — install what is missing, then run the whole suite
# A second run on a set-up machine skips every install step (seconds, not minutes).

SHELL := /bin/bash
PYTHON ?= python3
VENV := .venv
PY := $(VENV)/bin/python
SUDO := $(shell [ "$$(id -u)" = 0 ] || echo sudo)

SYSTEM_PACKAGES := libreoffice-writer-nogui python3-uno fonts-noto-cjk fonts-hanazono \
                   poppler-utils qpdf python3-venv fontconfig libnss3-tools chromium
# What the tests start and stop themselves (never as system services): PostgreSQL, Redis, haproxy; and SoftHSM2, the PKCS#11 token.
TEST_PACKAGES := postgresql redis-server haproxy softhsm2
FANDOL := /usr/local/share/fonts/fandol/FandolFang-Regular.otf

.PHONY: run test bench bench-deps check templates system test-servers venv certs fonts clean

run: system venv certs fonts
	$(PY) -m service serve

test: system test-servers venv certs fonts
	$(PY) -m pytest

# Side by side with Carbone CE (needs Node.js; Carbone itself goes into .cache/), single documents and a batch, then our own stages,
# verification, and memory over 2,000 documents. Results: bench/RESULTS.md.
bench: system venv certs fonts bench-deps
	$(PY) -m bench.carbone_bench
	$(PY) -m bench.batch_bench
	$(PY) -m bench.issue_bench
	$(PY) -m bench.verify_bench
	$(PY) -m bench.soak --write

bench-deps:
	@command -v node >/dev/null && command -v npm >/dev/null || { \
	  $(SUDO) apt-get update -qq && DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null; }

check: system test-servers venv certs fonts
	$(PY) -m service templates check
	$(PY) -m pytest

templates: venv
	$(PY) -m tools.build_templates --force

system:
	@missing=""; for p in $(SYSTEM_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing system packages:$$missing"; \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi
	@# The fangsong (仿宋) face of official documents: FandolFang, shipped by Debian only inside TeX Live's
	@# Chinese package; we take the fonts out of it rather than install TeX.
	@[ -f $(FANDOL) ] || $(SUDO) tools/install-fandol.sh

# Debian's package would also create and start a cluster of its own: the tests need only the programs.
test-servers:
	@missing=""; for p in $(TEST_PACKAGES); do \
	  dpkg-query -W -f='$${Status}' $$p 2>/dev/null | grep -q 'ok installed' || missing="$$missing $$p"; \
	done; \
	if [ -n "$$missing" ]; then \
	  echo "installing the servers the tests use:$$missing"; \
	  $(SUDO) mkdir -p /etc/postgresql-common/createcluster.d && \
	  echo 'create_main_cluster = false' | $(SUDO) tee /etc/postgresql-common/createcluster.d/chengnuo.conf >/dev/null && \
	  $(SUDO) apt-get update -qq && \
	  DEBIAN_FRONTEND=noninteractive $(SUDO) apt-get install -y -qq --no-install-recommends $$missing >/dev/null; \
	fi

# The development PKI declared in devpki/pki.yml (root, intermediate, one signing certificate per agency, TSA,
# CRLs, OCSP responder, test signers), materialised under certs/; keys stay in certs/private.
certs: venv
	@$(PY) -m service init-pki

# LibreOffice's narrowed CJK faces (service/rendering/fontset.py): built once, ~30 s; rebuilt if the fonts change.
fonts: system venv
	@$(PY) -m service fonts

venv: $(VENV)/.installed

$(VENV)/.installed: pyproject.toml
	@$(PYTHON) -c 'import sys; sys.exit(sys.version_info < (3, 11))' || { echo "Python 3.11 or newer is needed ($(PYTHON))"; exit 1; }
	[ -x $(PY) ] || $(PYTHON) -m venv $(VENV)
	$(PY) -m pip install -q --upgrade pip
	$(PY) -m pip install -q -e '.[dev]'
	touch $@

clean:
	rm -rf $(VENV) .pytest_cache build *.egg-info
