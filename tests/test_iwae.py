import itertools

import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from numpy.testing import assert_allclose
from scipy.special import logsumexp

from minivae import VAE, Autoencoder
from minivae import linear_gaussian as lg
from minivae.errors import InputError
from minivae.gradcheck import assert_model_gradients_match
from minivae.iwae import ImportanceWeighted, effective_sample_size
from kinks import model_kink_margin

seeds = st.integers(0, 2**32 - 1)


def _small_vae(likelihood, rng, activation="tanh", d=5, latent=2):
    vae = VAE(d, hidden=[4, 3], latent_dim=latent, likelihood=likelihood, sigma=0.7,
              activation=activation, rng=rng, dtype=np.float64)
    for p in vae.params.values():               # nonzero biases: every term is exercised
        p += 0.1 * rng.standard_normal(p.shape)
    return vae


def _data(likelihood, rng, n, d):
    if likelihood == "bernoulli":
        return rng.random((n, d))                 # grey values in [0, 1] are valid targets too
    return rng.standard_normal((n, d))


# -- the hand-derived gradient ------------------------------------------------------------------

@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian", "gaussian-learned"])
@given(seed=seeds, n=st.integers(1, 3), k=st.integers(1, 4), beta=st.floats(0.1, 2.0),
       activation=st.sampled_from(["tanh", "relu"]))
def test_iwae_backward_matches_finite_differences(likelihood, seed, n, k, beta, activation):
    rng = np.random.default_rng(seed)
    vae = _small_vae(likelihood, rng, activation)
    x, eps = _data(likelihood, rng, n, 5), rng.standard_normal((k, n, 2))
    assume(model_kink_margin(vae, x, eps) > 1e-3)     # no ReLU input within a step of its kink
    objective = ImportanceWeighted(vae, k)
    assert_model_gradients_match(objective, x, lambda: objective.loss(x, eps=eps, beta=beta).loss)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian", "gaussian-learned"])
def test_k1_is_the_elbo_with_a_monte_carlo_kl_in_value_and_gradient(likelihood):
    r"""L_1 = log p(x|z) - beta (log q(z|x) - log p(z)) at z = mu + sigma eps: the VAE's
    reconstruction term plus a one-sample KL, whose gradient is derived here independently:
        log q - log p(z) = sum_j [ -eps_j^2 / 2 - log_var_j / 2 + z_j^2 / 2 ] + const
        d/dmu = z,   d/dlog_var = -1/2 + z eps sigma / 2          (per example, / N)
    """
    rng = np.random.default_rng(7)
    vae, beta = _small_vae(likelihood, rng), 0.6
    x, eps = _data(likelihood, rng, 4, 5), rng.standard_normal((4, 2))
    n, L = x.shape[0], 2

    reconstruction = vae.loss(x, eps=eps, beta=0.0).loss          # -log p(x|z), same z
    vae.backward()
    expected = {name: g.copy() for name, g in vae.grads.items()}
    h = vae.encoder.forward(x)
    mu, log_var = h[:, :L], h[:, L:]
    sigma = np.exp(0.5 * log_var)
    z = mu + sigma * eps
    mc_kl = np.mean(np.sum(-0.5 * eps**2 - 0.5 * log_var + 0.5 * z**2, axis=1))
    dmu, dlog_var = beta * z / n, beta * (-0.5 + 0.5 * z * eps * sigma) / n
    vae.encoder.backward(np.concatenate([dmu, dlog_var], axis=1), need_dx=False)
    for name in vae.encoder.grads:
        expected["encoder." + name] += vae.encoder.grads[name]

    objective = ImportanceWeighted(vae, 1)
    parts = objective.loss(x, eps=eps[None], beta=beta)
    objective.backward()
    assert_allclose(parts.loss, reconstruction + beta * mc_kl, rtol=1e-12)
    assert_allclose(parts.kl, mc_kl, rtol=1e-12)
    assert_allclose(parts.reconstruction, reconstruction, rtol=1e-12)
    for name, g in vae.grads.items():
        assert_allclose(g, expected[name], rtol=1e-10, atol=1e-14, err_msg=name)


