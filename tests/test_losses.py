"""Losses: hand-computed values, identities, gradients, devices/dtypes, extreme inputs."""
import math
import warnings

import numpy as np
import pytest
import torch
import torch.nn.functional as F

from mltc.losses import (BALANCED_VARIANTS, LOSS_NAMES, BalancedLoss, balanced_loss, binary_cross_entropy,
                         class_balanced_weights, estimate_db_mu, loss_config, make_loss,
                         negative_tolerant_bias, rebalanced_weights, zlpr_loss)

FREQ = torch.tensor([50.0, 10.0, 3.0, 1.0])
N = 60


def sig(x):
    return 1 / (1 + math.exp(-x))


def softplus(x):
    return math.log1p(math.exp(x))


@pytest.fixture
def batch():
    g = torch.Generator().manual_seed(0)
    z = torch.randn(5, 4, generator=g, dtype=torch.float64) * 3
    y = (torch.rand(5, 4, generator=g) > 0.6).double()
    y[0] = 0  # a text without labels
    y[1, 0] = 1
    return z, y


# ---------------------------------------------------------------- hand-computed values
def test_bce_entry_values():
    z = torch.tensor([[2.0, -1.0]])
    y = torch.tensor([[1.0, 0.0]])
    got = binary_cross_entropy(z, y)
    assert got[0, 0].item() == pytest.approx(math.log(1 + math.exp(-2)))
    assert got[0, 1].item() == pytest.approx(math.log(1 + math.exp(-1)))


def test_focal_single_entry_by_hand():
    z, y = 1.5, 1.0
    ell = softplus(-z)
    p_t = math.exp(-ell)  # = sigmoid(1.5)
    expected = 0.5 * (1 - p_t) ** 2 * ell
    loss = make_loss("fl")(torch.tensor([[z]]), torch.tensor([[y]]))
    assert loss.item() == pytest.approx(expected, rel=1e-6)


def test_class_balanced_weight_by_hand():
    w = class_balanced_weights(torch.tensor([1.0, 2.0, 10.0]), beta=0.9)
    assert w.tolist() == pytest.approx([1.0, 0.1 / (1 - 0.81), 0.1 / (1 - 0.9**10)])


def test_rebalanced_weight_by_hand():
    freq = torch.tensor([10.0, 2.0])
    y = torch.tensor([[1.0, 1.0], [0.0, 0.0]])
    w = rebalanced_weights(y, freq, alpha=0.1, beta=10.0, mu=0.9)
    R = 1 / 10 + 1 / 2
    assert w[0, 0].item() == pytest.approx(0.1 + sig(10 * ((1 / 10) / R - 0.9)))
    assert w[0, 1].item() == pytest.approx(0.1 + sig(10 * ((1 / 2) / R - 0.9)))
    assert w[1].tolist() == pytest.approx([1.1, 1.1])  # no positive label: alpha + 1


def test_ntr_bias_by_hand():
    b = negative_tolerant_bias(torch.tensor([6.0]), 60, kappa=0.05)
    assert b.item() == pytest.approx(-0.05 * math.log(60 / 6 - 1))


def test_db_full_entry_by_hand():
    """DB = rebalanced weight * NTR logits (+ w/lambda on negatives) * focal, one text, two labels."""
    freq, n = torch.tensor([10.0, 2.0]), 20
    z = torch.tensor([[0.3, -0.7]])
    y = torch.tensor([[1.0, 0.0]])
    loss = make_loss("db", freq, n, db_mu=0.5)
    R = 1 / 10
    total = 0.0
    for j, (zj, yj) in enumerate(zip([0.3, -0.7], [1, 0])):
        w = 0.1 + sig(10 * ((1 / freq[j].item()) / R - 0.5))
        b = -0.05 * math.log(n / freq[j].item() - 1)
        zz = zj + b
        if yj == 0:
            zz *= 2.0
            w /= 2.0
        ell = softplus(-zz) if yj else softplus(zz)
        focal = 0.5 * (1 - math.exp(-ell)) ** 2
        total += w * focal * ell
    assert loss(z, y).item() == pytest.approx(total / 2, rel=1e-6)


def test_zlpr_by_hand():
    z = torch.tensor([[2.0, -1.0, 0.5]])
    y = torch.tensor([[1.0, 0.0, 0.0]])
    expected = math.log(1 + math.exp(-1.0) + math.exp(0.5)) + math.log(1 + math.exp(-2.0))
    assert zlpr_loss(z, y).item() == pytest.approx(expected, rel=1e-6)


# ------------------------------------------------------------------------- identities
def test_focal_gamma0_alpha1_is_bce(batch):
    z, y = batch
    got = balanced_loss(z, y, focal=True, gamma=0.0, alpha=1.0)
    # alpha=1 gives positives weight 1 and negatives 0: compare on the positive part
    assert got.item() == pytest.approx((binary_cross_entropy(z, y) * y).mean().item())
    half = balanced_loss(z, y, focal=True, gamma=0.0, alpha=0.5)
    assert half.item() == pytest.approx(0.5 * F.binary_cross_entropy_with_logits(z, y).item())


