"""A model folder is self-contained and untrusted (issue 11).

Loading never follows a path out of the folder, never lets the file pick a cache, never
compiles a stored regular expression outside a safe list; a damaged or inconsistent
folder fails at load time with one ModelFormatError naming the file; killed saves leave no
temporary folders behind on the next save; a fuzz of the JSON files meets only that error.
"""
import json
import math
import os
import random
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, note, settings
from hypothesis import strategies as st

import mltc
from model_mutations import mutate_folder, try_load
from mltc.io import atomic_directory, remove_stale_temporaries
from mltc.modelcheck import ModelFormatError, inside
from mltc.models.featurizers import TfidfFeaturizer, featurizer_from_dict
from mltc.training import TrainConfig, train

TEXTS = ["wheat grain exports", "", "crude oil ship", "x" * 3000]


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """A small trained tfidf-linear model folder (trained once per module)."""
    from conftest import TOY_TRAIN, TOY_VAL
    from mltc.data import make_examples
    tr = make_examples([t for t, _ in TOY_TRAIN], [l for _, l in TOY_TRAIN])
    va = make_examples([t for t, _ in TOY_VAL], [l for _, l in TOY_VAL])
    run = tmp_path_factory.mktemp("saved") / "run"
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(tr, va, TrainConfig(model="tfidf-linear", optimizer="sgd", loss="bce", epochs=2, patience=2, seed=1),
              out_dir=run)
    return run / "model"


@pytest.fixture
def model(saved, tmp_path):
    """A fresh copy of the saved model to damage."""
    return Path(shutil.copytree(saved, tmp_path / "model"))


def edit(folder: Path, name: str, change) -> None:
    path = folder / name
    doc = json.loads(path.read_text())
    doc = change(doc) or doc
    path.write_text(json.dumps(doc, allow_nan=True))


def refused(folder: Path, name: str, *words: str) -> str:
    with pytest.raises(ModelFormatError) as info:
        mltc.load(folder)
    msg = str(info.value)
    assert name in msg, msg
    for w in words:
        assert w in msg, msg
    return msg


# ------------------------------------------------------------------ paths stay inside
def test_cache_dir_in_a_model_file_is_refused_and_nothing_is_created(model, tmp_path):
    elsewhere = tmp_path / "anywhere"
    edit(model, "featurizer.json", lambda d: d.update(cache_dir=str(elsewhere)))
    refused(model, "featurizer.json", "cache_dir")
    assert not elsewhere.exists()


@pytest.mark.parametrize("kind,key", [("transformer-tokenizer", "tokenizer_dir"), ("frozen-encoder", "encoder_dir")])
@pytest.mark.parametrize("stored", ["../outside", "/tmp", "tokenizer/../../outside", "~/x", "sub\\..\\..\\x"])
def test_stored_sub_folders_cannot_escape(kind, key, stored, tmp_path):
    (tmp_path / "outside").mkdir()
    (tmp_path / "model").mkdir()
    with pytest.raises(ModelFormatError, match=key):
        featurizer_from_dict({"kind": kind, "encoder": "bert-base-uncased", key: stored}, tmp_path / "model")


def test_a_symlink_out_of_the_folder_is_refused(tmp_path):
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "vocab.txt").write_text("a\n")
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "tokenizer").symlink_to(outside, target_is_directory=True)
    with pytest.raises(ModelFormatError, match="outside the model folder"):
        featurizer_from_dict({"kind": "transformer-tokenizer", "tokenizer_dir": "tokenizer"}, folder)
    (folder / "tokenizer").unlink()
    (folder / "tokenizer").mkdir()
    (folder / "tokenizer" / "vocab.txt").symlink_to(outside / "vocab.txt")
    with pytest.raises(ModelFormatError, match="links outside"):
        featurizer_from_dict({"kind": "transformer-tokenizer", "tokenizer_dir": "tokenizer"}, folder)


@pytest.mark.parametrize("name", ["model.safetensors", "labels.json", "decision.json", "extra-folder"])
def test_a_model_file_linking_outside_is_refused(model, tmp_path, name):
    """Loading reads no file through a symlink that leaves the folder (for the fixed names too)."""
    outside = tmp_path / "outside" / name
    outside.parent.mkdir()
    if (model / name).exists():
        shutil.move(model / name, outside)
    else:
        outside.mkdir()
    (model / name).symlink_to(outside)
    with pytest.raises(ModelFormatError, match="outside the model folder") as info:
        mltc.load(model)
    assert name in str(info.value)


