"""Shared fixtures.

Test tiers: ``pytest -m "not slow"`` is the fast tier (well under 2 minutes on 2 cores); CI runs
everything. A test is marked ``@pytest.mark.slow`` (a whole file: ``pytestmark = pytest.mark.slow``)
when it reads the shared data sets (the ``data_dir`` fixture, fixtures built on it such as
``reuters``, or ``MLTC_DATA_DIR``) or takes more than about 2 seconds. The data-set rule is
enforced: by :func:`_data_set_tests_are_slow` below when a test runs, and by
tests/test_test_tiers.py, which reads every test file.
"""
import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
DATA_DIR = Path(os.environ.get("MLTC_DATA_DIR", SHARED))


@pytest.fixture(autouse=True)
def _data_set_tests_are_slow(request):
    """Fail a test that reads the shared data sets unless it is marked slow (the fast tier never reads them)."""
    if "data_dir" in request.fixturenames and request.node.get_closest_marker("slow") is None:
        pytest.fail(f"{request.node.nodeid} reads the shared data sets (MLTC_DATA_DIR): mark it @pytest.mark.slow",
                    pytrace=False)


@pytest.fixture(scope="session")
def data_dir() -> Path:
    if not (DATA_DIR / "reuters21578").is_dir():
        pytest.fail(f"the shared data sets are expected at {DATA_DIR} (set MLTC_DATA_DIR)")
    return DATA_DIR


@pytest.fixture(scope="session")
def reuters(data_dir):
    from mltc.data import load_dataset
    return load_dataset("reuters21578", data_dir)


TOY_TRAIN = [
    ("wheat prices rose as grain exports grew", ["grain", "wheat"]),
    ("corn and wheat harvest grain report", ["grain", "wheat", "corn"]),
    ("grain shipments delayed at port", ["grain", "ship"]),
    ("oil prices fell crude output up", ["crude"]),
    ("crude oil tanker ship attacked in gulf", ["crude", "ship"]),
    ("company reports quarterly earnings profit", ["earn"]),
    ("net profit and earnings per share rose", ["earn"]),
    ("shares of the company acquired in merger", ["acq"]),
    ("merger agreement to acquire stake", ["acq"]),
    ("quarterly dividend earnings up", ["earn"]),
    ("the weather was nice today", []),
]
TOY_VAL = [
    ("wheat grain exports", ["grain", "wheat"]),
    ("crude oil prices", ["crude"]),
    ("earnings per share profit", ["earn"]),
    ("acquire company merger", ["acq"]),
    ("ship at port with grain", ["grain", "ship"]),
]


@pytest.fixture
def toy():
    from mltc.data import make_examples
    tr = make_examples([t for t, _ in TOY_TRAIN], [l for _, l in TOY_TRAIN])
    va = make_examples([t for t, _ in TOY_VAL], [l for _, l in TOY_VAL])
    return tr, va
