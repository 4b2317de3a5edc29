"""Hooks into the neural training loop: R-Drop, FGM, the embedding gradient penalty, and your own.

The loop (:class:`mltc.training.Trainer`) knows no regulariser: for each micro-batch it asks the
hooks for the loss, lets them add terms, back-propagates, then lets them act on the gradients;
after each optimizer step and each epoch it tells them. A hook is a :class:`TrainingHook`
subclass overriding the methods it needs; every method gets the run's :class:`TrainingContext`.
The hooks of a run are those the config asks for (:func:`hooks_from_config`, the one place that
reads ``rdrop_alpha``, ``fgm_epsilon`` and ``gp_epsilon``), then the ones given to
``Trainer(config, hooks=[...])``, called in that order.

- R-Drop: Liang et al., "R-Drop: Regularized Dropout for Neural Networks", NeurIPS 2021.
- FGM: Miyato et al., "Adversarial Training Methods for Semi-Supervised Text Classification",
  ICLR 2017.
- Gradient penalty on the embeddings: Su, "A brief talk on adversarial training" (2020), after
  the double-backpropagation penalty of Drucker & LeCun (1992).

Mixed precision is no hook: the context's :class:`~mltc.training.device.MixedPrecision` holds
the autocast and the fp16 loss scale that every forward and backward pass goes through. Several
processes are Accelerate's (:mod:`mltc.training.device`): ``ctx.model`` is then the DDP wrapper.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Sequence

import torch
from torch import nn

from ..losses import FGM, gradient_penalty

if TYPE_CHECKING:
    from ..tasks import Task
    from .config import TrainConfig
    from .device import MixedPrecision
    from .optim import TrainingOptimizer

Batch = dict[str, torch.Tensor]


class TrainingHook:
    """A step of the training loop that can be added without editing it; every method does nothing here.

    Override what you need. Hooks run in their order in the run's list; only hooks that override
    the same method see each other's work. A hook's own state is not checkpointed (``resume=True``
    starts it afresh).

    Attributes
    ----------
    double_backward : bool
        True when the hook differentiates through a gradient (``create_graph=True``): the run then
        builds the loss with its reference backward (not the fused one) and transformer attention
        in eager mode.
    """

    double_backward: bool = False

    def on_fit_start(self, ctx: TrainingContext) -> None:
        """Once the network, the loss and the optimizer exist, before any step (and before a resume
        loads its checkpoint into them): bind to the network here (``ctx.network``)."""

    def compute_loss(self, ctx: TrainingContext, batch: Batch, y: torch.Tensor) -> torch.Tensor | None:
        """The loss of one micro-batch from its forward pass(es), or None to leave it to the next hook
        (in the end, one pass: ``ctx.loss_fn(ctx.model(**batch), y)`` under autocast). The first hook
        returning a loss wins; :meth:`TrainingContext.compute_loss` asks them."""
        return None

    def loss(self, ctx: TrainingContext, batch: Batch, y: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
        """The loss to back-propagate: ``loss`` with a term added, or another one. Each hook gets the
        previous hook's result; the last one is back-propagated and reported as the training loss."""
        return loss

    def after_backward(self, ctx: TrainingContext, batch: Batch, y: torch.Tensor) -> None:
        """After the micro-batch's backward (its gradients accumulated, no step taken yet); further
        losses go through :meth:`TrainingContext.backward`, e.g. an adversarial pass."""

    def on_step_end(self, ctx: TrainingContext) -> None:
        """After each optimizer step (``ctx.step`` counts them), e.g. an exponential moving average."""

    def on_epoch_end(self, ctx: TrainingContext, record: dict[str, Any]) -> None:
        """After an epoch's validation; ``record`` (epoch, train_loss, validation fields, lr, seconds)
        goes into the history, and entries added to it go too."""

    def on_fit_end(self, ctx: TrainingContext) -> None:
        """After the last epoch, once the best weights are back in the network, before the decision is fitted."""


@dataclass(eq=False)
class TrainingContext:
    """What the hooks of one run see and call.

    Attributes
    ----------
    config : TrainConfig
        The resolved config of the run.
    task : Task
        The fitted task (targets, ``rdrop_kl``, scores).
    network : nn.Module
        The network being trained.
    model : nn.Module
        What runs forward passes: the network, or its DDP wrapper under several processes.
    loss_fn : nn.Module
        ``loss_fn(logits, y)``, the task's loss.
    optimizer : TrainingOptimizer
    precision : MixedPrecision
        The autocast of forward passes and the fp16 loss scale.
    accelerator : object
        The process handle (:func:`~mltc.training.device.make_accelerator`): ``device``,
        ``is_main_process``, ``num_processes``.
    hooks : sequence of TrainingHook
        The run's hooks, in calling order.
    epoch : int
        The epoch under way (1-based).
    step : int
        Optimizer steps taken, resumed epochs included.
    weight : float
        The current micro-batch's factor on its loss before backward (its share of the batch, and
        the SGD scale): :meth:`backward` applies it.
    """

    config: TrainConfig
    task: Task
    network: nn.Module
    model: nn.Module
    loss_fn: nn.Module
    optimizer: TrainingOptimizer
    precision: MixedPrecision
    accelerator: Any
    hooks: Sequence[TrainingHook] = ()
    epoch: int = 0
    step: int = 0
    weight: float = 1.0

    def compute_loss(self, batch: Batch, y: torch.Tensor) -> torch.Tensor:
        """The micro-batch's loss: the first hook's :meth:`~TrainingHook.compute_loss` that gives one,
        else one forward pass under autocast."""
        for hook in self.hooks:
            loss = hook.compute_loss(self, batch, y)
            if loss is not None:
                return loss
        with self.precision.autocast():
            logits = self.model(**batch)
            return self.loss_fn(logits.float(), y)

    def backward(self, loss: torch.Tensor) -> None:
        """Back-propagate ``loss`` of the current micro-batch: times :attr:`weight`, through the loss scale."""
        self.precision.backward(loss * self.weight)


