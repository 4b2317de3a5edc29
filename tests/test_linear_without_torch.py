"""The default linear model trains, saves, loads and predicts without importing torch (which costs
more than a second of every command), and its numpy weights score exactly as its torch network."""
from __future__ import annotations

import json
import subprocess
import sys
import textwrap

import numpy as np
import pytest
import scipy.sparse as sp
import torch

import mltc
from mltc.modelcheck import ModelFormatError
from mltc.models.linear_weights import LinearWeights, is_linear_spec
from mltc.registry import Lazy, Registry

from conftest import TOY_TRAIN, TOY_VAL

#: refuses any import of torch (and safetensors' torch half), naming who asked
BLOCK_TORCH = textwrap.dedent("""
    import sys, traceback
    class NoTorch:
        def find_spec(self, name, path=None, target=None):
            if name == "torch" or name.startswith("torch.") or name == "safetensors.torch":
                raise ImportError("torch imported by " + " <- ".join(
                    f"{f.filename}:{f.lineno}" for f in reversed(traceback.extract_stack()) if "mltc" in f.filename))
    sys.meta_path.insert(0, NoTorch())
""")


def _write(path, rows):
    path.write_text("".join(json.dumps({"text": t, "labels": ls}) + "\n" for t, ls in rows), encoding="utf-8")


