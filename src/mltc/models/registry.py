"""Models by name: one registry, :data:`MODELS`, of a featurizer plus a network with default options.

A new model is one network class plus one call::

    MODELS.register("my-model", ModelSpec(VocabFeaturizer, MyNetwork, {"max_len": 128}, {},
                                          {"optimizer": "adamw", "lr": 1e-3, "epochs": 10}),
                    help="...")

which also makes ``MyNetwork`` loadable from a saved model folder (:data:`NETWORKS`, by
class name). Metadata: ``fitters`` (the fitters that train it, the first the default;
``('neural',)`` unless told), ``uses`` (further :class:`~mltc.training.TrainConfig` fields
the model reads, e.g. ``('encoder',)``), ``help``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..registry import Lazy, Registry
from .featurizers import Featurizer, HashedNgramFeaturizer, TfidfFeaturizer, VocabFeaturizer

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn


def _resolve(part: Any) -> Any:
    return part.resolve() if isinstance(part, Lazy) else part


@dataclass(frozen=True)
class ModelSpec:
    """A model: its featurizer and network classes (or :class:`~mltc.registry.Lazy` references to
    them, imported on first use: the networks import torch) and their default options.

    ``featurizer_class`` / ``network_class`` are the classes themselves, whichever was given.
    """

    featurizer: type[Featurizer] | Lazy
    network: type[nn.Module] | Lazy
    featurizer_options: dict[str, Any] = field(default_factory=dict)
    network_options: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)  # default trainer settings

    @property
    def featurizer_class(self) -> type[Featurizer]:
        return _resolve(self.featurizer)

    @property
    def network_class(self) -> type[nn.Module]:
        return _resolve(self.network)


#: network class name -> class: every network a saved model folder may name
NETWORKS = Registry("network class", exact=True)


class ModelRegistry(Registry):
    """:class:`~mltc.registry.Registry` whose ``register`` also registers the model's network class."""

    def register(self, name: str, obj: Any = None, **kw: Any) -> Any:
        if obj is None:
            raise TypeError("MODELS.register(name, ModelSpec(...), ...) needs the spec")
        if not isinstance(obj, ModelSpec):
            raise TypeError(f"a model is a ModelSpec, got {type(obj).__name__}")
        register_network(obj.network)
        return super().register(name, obj, **kw)


def register_network(cls: type[nn.Module] | Lazy) -> type[nn.Module] | Lazy:
    """Make a network class (or a :class:`~mltc.registry.Lazy` reference to one) loadable by its name
    (idempotent)."""
    name = cls.name if isinstance(cls, Lazy) else cls.__name__
    if name in NETWORKS:
        held = NETWORKS.entry(name, resolve=False).obj  # the registered object as given, not imported
        same = (held.target == cls.target if isinstance(held, Lazy) and isinstance(cls, Lazy)
                else _resolve(held) is _resolve(cls))
        if not same:
            raise ValueError(f"another network class is registered as {name!r}")
        return cls
    NETWORKS.register(name, cls)
    return cls


def _network(name: str) -> Lazy:
    return Lazy(f"mltc.models.networks:{name}")


_FROZEN = Lazy("mltc.models.frozen:FrozenEncoderFeaturizer")
_TOKENIZER = Lazy("mltc.models.transformer:TransformerTokenizer")
_TRANSFORMER = Lazy("mltc.models.transformer:TransformerClassifier")

#: model name -> :class:`ModelSpec`
MODELS = ModelRegistry("model", defaults={"fitters": ("neural",), "uses": ()})

# Linear over unigram TF-IDF: fitted full-batch by the linear fitter (L-BFGS / LIBLINEAR) unless an optimizer
# is named; the neural settings below are its minibatch defaults (plain SGD: implicit max-margin bias; Adam's
# per-feature steps overfit rare words: 82 vs 87.6 test micro-F1 on Reuters, benchmarks/README.md).
MODELS.register("tfidf-linear", ModelSpec(
    TfidfFeaturizer, _network("SparseLinear"), {"ngram_range": (1, 1)}, {"hidden_size": 0},
    {"optimizer": "sgd", "lr": 4.0, "batch_size": 32, "epochs": 40, "weight_decay": 0.0,
     "decision_options": {"grid": "wide"}}), fitters=("linear", "neural"),
    help="linear over TF-IDF (the default; the linear fitter, or minibatch epochs with --optimizer sgd/adamw/adagrad)")
