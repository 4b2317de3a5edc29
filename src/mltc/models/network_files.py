"""A model folder's network: built from its description, saved to and loaded from ``model.safetensors``.

A plain linear model is :class:`~mltc.models.linear_weights.LinearWeights` (numpy, no torch);
every other network a torch module of :data:`~mltc.models.registry.NETWORKS`.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..modelcheck import ModelFormatError, blame, check_weights_match, safetensors_shapes
from .linear_weights import LinearWeights, is_linear_spec
from .registry import NETWORKS

if TYPE_CHECKING:  # pragma: no cover
    from torch import nn


def build_network(spec: dict[str, Any]) -> nn.Module:
    cls = NETWORKS.get(spec["class"])
    if cls is None:
        raise ValueError(f"unknown network class {spec['class']!r} in the model folder")
    return cls(spec["input_size"], spec["num_labels"], **spec.get("options", {}))


def load_network(spec: dict[str, Any], folder: Path, meta_path: Path,
                 tfidf_input: bool = False) -> nn.Module | LinearWeights:
    """Build the network ``mltc.json`` describes and load ``model.safetensors`` into it.

    The description is first built on the ``meta`` device (no memory) and compared with
    the weights file's header, so a damaged or inconsistent folder fails with one
    :class:`~mltc.modelcheck.ModelFormatError` before anything large is allocated. A plain
    linear model over TF-IDF rows (``tfidf_input``: its featurizer gives sparse matrices) loads as
    :class:`~mltc.models.linear_weights.LinearWeights` (no torch).
    """
    weights = folder / "model.safetensors"
    header = safetensors_shapes(weights)
    if tfidf_input and is_linear_spec(spec):
        with blame(meta_path, "the network it describes cannot be built"):
            expected = LinearWeights.expected(spec)
        check_weights_match(expected, header, weights, meta_path)
        from safetensors.numpy import load_file
        with blame(weights, "cannot load the weights"):
            arrays = load_file(str(weights))
        with blame(weights, "inconsistent sparse weights"):
            linear = LinearWeights.from_arrays(spec, arrays)
        bad_name = linear.nonfinite()
        if bad_name is not None:
            raise ModelFormatError(weights, f"tensor {bad_name!r} holds NaN or infinite values")
        return linear
    import torch
    from safetensors.torch import load_model
    with blame(meta_path, "the network it describes cannot be built"), torch.device("meta"):
        skeleton = build_network(spec)
    expected = {k: (tuple(v.shape), v.is_floating_point()) for k, v in skeleton.state_dict().items()}
    check_weights_match(expected, header, weights, meta_path)
    with blame(meta_path, "the network it describes cannot be built"):
        network = build_network(spec)
    with blame(weights, "cannot load the weights"):
        load_model(network, str(weights), strict=True, device="cpu")
    if hasattr(network, "validate"):
        with blame(weights, "inconsistent sparse weights"):
            network.validate()  # type: ignore[operator]  # hasattr() does not narrow a Module
    bad = [k for k, v in network.state_dict().items() if v.is_floating_point() and not torch.isfinite(v).all()]
    if bad:
        raise ModelFormatError(weights, f"tensor {bad[0]!r} holds NaN or infinite values")
    return network.eval()


def save_network(network: nn.Module | LinearWeights, path: Path, metadata: dict[str, str]) -> None:
    """Write the network's tensors to ``path`` (safetensors)."""
    if isinstance(network, LinearWeights):
        from safetensors.numpy import save_file
        save_file(network.arrays(), str(path), metadata=metadata)
    else:
        from safetensors.torch import save_model
        save_model(network, str(path), metadata=metadata)
