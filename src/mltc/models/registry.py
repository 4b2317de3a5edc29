"""Models by name: a featurizer plus a network, each with default options.

A new model is one network class plus one line here.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from torch import nn

from .featurizers import Featurizer, HashedNgramFeaturizer, TfidfFeaturizer, VocabFeaturizer
from .frozen import FrozenEncoderFeaturizer
from .networks import BiLSTMAttention, DenseLinear, FastText, SparseLinear, SparseWeightLinear, TextCNN
from .transformer import TransformerClassifier, TransformerTokenizer


@dataclass(frozen=True)
class ModelSpec:
    featurizer: type[Featurizer]
    network: type[nn.Module]
    featurizer_options: dict[str, Any] = field(default_factory=dict)
    network_options: dict[str, Any] = field(default_factory=dict)
    training: dict[str, Any] = field(default_factory=dict)  # default trainer settings


MODELS: dict[str, ModelSpec] = {
    # Linear over unigram TF-IDF, plain SGD (implicit max-margin bias; Adam's per-feature steps
    # overfit rare words: 82 vs 87.6 test micro-F1 on Reuters, benchmarks/README.md).
    "tfidf-linear": ModelSpec(TfidfFeaturizer, SparseLinear, {"ngram_range": (1, 1)}, {"hidden_size": 0},
                              {"optimizer": "sgd", "lr": 4.0, "batch_size": 32, "epochs": 40, "weight_decay": 0.0,
                               "decision_options": {"grid": "wide"}}),
    "tfidf-mlp": ModelSpec(TfidfFeaturizer, SparseLinear, {"ngram_range": (1, 1)}, {"hidden_size": 256, "dropout": 0.3},
                           {"optimizer": "adamw", "lr": 1e-3, "batch_size": 32, "epochs": 40, "weight_decay": 0.01,
                            "decision_options": {"grid": "wide"}}),
    "embedding-bag": ModelSpec(HashedNgramFeaturizer, FastText, {}, {},
                               {"optimizer": "adamw", "lr": 5e-3, "batch_size": 32, "epochs": 40,
                                "decision_options": {"grid": "wide"}}),
    "textcnn": ModelSpec(VocabFeaturizer, TextCNN, {"max_len": 256}, {},
                         {"optimizer": "adamw", "lr": 1e-3, "batch_size": 32, "epochs": 30}),
    "bilstm-attention": ModelSpec(VocabFeaturizer, BiLSTMAttention, {"max_len": 256}, {},
                                  {"optimizer": "adamw", "lr": 1e-3, "batch_size": 32, "epochs": 30}),
    # Fine-tuned Hugging Face encoder + head (linear/bilstm/attention/textcnn); needs `encoder`.
    "transformer": ModelSpec(TransformerTokenizer, TransformerClassifier, {"max_len": 128}, {"head": "linear"},
                             {"optimizer": "adamw", "lr": 5e-5, "batch_size": 16, "epochs": 10, "weight_decay": 0.01,
                              "warmup_ratio": 0.1, "schedule": "linear", "clip_norm": 1.0}),
    # Encode once with a frozen pretrained encoder (cached), train a head on the vectors.
    "frozen-encoder": ModelSpec(FrozenEncoderFeaturizer, DenseLinear, {}, {},
                                {"optimizer": "adamw", "lr": 3e-3, "batch_size": 32, "epochs": 60, "weight_decay": 0.0,
                                 "decision_options": {"grid": "wide"}}),
}
NETWORKS = {cls.__name__: cls for cls in (SparseLinear, SparseWeightLinear, FastText, TextCNN, BiLSTMAttention, DenseLinear,
                                          TransformerClassifier)}
#: models whose featurizer and network both take the ``encoder`` option
ENCODER_MODELS = ("transformer", "frozen-encoder")


def model_spec(name: str) -> ModelSpec:
    key = name.lower().replace("_", "-")
    if key not in MODELS:
        raise ValueError(f"unknown model {name!r}; choose one of {', '.join(MODELS)} or svm")
    return MODELS[key]