def test_bce_preset_equals_torch(batch):
    z, y = batch
    assert make_loss("bce")(z, y).item() == pytest.approx(F.binary_cross_entropy_with_logits(z, y).item())


def test_cb_equal_frequencies_is_scaled_bce(batch):
    z, y = batch
    freq = torch.full((4,), 7.0)
    cb = make_loss("cb", freq, N, focal=False, loss_weight=1.0)
    scale = (1 - 0.9) / (1 - 0.9**7)
    assert cb(z, y).item() == pytest.approx(scale * F.binary_cross_entropy_with_logits(z, y).item())


def test_db_with_parts_off_is_bce(batch):
    z, y = batch
    loss = BalancedLoss(FREQ, N, reweight="none", ntr=False, focal=False)
    assert loss(z, y).item() == pytest.approx(F.binary_cross_entropy_with_logits(z, y).item())


def test_ntr_kappa0_lambda1_is_bce(batch):
    z, y = batch
    loss = make_loss("ntr-fl", FREQ, N, focal=False, ntr_kappa=0.0, ntr_lambda=1.0)
    assert loss(z, y).item() == pytest.approx(F.binary_cross_entropy_with_logits(z, y).item())


def test_ntr_legacy_switch_only_changes_negative_weight(batch):
    z, y = batch
    paper = make_loss("ntr-fl", FREQ, N)
    legacy = make_loss("ntr-fl", FREQ, N, ntr_scale_weight=False)
    lp = paper(z, y * 0 + 1)  # all positive: no negatives, both agree
    ll = legacy(z, y * 0 + 1)
    assert lp.item() == pytest.approx(ll.item())
    neg = torch.zeros_like(y)
    assert legacy(z, neg).item() == pytest.approx(2.0 * paper(z, neg).item())


def test_zlpr_soft_equals_hard_for_binary_targets(batch):
    z, y = batch
    hard = zlpr_loss(z, y, reduction="none")
    for i in range(z.shape[0]):
        neg = torch.cat([torch.zeros(1, dtype=z.dtype), z[i][y[i] == 0]])
        pos = torch.cat([torch.zeros(1, dtype=z.dtype), -z[i][y[i] == 1]])
        assert hard[i].item() == pytest.approx((torch.logsumexp(neg, 0) + torch.logsumexp(pos, 0)).item())


def test_loss_weight_scales(batch):
    z, y = batch
    a = make_loss("cb", FREQ, N)  # reuters: loss_weight 10
    b = make_loss("cb", FREQ, N, loss_weight=1.0)
    assert a(z, y).item() == pytest.approx(10 * b(z, y).item())
    assert make_loss("cb", FREQ, N, preset="pubmed").loss_weight == 5
    assert make_loss("ntr-fl", FREQ, N, preset="pubmed").loss_weight == 0.5


def test_presets_table():
    assert set(BALANCED_VARIANTS) == {"bce", "fl", "cb", "r-fl", "ntr-fl", "db-0fl", "cb-ntr", "db"}
    with pytest.warns(DeprecationWarning, match="BALANCED_VARIANTS"):
        from mltc.losses import PRESETS  # the old name of the loss table still works
    assert PRESETS is BALANCED_VARIANTS
    assert loss_config("DB-0FL")["focal"] is False and loss_config("db_0fl")["ntr"] is True
    assert loss_config("db", preset="pubmed")["db_mu"] == 0.05
    with pytest.raises(ValueError, match="unknown loss"):
        make_loss("nope")
    with pytest.raises(TypeError, match="unknown option"):
        make_loss("db", FREQ, N, gama=3)


def test_estimate_mu_matches_definition():
    y = torch.tensor([[1.0, 0, 0], [1, 1, 0], [0, 0, 1], [1, 0, 1]])
    freq = y.sum(0)
    r = []
    for row in y:
        R = sum(row[k] / freq[k] for k in range(3))
        r += [float((1 / freq[j]) / R) for j in range(3) if row[j]]
    r = torch.tensor(r)
    # numpy's median (the authors' notebook): the mean of the two middle values for an even count
    assert estimate_db_mu(y) == pytest.approx(float((r.mean() + np.median(r.numpy())) / 2))
    loss = make_loss("db", freq, 4, train_targets=y, db_mu="auto")
    assert loss.db_mu == pytest.approx(estimate_db_mu(y))


# --------------------------------------------------------------------------- gradients
@pytest.mark.parametrize("name", LOSS_NAMES)
def test_gradcheck(name, batch):
    z, y = batch
    loss = make_loss(name, FREQ, N)
    zz = z.clone().requires_grad_(True)
    assert torch.autograd.gradcheck(lambda t: loss(t, y), (zz,), eps=1e-6, atol=1e-5)