# -- exact properties at fixed noise ----------------------------------------------------------------

@given(seed=seeds, k=st.integers(2, 5), beta=st.floats(0.1, 2.0))
def test_bound_at_fixed_noise_is_at_least_the_mean_of_its_smaller_subset_bounds(seed, k, beta):
    r"""With eps fixed, (1/k) sum_s w_s is the average over all m-subsets I of (1/m) sum_{s in I} w_s,
    so by Jensen  L_k(eps) >= mean over I of L_m(eps_I)  exactly, for every m < k (Burda et al.,
    proof of Thm. 1). For m = 1 that is loss <= reconstruction + beta kl."""
    rng = np.random.default_rng(seed)
    vae = _small_vae("bernoulli", rng)
    x, eps = rng.random((3, 5)), rng.standard_normal((k, 3, 2))
    parts = ImportanceWeighted(vae, k).loss(x, eps=eps, beta=beta)
    assert parts.loss <= parts.reconstruction + beta * parts.kl + 1e-12
    for m in range(1, k):
        smaller = ImportanceWeighted(vae, m)
        subsets = [smaller.loss(x, eps=eps[list(I)], beta=beta).loss
                   for I in itertools.combinations(range(k), m)]
        assert parts.loss <= np.mean(subsets) + 1e-12


@given(seed=seeds, k=st.integers(2, 6))
def test_k_copies_of_one_sample_give_the_one_sample_bound(seed, k):
    """Equal weights: log (1/k) sum_s w = log w. Repeating eps k times gives L_1 exactly."""
    rng = np.random.default_rng(seed)
    vae = _small_vae("gaussian-learned", rng)
    x, eps = rng.standard_normal((3, 5)), rng.standard_normal((1, 3, 2))
    assert_allclose(ImportanceWeighted(vae, k).loss(x, eps=np.repeat(eps, k, axis=0)).loss,
                    ImportanceWeighted(vae, 1).loss(x, eps=eps).loss, rtol=1e-12)


# -- the exact linear-Gaussian model (probabilistic PCA) -----------------------------------------

def _linear_vae(seed, d=6, latent=2, sigma=0.5, encoder_noise=0.0):
    r"""The linear-Gaussian model x = W z + b + sigma noise as a VAE (linear_gaussian.as_vae),
    with W's columns orthogonal, so that the encoder is exactly the posterior p(z|x); then
    perturbed by encoder_noise. Returns (vae, x (20, d), exact log p(x) (20,))."""
    rng = np.random.default_rng(seed)
    q, _ = np.linalg.qr(rng.standard_normal((d, latent)))
    W = q * rng.uniform(0.5, 2.0, latent)                               # (D, L), W^T W diagonal
    b = rng.standard_normal(d)
    vae = lg.as_vae(W, b, sigma)
    vae.params["encoder.0.W"] += encoder_noise * rng.standard_normal((d, 2 * latent))
    x = lg.sample(20, W, b, sigma, rng)
    return vae, x, lg.log_marginal(x, W, b, sigma)


@given(seed=seeds, k=st.integers(1, 20))
def test_with_the_true_posterior_as_q_every_weight_is_p_x_and_the_bound_is_exact(seed, k):
    vae, x, exact = _linear_vae(seed % 1000)
    eps = np.random.default_rng(seed).standard_normal((k, len(x), 2))
    objective = ImportanceWeighted(vae, k)
    assert_allclose(-objective.loss(x, eps=eps).loss, exact.mean(), rtol=1e-10)
    assert_allclose(objective.log_w, np.broadcast_to(exact, (k, len(x))), rtol=1e-10)
    assert_allclose(effective_sample_size(objective.log_w), k, rtol=1e-8)