def embedding_weight(network: nn.Module, what: str) -> torch.Tensor:
    """The network's word-embedding matrix (``network.embedding.weight``), which FGM and the gradient
    penalty act on; ``ValueError`` naming ``what`` needs it when the network has none."""
    weight = getattr(getattr(network, "embedding", None), "weight", None)
    if not isinstance(weight, torch.Tensor):
        raise ValueError(f"{what} needs a network with an embedding table (network.embedding.weight); "
                         f"{type(network).__name__} has none")
    return weight


class RDrop(TrainingHook):
    """R-Drop (Liang et al., NeurIPS 2021): two dropout passes, their mean loss plus ``alpha`` times the
    task's symmetric KL between them (``task.rdrop_kl``: Bernoulli per label, categorical per aspect).

    Parameters
    ----------
    alpha : float
        Weight of the KL term (``rdrop_alpha``).
    """

    def __init__(self, alpha: float) -> None:
        self.alpha = float(alpha)

    def compute_loss(self, ctx: TrainingContext, batch: Batch, y: torch.Tensor) -> torch.Tensor:
        with ctx.precision.autocast():
            logits = ctx.model(**batch)
            logits2 = ctx.model(**batch)  # a second dropout pass
        return (0.5 * (ctx.loss_fn(logits.float(), y) + ctx.loss_fn(logits2.float(), y))
                + self.alpha * ctx.task.rdrop_kl(logits, logits2))


class FGMHook(TrainingHook):
    """FGM adversarial training (Miyato et al., ICLR 2017) on the word embeddings.

    After each micro-batch's backward, the embedding matrix moves by ``epsilon * g / ||g||_2``,
    the micro-batch's loss (:meth:`TrainingContext.compute_loss`, without the terms of
    :meth:`TrainingHook.loss`) is computed there and back-propagated (the gradients add up), and
    the embeddings are restored (:class:`mltc.losses.FGM`).

    Parameters
    ----------
    epsilon : float
        Size of the step (``fgm_epsilon``).
    """

    def __init__(self, epsilon: float) -> None:
        self.epsilon = float(epsilon)
        self.fgm: FGM | None = None

    def on_fit_start(self, ctx: TrainingContext) -> None:
        self.fgm = FGM(embedding_weight(ctx.network, "FGM"), self.epsilon)

    def after_backward(self, ctx: TrainingContext, batch: Batch, y: torch.Tensor) -> None:
        if self.fgm is None:
            raise RuntimeError("FGMHook: on_fit_start was not called (no embedding bound)")
        if self.fgm.attack():
            ctx.backward(ctx.compute_loss(batch, y))
            self.fgm.restore()


class GradientPenalty(TrainingHook):
    """The embedding gradient penalty (Su 2020): adds ``epsilon / 2 * ||d loss / d E||^2`` to the loss,
    ``E`` the word-embedding matrix (:func:`mltc.losses.gradient_penalty`; needs double backward).

    Parameters
    ----------
    epsilon : float
        Weight of the penalty (``gp_epsilon``).
    """

    double_backward = True

    def __init__(self, epsilon: float) -> None:
        self.epsilon = float(epsilon)
        self.weight: torch.Tensor | None = None

    def on_fit_start(self, ctx: TrainingContext) -> None:
        self.weight = embedding_weight(ctx.network, "the gradient penalty")

    def loss(self, ctx: TrainingContext, batch: Batch, y: torch.Tensor, loss: torch.Tensor) -> torch.Tensor:
        if self.weight is None:
            raise RuntimeError("GradientPenalty: on_fit_start was not called (no embedding bound)")
        return loss + gradient_penalty(loss, self.weight, self.epsilon)


def hooks_from_config(cfg: TrainConfig) -> list[TrainingHook]:
    """The hooks a config asks for, in calling order: R-Drop (``rdrop_alpha`` > 0), FGM
    (``fgm_epsilon`` > 0), the gradient penalty (``gp_epsilon`` > 0). The one place that reads them."""
    hooks: list[TrainingHook] = []
    if cfg.rdrop_alpha > 0:
        hooks.append(RDrop(cfg.rdrop_alpha))
    if cfg.fgm_epsilon > 0:
        hooks.append(FGMHook(cfg.fgm_epsilon))
    if cfg.gp_epsilon > 0:
        hooks.append(GradientPenalty(cfg.gp_epsilon))
    return hooks
