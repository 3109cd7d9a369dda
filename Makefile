# `sam build` runs one target per zip function (build-<LogicalId>) and one for the layer, in a copy of
# its CodeUri, with ARTIFACTS_DIR set. pip installs the wheels of Lambda's platform, not this
# machine's: python3.12 on Amazon Linux 2023 (glibc 2.34), x86_64, never a build from source,
# except the pins in SOURCE_ONLY (no wheels published), which are compiled with RUNTIME_PYTHON and
# must pass auditwheel's check for PLATFORM, and those in PURE_SOURCE_ONLY (pure Python published
# only as source), which must build as py3-none-any. `pipenv run build` sets RUNTIME_PYTHON and the PATH.
ROOT := $(dir $(abspath $(lastword $(MAKEFILE_LIST))))
PYTHON_VERSION := 3.12
PLATFORM := manylinux_2_28_x86_64
# pip takes a wheel only for a platform named here: every manylinux glibc 2.34 runs.
GLIBC_MINORS := 34 33 32 31 30 29 28 27 26 25 24 23 22 21 20 19 18 17
PLATFORMS := $(foreach minor,$(GLIBC_MINORS),--platform manylinux_2_$(minor)_x86_64) --platform manylinux2014_x86_64
WHEELHOUSE := $(ROOT).aws-sam/wheelhouse
SOURCE_ONLY := pdqhash
# pyvips finds libvips in pyvips-binary's wheel; built without libvips headers it is pure Python
PURE_SOURCE_ONLY := pyvips
PIP := python3 -m pip install --quiet --no-compile --disable-pip-version-check --find-links $(WHEELHOUSE) \
	$(PLATFORMS) --implementation cp --python-version $(PYTHON_VERSION) --only-binary=:all:

build-DomainLayer: wheelhouse
	$(PIP) --target "$(ARTIFACTS_DIR)/python" -r requirements.txt
	cp -r aperture "$(ARTIFACTS_DIR)/python/"
	find "$(ARTIFACTS_DIR)/python" -name __pycache__ -prune -exec rm -rf {} +

build-%Function:
	cp app.py "$(ARTIFACTS_DIR)/"
	if [ -f requirements.txt ]; then $(PIP) --target "$(ARTIFACTS_DIR)" -r requirements.txt; fi

wheelhouse:
	mkdir -p "$(WHEELHOUSE)"
	for name in $(SOURCE_ONLY); do \
	  pin=$$(grep -E "^$$name==" $(ROOT)layers/aperture/requirements.txt) && \
	  ls "$(WHEELHOUSE)"/$$name-*-$(PLATFORM).whl >/dev/null 2>&1 || { \
	    "$(RUNTIME_PYTHON)" -m pip wheel --quiet --no-deps --no-binary $$name "$$pin" -w "$(WHEELHOUSE)/raw" && \
	    auditwheel repair --plat $(PLATFORM) -w "$(WHEELHOUSE)" "$(WHEELHOUSE)"/raw/$$name-*.whl; } || exit 1; \
	done
	for name in $(PURE_SOURCE_ONLY); do \
	  pin=$$(grep -E "^$$name==" $(ROOT)layers/aperture/requirements.txt) && \
	  ls "$(WHEELHOUSE)"/$$name-*-py3-none-any.whl >/dev/null 2>&1 || { \
	    "$(RUNTIME_PYTHON)" -m pip wheel --quiet --no-deps --no-binary $$name "$$pin" -w "$(WHEELHOUSE)/raw" && \
	    mv "$(WHEELHOUSE)"/raw/$$name-*-py3-none-any.whl "$(WHEELHOUSE)/"; } || exit 1; \
	done

.PHONY: wheelhouse
