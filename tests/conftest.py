import os
from pathlib import Path

import pytest

SHARED = Path(__file__).resolve().parents[1].parent / "shared" / "datasets"
DATA_DIR = Path(os.environ.get("MLTC_DATA_DIR", SHARED))


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