def test_bound_rises_with_k_towards_the_exact_log_likelihood():
    """E[L_1] <= E[L_5] <= E[L_50] <= log p(x) (Burda et al., Thm. 1), and L_5000 ~= log p(x),
    for a q that is not the posterior; expectations by averaging 40 independent draws."""
    vae, x, exact = _linear_vae(3, encoder_noise=0.1)
    rng = np.random.default_rng(0)
    bound = {k: -np.mean([ImportanceWeighted(vae, k).loss(x, rng=rng).loss for _ in range(40)])
             for k in (1, 5, 50)}
    assert bound[1] + 0.05 < bound[5] < bound[50] < exact.mean()
    assert exact.mean() - bound[1] > 0.2                          # q leaves a real gap to close
    assert_allclose(-ImportanceWeighted(vae, 5000).loss(x, rng=rng).loss, exact.mean(), atol=0.05)


# -- the interface ---------------------------------------------------------------------------------

def test_objective_is_float32_with_a_float32_model_and_fills_the_models_grads():
    rng = np.random.default_rng(0)
    vae = VAE(8, hidden=[6], latent_dim=2, rng=rng)
    objective = ImportanceWeighted(vae, 3)
    for g in vae.grads.values():
        g[...] = np.nan
    parts = objective.loss(rng.random((4, 8)), rng=rng)
    objective.backward()
    assert np.isfinite(parts.loss)
    assert objective.grads is vae.grads
    assert all(g.dtype == np.float32 and np.isfinite(g).all() for g in vae.grads.values())


def test_draws_from_rng_match_passing_the_same_eps():
    vae = VAE(8, hidden=[6], latent_dim=2, rng=np.random.default_rng(0), dtype=np.float64)
    x = np.random.default_rng(1).random((4, 8))
    eps = np.random.default_rng(2).standard_normal((5, 4, 2))
    objective = ImportanceWeighted(vae, 5)
    assert objective.loss(x, rng=np.random.default_rng(2)) == objective.loss(x, eps=eps)


@pytest.mark.parametrize("make, match", [
    (lambda vae: ImportanceWeighted(vae, 0), "k .* must be an integer >= 1"),
    (lambda vae: ImportanceWeighted(vae, 2.5), "k .* must be an integer >= 1"),
    (lambda vae: ImportanceWeighted(Autoencoder(8, hidden=[6], latent_dim=2), 2), "needs a VAE"),
    (lambda vae: ImportanceWeighted(vae, 2).loss(np.zeros((3, 8)), eps=np.zeros((3, 2))), r"shape \(k, N, L\)"),
    (lambda vae: ImportanceWeighted(vae, 2).loss(np.zeros((3, 8))), "needs rng"),
    (lambda vae: ImportanceWeighted(vae, 2).loss(np.zeros((3, 8)), eps=np.full((2, 3, 2), np.nan)), "eps holds"),
    (lambda vae: ImportanceWeighted(vae, 2).loss(np.zeros((3, 8)), rng=np.random.default_rng(0), beta=-1),
     "beta"),
    (lambda vae: ImportanceWeighted(vae, 2).backward(), "call loss"),
    (lambda vae: ImportanceWeighted(vae, 10**12).loss(np.zeros((3, 8)), rng=np.random.default_rng(0)),
     "GiB of memory"),
])
def test_bad_arguments_are_one_line_input_errors(make, match):
    vae = VAE(8, hidden=[6], latent_dim=2)
    with pytest.raises(InputError, match=match):
        make(vae)


def test_float64_noise_keeps_a_float32_model_float32():
    vae = VAE(8, hidden=[6], latent_dim=2)
    objective = ImportanceWeighted(vae, 2)
    objective.loss(np.zeros((3, 8)), eps=np.zeros((2, 3, 2), dtype=np.float64))
    assert objective.log_w.dtype == np.float32


