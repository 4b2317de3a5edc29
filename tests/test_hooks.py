"""Training-loop hooks (mltc.training.hooks): the regularisers the config asks for are hooks built in one
place, and a user's hook joins the loop through ``Trainer(config, hooks=[...])`` without editing it."""
import warnings

import pytest
import torch

from mltc.training import FGMHook, GradientPenalty, RDrop, TrainConfig, Trainer, TrainingHook, hooks_from_config

TEXTCNN = dict(model="textcnn", featurizer_options={"min_count": 1},
               network_options={"dim": 8, "filters": 4, "dropout": 0.3})
MLP = dict(model="tfidf-mlp", network_options={"hidden_size": 8, "dropout": 0.3})


def config(**kw):
    return TrainConfig(**{"epochs": 2, "batch_size": 4, "seed": 5, "patience": 10, "loss": "db", **kw})


def fit(cfg, data, hooks=()):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return Trainer(cfg, hooks=hooks).fit(*data)


def history(clf):
    return [{k: v for k, v in h.items() if "seconds" not in k} for h in clf.metrics["history"]]


def assert_same_run(a, b):
    assert history(a) == history(b)
    sa, sb = a.network.state_dict(), b.network.state_dict()
    assert sa.keys() == sb.keys()
    for k in sa:
        assert torch.equal(sa[k], sb[k]), k


class LossRecorder(TrainingHook):
    """Observes: the loss of every micro-batch, the steps, and a field added to each epoch's record."""

    def __init__(self):
        self.losses, self.steps, self.started, self.ended = [], [], 0, 0

    def on_fit_start(self, ctx):
        self.started += 1

    def loss(self, ctx, batch, y, loss):
        self.losses.append(loss.item())
        return loss

    def on_step_end(self, ctx):
        self.steps.append(ctx.step)

    def on_epoch_end(self, ctx, record):
        record["recorded_steps"] = len(self.steps)

    def on_fit_end(self, ctx):
        self.ended += 1


class L1(TrainingHook):
    """Changes training: an L1 penalty on the network's weight matrices."""

    def __init__(self, lam):
        self.lam = lam

    def loss(self, ctx, batch, y, loss):
        return loss + self.lam * sum(p.abs().sum() for p in ctx.network.parameters() if p.ndim >= 2)


def test_the_config_builds_its_hooks_in_one_place():
    assert hooks_from_config(TrainConfig()) == []
    hooks = hooks_from_config(TrainConfig(rdrop_alpha=0.5, fgm_epsilon=0.3, gp_epsilon=0.05))
    assert [type(h) for h in hooks] == [RDrop, FGMHook, GradientPenalty]
    assert [h.alpha if isinstance(h, RDrop) else h.epsilon for h in hooks] == [0.5, 0.3, 0.05]
    assert [h.double_backward for h in hooks] == [False, False, True]


def test_hooks_from_the_config_equal_the_same_hooks_given_explicitly(toy):
    """R-Drop, FGM and the gradient penalty from the config, or the same hooks passed to the Trainer:
    bit for bit the same run. The explicit gradient penalty also gets the loss without the fused
    backward (the fused db loss refuses double backward), as the config's does."""
    from_config = fit(config(**TEXTCNN, rdrop_alpha=0.5, fgm_epsilon=0.3, gp_epsilon=0.05), toy)
    explicit = fit(config(**TEXTCNN), toy, hooks=[RDrop(0.5), FGMHook(0.3), GradientPenalty(0.05)])
    assert_same_run(from_config, explicit)
    plain = fit(config(**TEXTCNN), toy)
    assert history(plain) != history(explicit)  # the hooks did change the training


def test_a_user_hook_is_called_and_observes_without_changing_training(toy):
    recorder = LossRecorder()
    cfg = config(**MLP, grad_accum=2)
    watched, plain = fit(cfg, toy, hooks=[recorder]), fit(cfg, toy)
    assert [{k: v for k, v in h.items() if k != "recorded_steps"} for h in history(watched)] == history(plain)
    for a, b in zip(watched.network.parameters(), plain.network.parameters()):
        assert torch.equal(a, b)
    # 11 texts, batches of 4 (4, 4, 3), each in 2 micro-batches, 2 epochs
    assert len(recorder.losses) == 3 * 2 * 2 and recorder.steps == [1, 2, 3, 4, 5, 6]
    assert [h["recorded_steps"] for h in watched.metrics["history"]] == [3, 6]
    assert recorder.started == recorder.ended == 1
    # the training loss reported is the mean of the micro-batch losses the hook saw, weighted by their rows
    sizes = [2, 2, 2, 2, 2, 1]
    first_epoch = sum(loss * n for loss, n in zip(recorder.losses[:6], sizes)) / 11
    assert watched.metrics["history"][0]["train_loss"] == pytest.approx(first_epoch, rel=1e-12)


def test_a_user_hook_changes_training(toy):
    cfg = config(**MLP, epochs=3)
    plain, sparse = fit(cfg, toy), fit(cfg, toy, hooks=[L1(0.01)])

    def l1(clf):
        return sum(p.abs().sum().item() for p in clf.network.parameters() if p.ndim >= 2)

    assert l1(sparse) < l1(plain)
    assert all(h["train_loss"] > g["train_loss"] for h, g in zip(history(sparse), history(plain)))  # the term counts


def test_user_hooks_run_after_the_configs(toy, monkeypatch):
    order = []

    class Mark(TrainingHook):
        def loss(self, ctx, batch, y, loss):
            order.append("user")
            return loss

    original = GradientPenalty.loss

    def spy(self, ctx, batch, y, loss):
        order.append("gp")
        return original(self, ctx, batch, y, loss)

    monkeypatch.setattr(GradientPenalty, "loss", spy)
    fit(config(**TEXTCNN, epochs=1, batch_size=16, gp_epsilon=0.05), toy, hooks=[Mark()])
    assert order == ["gp", "user"]  # one step: 11 texts in one batch


def test_an_embedding_hook_binds_at_fit_start_and_refuses_a_network_without_an_embedding():
    from types import SimpleNamespace
    for hook, what in ((FGMHook(0.5), "FGM"), (GradientPenalty(0.1), "the gradient penalty")):
        with pytest.raises(ValueError, match=f"{what} needs a network with an embedding table"):
            hook.on_fit_start(SimpleNamespace(network=torch.nn.Linear(3, 2)))
        with pytest.raises(RuntimeError, match="on_fit_start was not called"):  # never a silent no-op
            if isinstance(hook, FGMHook):
                hook.after_backward(None, {}, torch.zeros(1))
            else:
                hook.loss(None, {}, torch.zeros(1), torch.zeros(()))
        net = torch.nn.Module()
        net.embedding = torch.nn.Embedding(4, 2)
        hook.on_fit_start(SimpleNamespace(network=net))
        bound = hook.fgm.weight if isinstance(hook, FGMHook) else hook.weight
        assert bound is net.embedding.weight


def test_mltc_train_passes_hooks_to_the_neural_trainer_and_refuses_them_elsewhere(toy):
    import mltc
    rec = LossRecorder()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        mltc.train(*toy, config(**MLP, optimizer="sgd"), hooks=[rec])
    assert rec.started == 1 and rec.ended == 1 and rec.losses
    with pytest.raises(ValueError, match="the linear fitter has none"):
        mltc.train(*toy, TrainConfig(model="tfidf-linear"), hooks=[LossRecorder()])
    with pytest.raises(TypeError, match="hooks must be TrainingHook objects"):
        Trainer(config(**MLP), hooks=[lambda ctx: None])
