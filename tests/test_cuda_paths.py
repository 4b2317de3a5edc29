"""The trainer's GPU-only paths, checked on CPU (issue 12): fp16 loss scaling through
TrainingOptimizer.update (unscale before clipping, skipped steps on inf, one update per step),
pinned-memory transfers only towards CUDA, and clear errors for impossible devices/precisions."""
import warnings

import pytest
import torch
from torch import nn

from mltc.training import TrainConfig, train
from mltc.training import trainer as trainer_mod
from mltc.training.optim import TrainingOptimizer, linear_schedule


def tiny_net(seed=0):
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(3, 4), nn.Linear(4, 2))


def sgd(net, lr=0.1):
    return TrainingOptimizer(net, lr, 0.0, linear_schedule(10, 0, False), "sgd")


def loss_of(net):
    x = torch.linspace(-1, 1, 6).reshape(2, 3)
    return (net(x) ** 2).sum() * 10


def params(net):
    return [p.detach().clone() for p in net.parameters()]


def run_step(scale=None, clip=None, poison=False):
    net = tiny_net()
    opt = sgd(net)
    scaler = torch.amp.GradScaler("cpu", init_scale=scale) if scale else None
    loss = loss_of(net)
    (scaler.scale(loss) if scaler else loss).backward()
    if poison:
        next(net.parameters()).grad[0, 0] = float("inf")
    norm = opt.update(scaler, clip)
    return net, scaler, norm


def test_scaled_step_equals_plain_step():
    plain, _, _ = run_step()
    scaled, scaler, _ = run_step(scale=2.0 ** 10)
    for a, b in zip(params(plain), params(scaled)):
        assert torch.allclose(a, b, atol=1e-6)
    assert scaler.get_scale() == 2.0 ** 10  # a good step keeps the scale (growth after 2000 steps)


def test_gradients_are_unscaled_before_clipping():
    """SGD is not scale invariant: clipping scaled gradients would shrink the step 1024-fold."""
    plain, _, norm_plain = run_step(clip=0.5)
    scaled, _, norm_scaled = run_step(scale=2.0 ** 10, clip=0.5)
    assert norm_plain == pytest.approx(norm_scaled, rel=1e-5) and norm_plain > 0.5  # clipping is active
    for a, b in zip(params(plain), params(scaled)):
        assert torch.allclose(a, b, atol=1e-6)


def test_inf_gradient_skips_the_step_and_backs_off():
    before = params(tiny_net())
    net, scaler, norm = run_step(scale=2.0 ** 10, clip=1.0, poison=True)
    assert not (norm < float("inf"))  # inf (or NaN) reported, not hidden by the clipping
    for a, b in zip(before, params(net)):
        assert torch.equal(a, b)  # no parameter moved
    assert scaler.get_scale() == 2.0 ** 9


def test_move_to_device_never_pins_on_cpu(monkeypatch):
    def boom(self):
        raise AssertionError("pin_memory called for a CPU target")

    monkeypatch.setattr(torch.Tensor, "pin_memory", boom)
    batch = {"ids": torch.ones(2, 3, dtype=torch.long), "y": torch.zeros(2, 4)}
    out = trainer_mod.move_to_device(batch, torch.device("cpu"))
    assert all(out[k] is batch[k] for k in batch)  # nothing copied either


def test_move_to_device_pins_dense_tensors_for_cuda(monkeypatch):
    """Towards CUDA: dense tensors are pinned and copied asynchronously; sparse ones are not pinned."""
    calls = []

    def fake_pin(self):
        calls.append(("pin", self.layout))
        return self

    def fake_to(self, device, non_blocking=False):
        calls.append(("to", str(device), non_blocking))
        return self

    monkeypatch.setattr(torch.Tensor, "pin_memory", fake_pin)
    monkeypatch.setattr(torch.Tensor, "to", fake_to)
    sparse = torch.sparse_coo_tensor(torch.tensor([[0], [1]]), torch.tensor([1.0]), (2, 2))
    trainer_mod.move_to_device({"ids": torch.ones(2, 3), "tfidf": sparse}, torch.device("cuda"))
    assert calls == [("pin", torch.strided), ("to", "cuda", True), ("to", "cuda", True)]


def test_impossible_devices_and_precisions_are_clear_errors(monkeypatch):
    if torch.cuda.is_available():
        pytest.skip("checks the messages a CPU-only machine gives")
    with pytest.raises(ValueError, match="needs a CUDA GPU"):
        trainer_mod.make_accelerator(TrainConfig(device="cuda"))
    with pytest.raises(ValueError, match="fp16 needs a GPU"):
        trainer_mod.make_accelerator(TrainConfig(precision="fp16"))
    with pytest.raises(ValueError, match="device must be"):
        trainer_mod.make_accelerator(TrainConfig(device="tpu"))
    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "is_bf16_supported", lambda *a, **k: False)
    with pytest.raises(ValueError, match="no bfloat16 support"):
        trainer_mod.make_accelerator(TrainConfig(precision="bf16"))


def test_fp16_training_loop_runs_with_a_cpu_scaler(toy, monkeypatch):
    """The whole fp16 path (autocast float16, GradScaler, update) on CPU: the trainer's check
    that refuses fp16 on CPU is bypassed here only to run the loop; the scaler follows the
    device type (GradScaler('cpu') here, 'cuda' on a GPU)."""
    from accelerate import Accelerator

    monkeypatch.setattr(trainer_mod, "make_accelerator", lambda cfg: Accelerator(cpu=True, mixed_precision="no"))
    made = []
    real = torch.amp.GradScaler

    def spy(device, *a, **k):
        made.append(device)
        return real(device, *a, **k)

    monkeypatch.setattr(torch.amp, "GradScaler", spy)
    tr, va = toy
    cfg = TrainConfig(model="tfidf-mlp", loss="db", epochs=2, seed=1, precision="fp16", clip_norm=1.0,
                      network_options={"hidden_size": 8})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        clf = train(tr, va, cfg)
    assert made == ["cpu"]
    hist = clf.metrics["history"]
    assert len(hist) == 2 and all(h["train_seconds"] <= h["seconds"] for h in hist)
    assert all(torch.isfinite(p).all() for p in clf.network.parameters())


def test_loss_buffers_follow_the_training_device(toy, monkeypatch):
    """The loss's frequency/bias buffers are moved to the training device once, not copied per step."""
    import mltc.tasks.multilabel as multilabel_mod  # the multi-label task builds the loss
    moved = []
    real = multilabel_mod.make_loss

    def spy(*a, **k):
        loss = real(*a, **k)
        to = loss.to

        def record(device, *args, **kw):
            moved.append(torch.device(device).type)
            return to(device, *args, **kw)

        loss.to = record
        return loss

    monkeypatch.setattr(multilabel_mod, "make_loss", spy)
    tr, va = toy
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        train(tr, va, TrainConfig(loss="cb-ntr", epochs=1, seed=1, optimizer="sgd"))
    assert moved == ["cpu"]  # the accelerator's device here; "cuda" on a GPU