MODELS.register("tfidf-mlp", ModelSpec(
    TfidfFeaturizer, _network("SparseLinear"), {"ngram_range": (1, 1)}, {"hidden_size": 256, "dropout": 0.3},
    {"optimizer": "adamw", "lr": 1e-3, "batch_size": 32, "epochs": 40, "weight_decay": 0.01,
     "decision_options": {"grid": "wide"}}), help="one hidden layer over TF-IDF")
MODELS.register("embedding-bag", ModelSpec(
    HashedNgramFeaturizer, _network("FastText"), {}, {},
    {"optimizer": "adamw", "lr": 5e-3, "batch_size": 32, "epochs": 40, "decision_options": {"grid": "wide"}}),
    help="fastText-style bag of hashed word n-grams")
MODELS.register("textcnn", ModelSpec(
    VocabFeaturizer, _network("TextCNN"), {"max_len": 256}, {},
    {"optimizer": "adamw", "lr": 1e-3, "batch_size": 32, "epochs": 30}), help="TextCNN over word embeddings")
MODELS.register("bilstm-attention", ModelSpec(
    VocabFeaturizer, _network("BiLSTMAttention"), {"max_len": 256}, {},
    {"optimizer": "adamw", "lr": 1e-3, "batch_size": 32, "epochs": 30}), help="BiLSTM with attention pooling")
# Fine-tuned Hugging Face encoder + head (linear/bilstm/attention/textcnn); needs `encoder`.
MODELS.register("transformer", ModelSpec(
    _TOKENIZER, _TRANSFORMER, {"max_len": 128}, {"head": "linear"},
    {"optimizer": "adamw", "lr": 5e-5, "batch_size": 16, "epochs": 10, "weight_decay": 0.01,
     "warmup_ratio": 0.1, "schedule": "linear", "clip_norm": 1.0}), uses=("encoder",),
    help="fine-tuned Hugging Face encoder + a head (needs --encoder)")
# Encode once with a frozen pretrained encoder (cached), train a head on the vectors.
MODELS.register("frozen-encoder", ModelSpec(
    _FROZEN, _network("DenseLinear"), {}, {},
    {"optimizer": "adamw", "lr": 3e-3, "batch_size": 32, "epochs": 60, "weight_decay": 0.0,
     "decision_options": {"grid": "wide"}}), uses=("encoder",),
    help="a head on cached vectors of a frozen encoder (needs --encoder)")
# The paper's baseline: one-vs-rest LinearSVC over TF-IDF (mltc.training.svm), margins as scores.
MODELS.register("svm", ModelSpec(TfidfFeaturizer, _network("SparseLinear"), {}, {"hidden_size": 0}), fitters=("svm",),
                help="the paper's TF-IDF + one-vs-rest LinearSVC baseline (scores are margins)")
register_network(_network("SparseWeightLinear"))  # the linear fitter's sparse weights

#: models whose featurizer and network take the ``encoder`` option (a live view of :data:`MODELS`)
ENCODER_MODELS = MODELS.view(lambda e: "encoder" in e.get("uses", ()))


def model_spec(name: str) -> ModelSpec:
    """The spec of a model trained by the neural trainer (``ValueError`` for unknown or non-neural models)."""
    key = MODELS.find(name)
    if key is None:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)}")
    if "neural" not in MODELS.meta(key, "fitters"):
        raise ValueError(f"model {key!r} is trained by the {MODELS.meta(key, 'fitters')[0]} fitter "
                         f"(mltc.train), not by the neural trainer")
    return MODELS[key]