def test_logsumexp_form_survives_weights_that_would_underflow():
    """log w of a few thousand nats (a 784-pixel Bernoulli decoder early in training) would
    make exp(log w) underflow to 0; the softmax weights stay finite and sum to one."""
    rng = np.random.default_rng(0)
    vae = VAE(784, hidden=[16], latent_dim=2, rng=rng, dtype=np.float64)
    vae.params["decoder.2.b"][...] = -400.0                # every pixel off: x = 1 costs 400 nats
    objective = ImportanceWeighted(vae, 4)
    parts = objective.loss(np.ones((2, 784)), rng=rng)
    objective.backward()
    assert parts.loss > 700 * 400
    # log w - logsumexp carries an absolute round-off of ~1e-16 |log w| ~ 3e-11
    assert_allclose(objective._c.sum(axis=0) * 2, 1.0, rtol=1e-9)
    assert all(np.isfinite(g).all() for g in vae.grads.values())


# -- training on L_k (train(..., objective="iwae", k=K) and the command line) ----------------------

def test_training_on_the_iwae_bound_reduces_it_and_is_reproducible():
    from minivae.datasets import fixed_binarization, load_dataset
    from minivae.train import train

    data = load_dataset("mnist-subset")
    x_train, x_test = data.x_train[:1000], fixed_binarization(data.x_test[:200], 1)
    runs = [train(VAE(784, [32], 4, rng=np.random.default_rng(1)), x_train, x_test, epochs=2,
                  batch_size=100, binarize_data=True, seed=3, objective="iwae", k=3)
            for _ in range(2)]
    a, b = runs
    assert a["train_loss"] == b["train_loss"] and a["test_loss"] == b["test_loss"]
    assert a["train_loss"][-1] < a["train_loss"][0]
    # Jensen, batch by batch: -L_k <= the k-sample average of the one-sample -ELBO
    assert all(l <= r + k + 1e-3 for l, r, k in zip(a["train_loss"], a["train_reconstruction"], a["train_kl"]))
    elbo = train(VAE(784, [32], 4, rng=np.random.default_rng(1)), x_train, x_test, epochs=1,
                 batch_size=100, binarize_data=True, seed=3)
    assert elbo["train_loss"][0] != a["train_loss"][0]


def test_train_rejects_an_unknown_objective():
    from minivae.train import train
    with pytest.raises(InputError, match="objective must be one of"):
        train(VAE(8, [4], 2), np.zeros((4, 8)), objective="iw")


def test_command_line_trains_on_iwae_and_records_objective_and_k(tmp_path, capsys):
    import json
    from minivae.app.cli import main

    out = tmp_path / "run"
    assert main(["train", "--out", str(out), "--hidden", "16", "--latent-dim", "2", "--epochs", "1",
                 "--batch-size", "500", "--quiet", "--no-figures", "--objective", "iwae", "--k", "2"]) == 0
    run = json.loads((out / "history.json").read_text())["run"]
    assert (run["objective"], run["k"]) == ("iwae", 2)
    assert main(["train", "--out", str(out), "--epochs", "1", "--objective", "iwae", "--k", "0"]) == 2
    assert "--k must be at least 1" in capsys.readouterr().err
    assert main(["train", "--out", str(out), "--epochs", "1", "--model", "ae", "--objective", "iwae",
                 "--quiet", "--no-figures"]) == 2
    assert "needs a VAE" in capsys.readouterr().err


def test_effective_sample_size_is_one_when_one_weight_dominates():
    log_w = np.array([[0.0, -3.0], [-800.0, -3.0], [-900.0, -3.0]])     # (k=3, N=2)
    assert_allclose(effective_sample_size(log_w), [1.0, 3.0], rtol=1e-12)


def test_iwae_gradient_matches_finite_differences_for_a_conv_vae():
    rng = np.random.default_rng(0)
    vae = VAE(64, latent_dim=2, arch="conv", channels=(2, 3), image_shape=(1, 8, 8),
              activation="tanh", rng=rng, dtype=np.float64)
    x, eps = rng.random((2, 64)), rng.standard_normal((3, 2, 2))
    objective = ImportanceWeighted(vae, 3)
    assert_model_gradients_match(objective, x, lambda: objective.loss(x, eps=eps).loss)