def test_default_train_evaluate_save_load_predict_import_no_torch(tmp_path):
    for name, rows in (("train", TOY_TRAIN * 3), ("validation", TOY_VAL), ("test", TOY_VAL)):
        _write(tmp_path / f"{name}.jsonl", rows)
    script = BLOCK_TORCH + textwrap.dedent(f"""
        import json, sys
        from click.testing import CliRunner
        import mltc
        from mltc.cli.main import cli
        d = {str(tmp_path)!r}
        r = CliRunner().invoke(cli, ["train", "--train", d + "/train.jsonl", "--validation", d + "/validation.jsonl",
                                     "--test", d + "/test.jsonl", "--out", d + "/run"])
        assert r.exit_code == 0, (r.output, r.exception)
        r = CliRunner().invoke(cli, ["predict", d + "/run", d + "/test.jsonl", "--input-format", "jsonl"])
        assert r.exit_code == 0, (r.output, r.exception)
        r2 = CliRunner().invoke(cli, ["evaluate", d + "/run", "--test", d + "/test.jsonl"])
        assert r2.exit_code == 0, (r2.output, r2.exception)
        clf = mltc.load(d + "/run")
        print(json.dumps({{"predict": r.output.splitlines(), "api": clf.predict(["crude oil prices"]),
                          "torch": "torch" in sys.modules}}))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=300)
    assert out.returncode == 0, out.stderr[-3000:]
    result = json.loads(out.stdout.strip().splitlines()[-1])
    assert result["torch"] is False
    assert len(result["predict"]) == len(TOY_VAL)
    # the same folder loaded in this process (torch available) predicts the same
    clf = mltc.load(tmp_path / "run")
    assert clf.linear_weights is not None
    assert clf.predict(["crude oil prices"]) == result["api"]
    assert [json.loads(line) for line in result["predict"]] == clf.predict([t for t, _ in TOY_VAL])


@pytest.mark.parametrize("sparse", [False, True])
def test_numpy_scores_match_the_torch_network_and_files_round_trip(tmp_path, sparse, toy):
    rng = np.random.default_rng(0)
    W = rng.normal(size=(40, 7)).astype(np.float32)
    W[np.abs(W) < 1.0] = 0.0
    weights = LinearWeights(sp.csr_matrix(W) if sparse else W, rng.normal(size=7))
    assert weights.spec["class"] == ("SparseWeightLinear" if sparse else "SparseLinear") and is_linear_spec(weights.spec)
    net = weights.to_module()
    assert set(net.state_dict()) == set(weights.arrays())  # the same tensors under the same names
    X = sp.random(9, 40, density=0.3, random_state=1, format="csr", dtype=np.float32)
    batch = {"ids": torch.from_numpy(X.indices.astype(np.int64)), "offsets": torch.from_numpy(X.indptr[:-1].astype(np.int64)),
             "weights": torch.from_numpy(X.data)}
    with torch.no_grad():
        expected = net(**batch).numpy()
    np.testing.assert_allclose(weights.logits(X), expected, rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(weights.logits(X), X @ W + weights.bias, rtol=1e-5, atol=1e-5)
    back = LinearWeights.from_module(net)
    np.testing.assert_array_equal(back.logits(X), weights.logits(X))
    # through a model folder: saved with numpy, reloaded as numpy, equal to the bit
    tr, va = toy
    clf = mltc.train(tr, va, mltc.TrainConfig(cv_folds=2), out_dir=tmp_path / "run")
    loaded = mltc.load(tmp_path / "run")
    assert loaded.linear_weights is not None
    np.testing.assert_array_equal(loaded.scores([e.text for e in va]), clf.scores([e.text for e in va]))


def test_damaged_sparse_weights_are_named(tmp_path, toy):
    from safetensors.numpy import load_file, save_file
    tr, va = toy
    clf = mltc.train(tr, va, mltc.TrainConfig(cv_folds=2))
    W = sp.random(clf.network_spec["input_size"], len(clf.labels), density=0.2, random_state=0, format="csr")
    clf.network = LinearWeights(W, np.zeros(len(clf.labels)))
    clf.network_spec = clf.linear_weights.spec
    clf.save(tmp_path / "m")
    assert mltc.load(tmp_path / "m").linear_weights.sparse
    path = tmp_path / "m" / "model.safetensors"
    arrays = load_file(str(path))
    arrays["indices"] = arrays["indices"] + len(clf.labels)  # points past the last label
    save_file(arrays, str(path))
    with pytest.raises(ModelFormatError, match="inconsistent sparse weights.*label indices"):
        mltc.load(tmp_path / "m")
    arrays["indices"] = arrays["indices"] - len(clf.labels)
    arrays["bias"][0] = np.nan
    save_file(arrays, str(path))
    with pytest.raises(ModelFormatError, match="'bias' holds NaN"):
        mltc.load(tmp_path / "m")


def test_lazy_registry_entries_import_on_first_use():
    reg = Registry("thing")
    reg.register("missing", Lazy("mltc_no_such_module:Thing"), help="never importable", kind="y")
    # names, help and metadata are read without importing
    assert reg.meta("missing", "kind") == "y" and "missing" in reg and reg.entry("missing", resolve=False).help
    with pytest.raises(ModuleNotFoundError):
        reg["missing"]
    reg.register("dec", Lazy("json:JSONDecoder"))
    assert reg["dec"] is json.JSONDecoder and reg.entry("dec").obj is json.JSONDecoder
    lazy = Lazy("json:JSONEncoder")  # stands in for the object: its attributes, and calling it
    assert lazy.__name__ == "JSONEncoder" and lazy.name == "JSONEncoder" and isinstance(lazy(), json.JSONEncoder)
    with pytest.raises(ValueError, match="module:attribute"):
        Lazy("no-colon")
    from mltc.losses import LOSSES
    from mltc.losses.modules import BalancedLoss
    from mltc.models.registry import MODELS
    from mltc.models.networks import TextCNN
    from mltc.training import FITTERS, LinearFitter, Trainer
    assert LOSSES["db"] is BalancedLoss and FITTERS["linear"] is LinearFitter and FITTERS["neural"] is Trainer
    assert MODELS["textcnn"].network_class is TextCNN and MODELS["textcnn"].network.__name__ == "TextCNN"


def test_a_linear_network_over_other_features_stays_torch(tmp_path, toy):
    """Only TF-IDF rows (sparse matrices) are scored by the numpy weights; a plain linear network over a
    featurizer that gives token ids trains, saves and reloads as a torch network."""
    from mltc.models.featurizers import HashedNgramFeaturizer
    from mltc.models.registry import MODELS, ModelSpec
    from mltc.models.networks import SparseLinear
    MODELS.register("hashed-linear-test", ModelSpec(HashedNgramFeaturizer, SparseLinear, {}, {"hidden_size": 0},
                                                    {"optimizer": "adamw", "lr": 1e-2, "epochs": 2}))
    try:
        tr, va = toy
        clf = mltc.train(tr, va, mltc.TrainConfig(model="hashed-linear-test"), out_dir=tmp_path / "r", progress=False)
        assert clf.linear_weights is None and clf.network_spec["class"] == "SparseLinear"
        again = mltc.load(tmp_path / "r")
        assert again.linear_weights is None
        np.testing.assert_array_equal(again.scores([e.text for e in va]), clf.scores([e.text for e in va]))
    finally:
        MODELS.unregister("hashed-linear-test")