def test_gradient_flows_through_pt():
    """Focal's gradient includes d(1-p_t)^gamma/dz (not a detached factor)."""
    z = torch.tensor([[0.7]], dtype=torch.float64, requires_grad=True)
    y = torch.tensor([[1.0]], dtype=torch.float64)
    make_loss("fl")(z, y).backward()
    p = sig(0.7)
    ell = -math.log(p)
    # d/dz [0.5 (1-p)^2 * ell] with dp/dz = p(1-p), dell/dz = -(1-p)
    expected = 0.5 * (2 * (1 - p) * (-p * (1 - p)) * ell + (1 - p) ** 2 * (-(1 - p)))
    assert z.grad.item() == pytest.approx(expected, rel=1e-6)


# ---------------------------------------------------------------- robustness and dtypes
@pytest.mark.parametrize("name", LOSS_NAMES)
@pytest.mark.parametrize("dtype", [torch.float32, torch.float16, torch.bfloat16])
def test_extreme_logits_finite(name, dtype):
    freq = torch.tensor([0.0, 1.0, 30.0, 60.0])  # never seen, rare, common, in every text
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)
        loss = make_loss(name, freq, 60)
    z = torch.tensor([[1e4, -1e4, 1e4, -1e4], [-1e4, 1e4, 0.0, 1e4], [0, 0, 0, 0]], dtype=dtype, requires_grad=True)
    y = torch.tensor([[0.0, 1, 1, 0], [1, 0, 0, 1], [0, 0, 0, 0]])  # third text has no label
    z0 = z.detach().clone()
    out = loss(z, y)
    out.backward()
    assert torch.isfinite(out).all() and torch.isfinite(z.grad).all()
    assert torch.equal(z.detach(), z0)  # inputs untouched


def test_zero_frequency_warns_once_and_stays_finite():
    with pytest.warns(RuntimeWarning, match="zero training frequency"):
        loss = make_loss("db", torch.tensor([0.0, 5.0]), 10)
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # no warning per batch
        assert torch.isfinite(loss(torch.zeros(2, 2), torch.tensor([[0.0, 1.0], [0.0, 0.0]])))


def test_label_in_every_text_warns():
    with pytest.warns(RuntimeWarning, match="every training text"):
        loss = make_loss("ntr-fl", torch.tensor([10.0, 3.0]), 10)
    assert torch.isfinite(loss.ntr_bias).all()


def test_inputs_not_modified_and_dtype(batch):
    z, y = batch
    z32, y32 = z.float(), y.float()
    zc, yc = z32.clone(), y32.clone()
    for name in LOSS_NAMES:
        out = make_loss(name, FREQ, N)(z32, y32)
        assert out.dtype == torch.float32
    assert torch.equal(z32, zc) and torch.equal(y32, yc)
    assert make_loss("db", FREQ, N)(z.half(), y).dtype == torch.float32


def test_meta_device_kept(batch):
    """Tensors made inside the loss follow the logits' device (checked on 'meta')."""
    z, y = batch
    out = make_loss("db", FREQ, N)(z.to("meta"), y.to("meta"))
    assert out.device.type == "meta"


def test_shape_mismatch_is_an_error():
    with pytest.raises(ValueError, match="differ in shape"):
        make_loss("bce")(torch.zeros(2, 3), torch.zeros(2, 4))
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        zlpr_loss(torch.zeros(1, 2), torch.tensor([[2.0, 0.0]]))


# ------------------------------------------------------------- fused == reference
@pytest.mark.parametrize("name", LOSS_NAMES)
def test_fused_equals_reference(name, batch):
    z, y = batch
    fused, ref = make_loss(name, FREQ, N), make_loss(name, FREQ, N, fused=False)
    z1, z2 = z.clone().requires_grad_(True), z.clone().requires_grad_(True)
    a, b = fused(z1, y), ref(z2, y)
    a.backward()
    b.backward()
    assert a.item() == pytest.approx(b.item(), rel=1e-12, abs=1e-15)
    assert torch.allclose(z1.grad, z2.grad, rtol=1e-10, atol=1e-14)


def test_reference_path_takes_soft_targets_and_double_backward(batch):
    z, y = batch
    soft = y * 0.8 + 0.1
    loss = make_loss("db", FREQ, N, fused=False)
    zz = z.clone().requires_grad_(True)
    (g,) = torch.autograd.grad(loss(zz, soft), zz, create_graph=True)
    g.pow(2).sum().backward()  # second order works
    assert torch.isfinite(zz.grad).all()
    assert zlpr_loss(z, soft).item() < zlpr_loss(z, y).item() + 10  # soft targets accepted