def test_inside_accepts_plain_sub_paths(tmp_path):
    assert inside(tmp_path, "tokenizer", "f.json", "k") == (tmp_path / "tokenizer").resolve()
    assert inside(tmp_path, "a/../b", "f.json", "k") == (tmp_path / "b").resolve()


def test_a_pretrained_featurizer_needs_its_folder():
    with pytest.raises(ModelFormatError, match="model folder"):
        featurizer_from_dict({"kind": "frozen-encoder", "encoder": "/some/where"})


def test_a_network_option_naming_an_encoder_is_refused(model):
    def change(d):
        d["network"] = {"class": "TransformerClassifier", "input_size": 10, "num_labels": 7,
                        "options": {"encoder": "/tmp/evil", "encoder_config": {"model_type": "bert"}}}
    edit(model, "mltc.json", change)
    refused(model, "mltc.json", "encoder")


def test_saved_config_keeps_no_local_path(model):
    from mltc.classifier import Classifier
    clf = Classifier.load(model)
    clf.config.update(encoder="/home/someone/models/my-bert", featurizer_options={"cache_dir": "/home/someone/cache"})
    clf.save(model)
    text = "".join(p.read_text(errors="replace") for p in model.iterdir() if p.suffix == ".json")
    assert "/home/someone" not in text
    config = json.loads((model / "config.json").read_text())
    assert config["encoder"] == "my-bert" and "local folder" in config["encoder_note"]
    clf.config["encoder"] = "org/hub-model"
    clf.save(model)
    assert json.loads((model / "config.json").read_text())["encoder"] == "org/hub-model"


# ------------------------------------------------------------- damage: one clear error
def _write(model, name, data: bytes):
    (model / name).write_bytes(data)


