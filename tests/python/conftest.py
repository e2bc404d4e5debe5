# Shared fixtures of the Python tests (run by ctest: PYTHONPATH=build/python,
# SERIALAKE_CLI=build/serialake).
import os

import pytest

import serialake


@pytest.fixture
def path(tmp_path):
    """A fresh dataset path in the test's own temporary directory."""
    return str(tmp_path / "ds.serialake")


@pytest.fixture
def cli():
    """The built CLI (build/serialake)."""
    p = os.environ.get("SERIALAKE_CLI")
    if not p or not os.path.exists(p):
        pytest.skip("SERIALAKE_CLI is not set to the built CLI (ctest sets it)")
    return p


@pytest.fixture
def ds(path):
    with serialake.open(path, create=True) as d:
        yield d
