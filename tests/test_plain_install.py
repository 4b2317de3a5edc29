"""A plain ``pip install mltc`` (no extras) trains, predicts and evaluates on one CPU process:
nothing in that path imports Accelerate, transformers, FastAPI/uvicorn or ONNX."""
import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from conftest import TOY_TRAIN, TOY_VAL

ROOT = Path(__file__).resolve().parents[1]
OPTIONAL = ("accelerate", "transformers", "tokenizers", "fastapi", "uvicorn", "starlette", "onnx", "onnxruntime",
            "onnxscript", "httpx", "sentence_transformers")

# Runs the CLI, then fails if any optional package was imported along the way (by mltc or
# by anything it imported); ``importlib.util.find_spec`` probes (torch does some) are fine.
WATCHER = textwrap.dedent(f"""
    import sys
    from mltc.cli.main import cli
    try:
        cli.main(sys.argv[1:], prog_name="mltc")
    except SystemExit as exc:
        code = exc.code or 0
    else:
        code = 0
    leaked = sorted(m for m in sys.modules if m.split(".")[0] in {OPTIONAL!r})
    if leaked:
        print("optional packages imported:", leaked, file=sys.stderr)
        code = code or 3
    sys.exit(code)
""")


def _mltc(tmp_path, *args, input=None):
    env = dict(os.environ, PYTHONPATH=str(ROOT / "src"), WORLD_SIZE="1")
    return subprocess.run([sys.executable, "-c", WATCHER, *args], capture_output=True, text=True, env=env,
                          input=input, timeout=120, cwd=tmp_path)


@pytest.mark.slow
def test_train_predict_evaluate_without_optional_packages(tmp_path):
    for name, rows in (("train.jsonl", TOY_TRAIN), ("val.jsonl", TOY_VAL)):
        (tmp_path / name).write_text("".join(json.dumps({"text": t, "labels": l}) + "\n" for t, l in rows))
    res = _mltc(tmp_path, "train", "--train", "train.jsonl", "--validation", "val.jsonl", "--test", "val.jsonl",
                "--out", "run")
    assert res.returncode == 0 and "micro-F1" in res.stdout, res.stderr[-3000:]  # train, then evaluate on --test
    res = _mltc(tmp_path, "predict", "run/model", "-", "--top-k", "1", input="wheat grain\ncrude oil\n")
    assert res.returncode == 0, res.stderr[-3000:]
    assert [len(json.loads(l)["labels"]) for l in res.stdout.splitlines()] == [1, 1]


def test_single_process_trainer_does_not_need_accelerate(monkeypatch):
    from mltc.training.config import TrainConfig
    from mltc.training.trainer import SingleProcess, make_accelerator
    monkeypatch.delenv("WORLD_SIZE", raising=False)
    acc = make_accelerator(TrainConfig(device="cpu"))
    assert isinstance(acc, SingleProcess) and acc.device.type == "cpu"
    assert (acc.is_main_process, acc.num_processes, acc.process_index) == (True, 1, 0)
    model = object()
    assert acc.prepare_model(model) is model
    with acc.no_sync(model):
        acc.wait_for_everyone()


def test_cuda_without_a_gpu_is_a_clear_error(monkeypatch):
    import pytest
    import torch
    from mltc.training.config import TrainConfig
    from mltc.training.trainer import make_accelerator
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ValueError, match="device 'cuda' needs a CUDA GPU"):
        make_accelerator(TrainConfig(device="cuda"))