@pytest.mark.parametrize("case", ["empty", "truncated", "garbage", "header-only"])
def test_damaged_weights(model, case):
    path = model / "model.safetensors"
    data = path.read_bytes()
    path.write_bytes({"empty": b"", "truncated": data[: len(data) // 2], "garbage": os.urandom(4096),
                      "header-only": data[:8 + int.from_bytes(data[:8], "little")]}[case])
    refused(model, "model.safetensors")


@pytest.mark.parametrize("name", ["mltc.json", "labels.json", "featurizer.json", "decision.json", "config.json",
                                  "metrics.json"])
@pytest.mark.parametrize("content", [b"", b"{not json", b"\xff\xfe\x00garbage", b"[1, 2]", b"[" * 100000])
def test_json_that_is_not_json_or_not_an_object(model, name, content):
    _write(model, name, content)
    refused(model, name)


@pytest.mark.parametrize("name", ["labels.json", "featurizer.json", "decision.json", "metrics.json"])
def test_missing_file(model, name):
    (model / name).unlink()
    refused(model, name, "missing")


CASES = {
    "labels-missing-key": ("labels.json", lambda d: d.pop("labels"), "labels"),
    "labels-wrong-type": ("labels.json", lambda d: d.update(labels="grain"), "labels"),
    "freq-wrong-type": ("labels.json", lambda d: d.update(class_freq=["a"] * len(d["class_freq"])), "class_freq"),
    "labels-count": ("labels.json", lambda d: d.update(labels=d["labels"] + ["extra"], class_freq=d["class_freq"] + [1]),
                     "8 labels"),
    "meta-labels-count": ("mltc.json", lambda d: d.update(labels=3), "3"),
    "network-labels": ("mltc.json", lambda d: d["network"].update(num_labels=3), "outputs"),
    "network-huge": ("mltc.json", lambda d: d["network"].update(input_size=2**39), "inputs"),
    "network-class": ("mltc.json", lambda d: d["network"].update({"class": "os.system"}), "unknown network class"),
    "network-option": ("mltc.json", lambda d: d["network"]["options"].update(bogus=1), "cannot be built"),
    "network-negative": ("mltc.json", lambda d: d["network"]["options"].update(hidden_size=-4), "cannot be built"),
    "sparse-nnz-text": ("mltc.json", lambda d: d["network"].update({"class": "SparseWeightLinear", "options": {"nnz": "x"}}),
                        "nnz"),
    "sparse-nnz-negative": ("mltc.json", lambda d: d["network"].update({"class": "SparseWeightLinear",
                                                                         "options": {"nnz": -1}}), "nnz"),
    "format": ("mltc.json", lambda d: d.update(format="other"), "not an mltc-model"),
    "version-type": ("mltc.json", lambda d: d.update(version="one"), "version"),
    "newer": ("mltc.json", lambda d: d.update(version=99), "newer"),
    "activation": ("mltc.json", lambda d: d.update(activation="relu"), "activation"),
    "threshold-nan": ("decision.json", lambda d: d.update(threshold=math.nan), "finite"),
    "threshold-null": ("decision.json", lambda d: d.update(threshold=None), "threshold"),
    "threshold-string": ("decision.json", lambda d: d.update(threshold="0.5"), "threshold"),
    "decision-kind": ("decision.json", lambda d: d.update(kind="magic"), "unknown decision kind"),
    "per-label-length": ("decision.json", lambda d: {"kind": "per-label", "thresholds": [0.5] * 3}, "7"),
    "per-label-nan": ("decision.json", lambda d: {"kind": "per-label", "thresholds": [0.5] * 6 + [math.nan]},
                      "thresholds"),
    "top-k-zero": ("decision.json", lambda d: {"kind": "top-k", "k": 0}, "'k'"),
    "min-labels-huge": ("decision.json", lambda d: d.update(min_labels=10**30), "min_labels"),
    "vocab-shorter": ("featurizer.json", lambda d: d.update(vocabulary=d["vocabulary"][:-1], idf=d["idf"][:-1]),
                      "vocabulary"),
    "idf-length": ("featurizer.json", lambda d: d.update(idf=d["idf"][:-1]), "idf"),
    "idf-nan": ("featurizer.json", lambda d: d["idf"].__setitem__(0, math.nan), "idf"),
    "vocab-duplicate": ("featurizer.json", lambda d: d["vocabulary"].__setitem__(1, d["vocabulary"][0]), "repeats"),
    "featurizer-kind": ("featurizer.json", lambda d: d.update(kind="pickle"), "unknown featurizer kind"),
    "featurizer-kind-list": ("featurizer.json", lambda d: d.update(kind=["tfidf"]), "kind"),
    "decision-kind-list": ("decision.json", lambda d: d.update(kind=["global"]), "decision kind"),
    "featurizer-extra": ("featurizer.json", lambda d: d.update(preprocessor="eval"), "unexpected key"),
    "ngram-huge": ("featurizer.json", lambda d: d.update(ngram_range=[1, 10**9]), "ngram_range"),
    "config-list": ("config.json", lambda d: [d], "JSON object"),
}


@pytest.mark.parametrize("case", sorted(CASES))
def test_damaged_or_inconsistent_json(model, case):
    name, change, word = CASES[case]
    edit(model, name, change)
    refused(model, name, word)


def test_nan_weights_are_refused(model):
    from safetensors.torch import load_file, save_file
    t = load_file(str(model / "model.safetensors"))
    t["bias"][0] = float("nan")
    save_file(t, str(model / "model.safetensors"))
    refused(model, "model.safetensors", "NaN")


def test_the_cli_prints_one_line_and_exits_2(model):
    from click.testing import CliRunner
    from mltc.cli.main import cli
    edit(model, "decision.json", lambda d: d.update(threshold=None))
    res = CliRunner().invoke(cli, ["predict", str(model), "-"], input="wheat\n")
    assert res.exit_code == 2
    assert res.output.startswith("error: ") and "decision.json" in res.output and "Traceback" not in res.output


def test_graded_model_is_checked_too(tmp_path):
    from mltc.finegrained import GradedExample, train_graded
    rows = [GradedExample("love this joy", (2, 1)), GradedExample("sad and angry", (0, 0)),
            GradedExample("so much love", (3, 0)), GradedExample("fine day", (1, 1))]
    train_graded(rows, rows, ["love", "joy"], TrainConfig(model="tfidf-linear", epochs=2), out_dir=tmp_path)
    folder = tmp_path / "model"
    assert mltc.load(folder).predict(["love"])[0]["aspects"].keys() == {"love", "joy"}
    edit(folder, "mltc.json", lambda d: d["task"].update(aspects=["love", "joy", "fear"]))
    with pytest.raises(ModelFormatError, match="mltc.json.*aspects"):
        mltc.load(folder)
    for bad, fragment in ((["love", "love"], "repeats"), (["love", ""], "non-empty"), ("love,joy", "list"),
                          ([1, 2], "non-empty string")):
        edit(folder, "mltc.json", lambda d, bad=bad: d["task"].update(aspects=bad))
        refused(folder, "mltc.json", fragment)
    edit(folder, "mltc.json", lambda d: d["task"].update(aspects=["love", "joy"], levels=["0", "1", "2"]))
    refused(folder, "mltc.json", "do not match")
    edit(folder, "mltc.json", lambda d: d["task"].update(levels=["0", "1", "2", "3"], decision="threshold"))
    refused(folder, "mltc.json", "argmax")
    edit(folder, "mltc.json", lambda d: d["task"].update(decision="argmax", name="ranking"))
    refused(folder, "mltc.json", "task")
    edit(folder, "mltc.json", lambda d: d["task"].update(name="graded"))
    edit(folder, "featurizer.json", lambda d: d.update(token_pattern="(a|aa)+$"))
    refused(folder, "featurizer.json", "token_pattern")


# ------------------------------------------------------------ nothing runs unbounded
@pytest.mark.parametrize("field,value", [("token_pattern", "(a|aa)+$"), ("token_pattern", None),
                                         ("stop_words", {"a": 1}), ("analyzer", "callable"),
                                         ("stop_words", "__import__('os')")])
def test_stored_regexes_and_callables_are_refused(model, field, value):
    edit(model, "featurizer.json", lambda d: d.update({field: value}))
    started = time.time()
    refused(model, "featurizer.json", field)
    assert time.time() - started < 5


def test_training_refuses_an_unsafe_token_pattern():
    with pytest.raises(ValueError, match="token_pattern"):
        TfidfFeaturizer(token_pattern="(a|aa)+$")
    TfidfFeaturizer(token_pattern=r"(?u)\b\w+\b", stop_words="english")  # the safe ones are fine


def test_vector_cache_is_bounded(tmp_path, monkeypatch):
    from mltc.models.frozen import VectorCache, cache_max_bytes
    cache = VectorCache(tmp_path / "v.sqlite", max_bytes=10 * 4 * 8)  # ten 8-dim vectors
    for i in range(25):
        cache.put_many({f"k{i}": np.full(8, i, np.float32)})
    assert cache.size_bytes() <= 10 * 4 * 8
    got = cache.get_many([f"k{i}" for i in range(25)])
    assert sorted(got) == sorted(f"k{i}" for i in range(15, 25))  # the oldest went first
    monkeypatch.setenv("MLTC_CACHE_MAX_MB", "0.5")
    assert cache_max_bytes() == 512 * 1024
    monkeypatch.setenv("MLTC_CACHE_MAX_MB", "lots")
    with pytest.raises(ValueError, match="MLTC_CACHE_MAX_MB"):
        cache_max_bytes()


# -------------------------------------------------------------- no temporary litter
def _dead_pid() -> int:
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


KILLED_SAVE = r"""
import importlib.util, sys, time
spec = importlib.util.spec_from_file_location("mltc_io", sys.argv[2])  # mltc/io.py alone: a quick start
io = importlib.util.module_from_spec(spec)
spec.loader.exec_module(io)
with io.atomic_directory(sys.argv[1]) as tmp:
    (tmp / "half.json").write_text("{")
    print(tmp, flush=True)
    time.sleep(60)
"""


def test_a_killed_save_leaves_no_litter_after_the_next_save(model, tmp_path):
    import mltc.io
    proc = subprocess.Popen([sys.executable, "-c", KILLED_SAVE, str(model), mltc.io.__file__], stdout=subprocess.PIPE,
                            text=True)
    tmp = Path(proc.stdout.readline().strip())
    assert tmp.is_dir() and tmp.name.startswith(".model.mltc-") and tmp.name.endswith(".tmp")
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    assert tmp.exists()
    mltc.load(model).save(model)
    assert not tmp.exists()
    assert sorted(p.name for p in model.parent.iterdir()) == ["model"]


def test_only_dead_temporaries_of_the_same_target_are_removed(tmp_path):
    dead, alive = _dead_pid(), os.getppid()
    names = {f".model.mltc-{dead}-abc123_x.tmp": False, f".model.mltc-{alive}-abc123_x.tmp": True,
             f".other.mltc-{dead}-abc123_x.tmp": True, ".model.abc123_x.tmp": True, f"model.mltc-{dead}-a.tmp": True}
    for n in names:
        (tmp_path / n).mkdir()
    with atomic_directory(tmp_path / "model") as out:
        (out / "x").write_text("1")
    left = {p.name for p in tmp_path.iterdir()}
    assert left == {n for n, keep in names.items() if keep} | {"model"}


def test_a_stale_backup_is_restored_when_the_target_is_missing(tmp_path):
    backup = tmp_path / f".model.mltc-{_dead_pid()}-zz9.old"
    backup.mkdir()
    (backup / "mltc.json").write_text("{}")
    assert remove_stale_temporaries(tmp_path / "model") == [backup]
    assert (tmp_path / "model" / "mltc.json").exists() and not backup.exists()


# ------------------------------------------------------------------------ the fuzz
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_json_files_load_and_predict_or_fail_cleanly(saved, data):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(shutil.copytree(saved, Path(tmp) / "model"))
        what = mutate_folder(folder, lambda n: data.draw(st.integers(0, max(0, n - 1))))
        note(what)
        assert try_load(folder, TEXTS) in ("clean", "loaded"), what


def test_the_fuzz_reaches_both_outcomes(saved, tmp_path):
    """A fixed-seed sample: the mutations exercise both the clean error and a successful load."""
    rng, seen = random.Random(0), set()
    for i in range(40):
        folder = Path(shutil.copytree(saved, tmp_path / f"m{i}"))
        mutate_folder(folder, lambda n: rng.randrange(max(1, n)))
        seen.add(try_load(folder, TEXTS))
    assert seen == {"clean", "loaded"}


def test_stale_temporary_files_of_a_file_write_are_removed(tmp_path):
    from mltc.io import write_json
    dead = _dead_pid()
    stale, other = tmp_path / f".state.json.mltc-{dead}-k2j4.tmp", tmp_path / f".log.jsonl.mltc-{dead}-k2j4.tmp"
    stale.write_text("{")
    other.write_text("{")
    write_json(tmp_path / "state.json", {"a": 1})
    assert not stale.exists() and other.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == [other.name, "state.json"]


# ------------------------------------------------- a pretrained encoder in the folder
def test_frozen_encoder_model_is_self_contained(tmp_path, monkeypatch):
    """Trained from a local encoder folder with a user cache: the saved model names neither,
    loads from its own folder only, and refuses a file that picks a cache or leaves the folder."""
    from conftest import TOY_TRAIN, TOY_VAL
    from mltc.data import make_examples
    from transformers import BertConfig, BertModel, BertTokenizerFast
    import torch
    words = sorted({w for t, _ in TOY_TRAIN + TOY_VAL for w in t.split()})
    enc = tmp_path / "machine" / "my-encoder"
    enc.mkdir(parents=True)
    (enc / "vocab.txt").write_text("\n".join(["[PAD]", "[UNK]", "[CLS]", "[SEP]", "[MASK]"] + words) + "\n")
    BertTokenizerFast(vocab_file=str(enc / "vocab.txt")).save_pretrained(str(enc))
    torch.manual_seed(0)
    BertModel(BertConfig(vocab_size=5 + len(words), hidden_size=16, num_hidden_layers=1, num_attention_heads=2,
                         intermediate_size=32, max_position_embeddings=64)).save_pretrained(str(enc))
    monkeypatch.setenv("MLTC_CACHE_DIR", str(tmp_path / "machine" / "cache"))
    tr = make_examples([t for t, _ in TOY_TRAIN], [l for _, l in TOY_TRAIN])
    va = make_examples([t for t, _ in TOY_VAL], [l for _, l in TOY_VAL])
    cfg = TrainConfig(model="frozen-encoder", encoder=str(enc), epochs=1, loss="bce",
                      featurizer_options={"cache_dir": str(tmp_path / "machine" / "other-cache")})
    clf = train(tr, va, cfg, out_dir=tmp_path / "run")
    model = tmp_path / "run" / "model"
    for p in model.rglob("*"):
        if p.is_file():
            assert str(tmp_path) not in p.read_bytes().decode("utf-8", "replace"), p
    assert json.loads((model / "featurizer.json").read_text())["encoder"] == "my-encoder"
    shutil.rmtree(enc)  # the training machine's folder is gone: the model still loads
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert np.allclose(mltc.load(model).scores(["wheat grain"]), clf.scores(["wheat grain"]), atol=1e-5)
    elsewhere = tmp_path / "elsewhere"
    edit(model, "featurizer.json", lambda d: d.update(cache_dir=str(elsewhere)))
    refused(model, "featurizer.json", "cache_dir")
    assert not elsewhere.exists()
    edit(model, "featurizer.json", lambda d: d.pop("cache_dir") and d.update(encoder_dir="../../machine"))
    refused(model, "featurizer.json", "encoder_dir", "outside")


SEGMENTS = ["..", ".", "tokenizer", "encoder", "link", "", "~", "/", "\\", "..\\..", "%2e%2e", "\x00"]


@settings(max_examples=150, deadline=None)
@given(parts=st.lists(st.sampled_from(SEGMENTS), min_size=1, max_size=6), absolute=st.booleans())
def test_stored_paths_never_resolve_outside(tmp_path_factory, parts, absolute):
    """Any stored path either resolves inside the folder (symlinks followed) or is refused."""
    root = tmp_path_factory.getbasetemp() / "paths"
    folder = root / "model"
    if not folder.exists():
        (folder / "tokenizer").mkdir(parents=True)
        (root / "outside").mkdir()
        (folder / "link").symlink_to(root / "outside", target_is_directory=True)
    stored = ("/" if absolute else "") + "/".join(parts)
    try:
        got = inside(folder, stored, "featurizer.json", "tokenizer_dir")
    except ModelFormatError:
        return
    assert got == folder.resolve() or folder.resolve() in got.parents
    for kind, key in (("transformer-tokenizer", "tokenizer_dir"), ("frozen-encoder", "encoder_dir")):
        with pytest.raises(ModelFormatError):  # the stub folders hold no tokenizer/encoder
            featurizer_from_dict({"kind": kind, key: stored}, folder)
    assert sorted(p.name for p in root.iterdir()) == ["model", "outside"]


def test_symlink_loops_and_odd_pids_are_handled(tmp_path):
    folder = tmp_path / "model"
    folder.mkdir()
    (folder / "loop").symlink_to(folder / "loop")
    with pytest.raises(ModelFormatError):
        featurizer_from_dict({"kind": "transformer-tokenizer", "tokenizer_dir": "loop"}, folder)
    (tmp_path / f".model.mltc-{10**30}-abc.tmp").mkdir()  # not a pid this machine can have: left alone
    with atomic_directory(folder) as out:
        (out / "x").write_text("1")
    assert (tmp_path / f".model.mltc-{10**30}-abc.tmp").exists() and (folder / "x").exists()


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_weights_header_loads_or_fails_cleanly(saved, data):
    """Bytes of the safetensors header overwritten at random: a clean error or a working model."""
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(shutil.copytree(saved, Path(tmp) / "model"))
        path = folder / "model.safetensors"
        raw = bytearray(path.read_bytes())
        end = 8 + int.from_bytes(raw[:8], "little")
        for _ in range(data.draw(st.integers(1, 4))):
            raw[data.draw(st.integers(0, end - 1))] = data.draw(st.sampled_from(b'0123456789[]{},:"F \xff'))
        path.write_bytes(bytes(raw))
        assert try_load(folder, TEXTS) in ("clean", "loaded")


def test_the_error_class_is_exported():
    assert mltc.ModelFormatError is ModelFormatError and issubclass(ModelFormatError, ValueError)


@pytest.fixture(scope="module")
def graded_saved(tmp_path_factory):
    from mltc.finegrained import GradedExample, train_graded
    rows = [GradedExample("love this joy", (2, 1)), GradedExample("sad and angry", (0, 0)),
            GradedExample("so much love", (3, 0)), GradedExample("fine day", (1, 1))]
    out = tmp_path_factory.mktemp("graded")
    train_graded(rows, rows, ["love", "joy"], TrainConfig(model="tfidf-linear", epochs=2), out_dir=out)
    return out / "model"


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(data=st.data())
def test_fuzzed_graded_model_loads_or_fails_cleanly(graded_saved, data):
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(shutil.copytree(graded_saved, Path(tmp) / "model"))
        note(mutate_folder(folder, lambda n: data.draw(st.integers(0, max(0, n - 1)))))
        assert try_load(folder, TEXTS) in ("clean", "loaded")
