"""benchmarks/gpu_reuters.py end to end on CPU (``--tiny``) with the tiny random BERT, and its
time-budget planner (issue 12)."""
import importlib.util
import json
import sys
from pathlib import Path

import pytest

from conftest import TOY_TRAIN, TOY_VAL
from mltc.data import make_examples
from mltc.data.examples import DatasetSplits
from test_transformers import tiny_bert  # noqa: F401  (session fixture)

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_reuters.py"


@pytest.fixture(scope="module")
def gpu_script():
    spec = importlib.util.spec_from_file_location("gpu_reuters", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    sys.modules["gpu_reuters"] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    yield module
    sys.modules.pop("gpu_reuters", None)


def toy_splits():
    def ex(pairs):
        return make_examples([t for t, _ in pairs], [l for _, l in pairs])
    # named as Reuters so that the published rows are put beside ours
    return DatasetSplits("reuters21578", ex(TOY_TRAIN), ex(TOY_VAL), ex(TOY_VAL + TOY_TRAIN[:3]))


@pytest.mark.slow
def test_tiny_run_writes_summary_and_tables(gpu_script, tiny_bert, tmp_path, monkeypatch):  # noqa: F811
    monkeypatch.setenv("MLTC_CACHE_DIR", str(tmp_path / "cache"))  # the script points it at a fresh folder
    out = tmp_path / "out"
    gpu_script.main(["--tiny", "--encoder", tiny_bert, "--out", str(out)], data=toy_splits())
    summary = json.loads((out / "summary.json").read_text())
    assert set(summary) == {"meta", "probe", "plan", "skipped", "runs"}
    assert summary["meta"]["device"]["name"].startswith("CPU") and summary["meta"]["rows"] == ["bce", "db"]
    assert summary["probe"][0]["cell"] == "finetune-bf16-32" and summary["probe"][0]["train_texts_per_s"] > 0
    assert [r["name"] for r in summary["runs"]] == ["frozen", "finetune-bf16-32"]
    for run in summary["runs"]:
        assert [s["row"] for s in run["speed"]] == ["bce", "db"]
        for s in run["speed"]:
            assert s["epochs_run"] == 1 and s["train_texts_per_s"] > 0 and s["eval_texts_per_s"] > 0
            assert s["peak_gpu_mb"] is None  # no CUDA here
        assert [r["row"] for r in run["table2"]] == ["BCE", "BCE (paper)", "DB", "DB (paper)"]
        assert any(r["source"] == "paper" for r in run["table3"])
        assert (out / run["name"] / "table2.md").exists() and (out / run["name"] / "results.json").exists()
    assert summary["runs"][1]["config"]["featurizer_options"]["max_len"] == 32
    md = (out / "summary.md").read_text()
    for part in ("Timing probe", "Frozen encoder", "Fine-tuned, bf16, max length 32", "BCE (paper)", "Table 3"):
        assert part in md


def test_refuses_cpu_without_tiny(gpu_script, monkeypatch):
    monkeypatch.setattr(gpu_script.torch.cuda, "is_available", lambda: False)
    with pytest.raises(SystemExit, match="no CUDA device"):
        gpu_script.main([])


def cell(gpu_script, tps=100.0, load=10.0):
    return gpu_script.Cell("bf16", 256, train_texts_per_s=tps, eval_texts_per_s=1000.0, load_seconds=load)


def test_epoch_cap_and_plan(gpu_script):
    sizes = (1000, 100, 100)  # epoch = 10 + 0.1 s, overhead = 10 + 0.2 s
    a, b = cell(gpu_script), cell(gpu_script)
    # alone with 8 rows and 1000 s: (1000/8 - 10.2) / 10.1 = 11.3 -> 11 epochs
    assert gpu_script.epoch_cap(a, [], 1000, 8, sizes, 40, 3) == 11
    assert gpu_script.epoch_cap(a, [], 10_000, 8, sizes, 40, 3) == 40  # the paper's cap
    # b keeps 3 epochs: 8 * (3 * 10.1 + 10.2) = 324 s reserved
    assert gpu_script.epoch_cap(a, [b], 1000, 8, sizes, 40, 3) == math_floor((1000 - 324) / 8 - 10.2, 10.1)
    assert gpu_script.epoch_cap(a, [b], 300, 8, sizes, 40, 3) == 0  # cannot get 3 epochs: skipped
    plan = gpu_script.plan_grid([a, b], 1000, 8, sizes, 40, 3)
    assert [p["epoch_cap"] for p in plan] == [7, 3]
    assert sum(p["worst_case_seconds"] for p in plan) <= 1000


def math_floor(x, y):
    return int(x // y)
