import numpy as np
import pytest
from hypothesis import assume, given
from hypothesis import strategies as st
from numpy.testing import assert_allclose

from minivae import models
from minivae import VAE, Adam, HierarchicalVAE, LeakyReLU
from minivae import linear_gaussian as lg
from minivae.errors import InputError
from minivae.evaluate import log_likelihood
from minivae.gradcheck import assert_model_gradients_match
from minivae.train import train
from kinks import kink_margin

seeds = st.integers(0, 2**32 - 1)


def _data(likelihood, rng, n, d):
    return rng.random((n, d)) if likelihood == "bernoulli" else rng.standard_normal((n, d))


def _networks(model):
    nets = [*model.up, model.top, *model.encoders, *model.prior, *model.posterior, model.decoder]
    return [net for net in nets if net is not None]


def _kink_margin(model):
    """Smallest distance of any ReLU input to 0, on the inputs the last loss() call fed each net."""
    return min(kink_margin(net, net.layers[0]._x) for net in _networks(model))


@given(seed=seeds, n=st.integers(1, 3), beta=st.floats(0.1, 2.0),
       latent_dims=st.lists(st.integers(1, 3), min_size=1, max_size=3),
       hidden=st.integers(2, 4), activation=st.sampled_from(["tanh", "sigmoid", "relu", "leaky_relu"]),
       likelihood=st.sampled_from(["bernoulli", "gaussian", "gaussian-learned"]),
       decoder_reads=st.sampled_from(["all", "z1"]), decoder_hidden=st.integers(2, 4))
def test_whole_hierarchical_vae_backward_matches_finite_differences(
        seed, n, beta, latent_dims, hidden, activation, likelihood, decoder_reads, decoder_hidden):
    rng = np.random.default_rng(seed)
    d = 4
    model = HierarchicalVAE(d, latent_dims, [hidden] * len(latent_dims), likelihood=likelihood,
                            sigma=0.7, activation=activation, rng=rng, dtype=np.float64,
                            decoder_reads=decoder_reads, decoder_hidden=decoder_hidden)
    for p in model.params.values():              # nonzero biases: every term is exercised
        p += 0.1 * rng.standard_normal(p.shape)
    x = _data(likelihood, rng, n, d)
    eps = [rng.standard_normal((n, k)) for k in latent_dims]
    model.loss(x, eps=eps, beta=beta)
    assume(_kink_margin(model) > 1e-3)           # no ReLU input within a step of its kink
    assert_model_gradients_match(model, x, lambda: model.loss(x, eps=eps, beta=beta).loss)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian-learned"])
def test_one_level_is_the_vae_with_the_same_weights_loss_and_gradients(likelihood):
    # Built from the same seed, the two models draw the same initial weights (same order).
    vae = VAE(6, hidden=[5], latent_dim=3, likelihood=likelihood, rng=np.random.default_rng(1),
              dtype=np.float64)
    hvae = HierarchicalVAE(6, latent_dims=[3], hidden=[5], likelihood=likelihood,
                           rng=np.random.default_rng(1), dtype=np.float64)
    name = {k: k.replace("top.", "encoder.") for k in hvae.params}
    assert sorted(name.values()) == sorted(vae.params)
    for k, p in hvae.params.items():
        assert_allclose(p, vae.params[name[k]], rtol=0, atol=0)
    rng = np.random.default_rng(2)
    x, eps = _data(likelihood, rng, 4, 6), rng.standard_normal((4, 3))
    assert hvae.loss(x, eps=[eps], beta=0.5) == vae.loss(x, eps=eps, beta=0.5)
    assert hvae.kl_per_level == [vae.loss(x, eps=eps).kl]
    hvae.loss(x, eps=[eps], beta=0.5)
    vae.loss(x, eps=eps, beta=0.5)
    assert_allclose(hvae.backward(need_dx=True), vae.backward(need_dx=True), rtol=1e-12, atol=1e-15)
    for k, g in hvae.grads.items():
        assert_allclose(g, vae.grads[name[k]], rtol=1e-12, atol=1e-15)
    z = rng.standard_normal((2, 3))
    assert_allclose(hvae.generate(z), vae.generate(z), rtol=1e-12)
    assert_allclose(hvae.encode(x)[0][0], vae.encode(x)[0], rtol=1e-12)


def test_loss_is_reconstruction_plus_beta_times_the_sum_of_the_levels_kls():
    rng = np.random.default_rng(0)
    model = HierarchicalVAE(6, latent_dims=[3, 2, 2], hidden=[5, 4, 3], rng=rng, dtype=np.float64)
    x, eps = rng.random((4, 6)), [rng.standard_normal((4, k)) for k in (3, 2, 2)]
    parts = model.loss(x, eps=eps, beta=0.3)
    assert len(model.kl_per_level) == 3 and all(kl >= 0 for kl in model.kl_per_level)
    assert_allclose(parts.kl, sum(model.kl_per_level), rtol=1e-12)
    assert_allclose(parts.loss, parts.reconstruction + 0.3 * parts.kl, rtol=1e-12)


def test_params_and_grads_have_the_same_keys_and_shapes_and_config_rebuilds_the_model():
    model = HierarchicalVAE(8, latent_dims=[4, 2], hidden=[6, 5], likelihood="gaussian-learned",
                            rng=np.random.default_rng(3))
    assert model.params.keys() == model.grads.keys()
    assert all(model.params[k].shape == model.grads[k].shape for k in model.params)
    assert model.params["decoder.2.W"].shape == (6, 16)          # means and log-variances
    assert model.params["posterior1.0.W"].shape == (6 + 2, 6)    # [d_1, z_2] -> h_1
    config = dict(model.config)
    assert config.pop("kind") == "hvae"
    config["dtype"] = np.dtype(config["dtype"])
    again = HierarchicalVAE(**config, rng=np.random.default_rng(3))
    assert again.config == model.config
    for k, p in model.params.items():
        assert_allclose(again.params[k], p, rtol=0, atol=0)


def test_same_seed_same_numbers_and_float32_by_default():
    def run():
        rng = np.random.default_rng(5)
        model = HierarchicalVAE(8, latent_dims=[3, 2], hidden=[6, 4], rng=rng)
        parts = model.loss(rng.random((3, 8)), rng=rng)
        model.backward()
        return parts, {k: g.copy() for k, g in model.grads.items()}, model

    (a, ga, model), (b, gb, _) = run(), run()
    assert a == b and all(np.array_equal(ga[k], gb[k]) for k in ga)
    assert all(g.dtype == np.float32 for g in ga.values())
    assert model.sample(5, np.random.default_rng(0)).dtype == np.float32


def test_sample_holds_fixed_levels_and_redraws_the_ones_below():
    rng = np.random.default_rng(0)
    model = HierarchicalVAE(8, latent_dims=[3, 2], hidden=[6, 4], rng=rng, dtype=np.float64)
    top = rng.standard_normal(2)
    z = model.prior_sample(50, rng, fixed=[None, top])
    assert_allclose(z[1], np.tile(top, (50, 1)), rtol=0, atol=0)       # held
    assert z[0].shape == (50, 3) and np.all(z[0].std(axis=0) > 0)       # redrawn
    mean_1 = model.prior_sample(1, fixed=[None, top], mean=True)[0]
    mu_p = model.prior[0].forward(top[None])[:, :3]                     # p(z_1 | z_2 = top)'s mean
    assert_allclose(mean_1, mu_p, rtol=1e-12)
    images = model.sample(4, rng, fixed=[None, top])
    assert images.shape == (4, 8) and np.all((images > 0) & (images < 1))


@pytest.mark.parametrize("decoder_reads", ["all", "z1"])
def test_encode_and_reconstruct_follow_the_posterior_means_top_down(decoder_reads):
    rng = np.random.default_rng(0)
    model = HierarchicalVAE(8, latent_dims=[3, 2], hidden=[6, 4], rng=rng, dtype=np.float64,
                            decoder_reads=decoder_reads)
    x = rng.random((5, 8))
    (mu_1, lv_1), (mu_2, lv_2) = model.encode(x)
    model.loss(x, eps=[np.zeros((5, 3)), np.zeros((5, 2))])             # z_l = mu_l at every level
    assert_allclose(model.samplers[1]._sigma ** 2, np.exp(lv_2), rtol=1e-12)
    decoder_input = np.hstack([mu_1, mu_2]) if decoder_reads == "all" else mu_1
    assert_allclose(model.decoder.layers[0]._x, decoder_input, rtol=1e-12)
    assert model.decoder.params["0.W"].shape == (decoder_input.shape[1], 6)
    mean = 1 / (1 + np.exp(-model.decoder.forward(decoder_input)))
    assert_allclose(model.reconstruct(x), mean, rtol=1e-12)


def test_the_decoder_reads_the_upper_level_only_when_told_to():
    # decoder_reads="all": changing z_2 alone changes p(x|z) directly; "z1": it cannot.
    rng = np.random.default_rng(0)
    z_1, z_2, z_2b = rng.standard_normal((4, 3)), rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    for reads, differs in (("all", True), ("z1", False)):
        model = HierarchicalVAE(8, latent_dims=[3, 2], hidden=[6, 4], rng=rng, dtype=np.float64,
                                decoder_reads=reads, decoder_hidden=5)
        assert model.decoder.params["0.W"].shape[1] == 5
        assert (np.abs(model.decode([z_1, z_2]) - model.decode([z_1, z_2b])).max() > 1e-6) == differs
        with pytest.raises(InputError, match=r"decode takes \[z_1, ..., z_L\], a list of 2 arrays"):
            model.decode(z_1)                                   # z_1 alone, as before decoder_reads


# -- the linear-Gaussian special case: exact answers -----------------------------------------------

def _linear_hvae(seed, d=3, latent_dims=(2, 1), sigma=0.6):
    r"""A two-level HierarchicalVAE that *is* lg.TwoLevelModel: leaky ReLUs with slope 1 make
    every MLP linear, and zeroed weights make the log-variances of p(z_1|z_2) and q(z_1|z_2,x)
    constant. Returns (model, TwoLevelModel)."""
    rng = np.random.default_rng(seed)
    model = HierarchicalVAE(d, latent_dims, hidden=[3, 2], likelihood="gaussian", sigma=sigma,
                            activation="leaky_relu", rng=rng, dtype=np.float64, decoder_reads="z1")
    for net in _networks(model):
        for layer in net.layers:
            if isinstance(layer, LeakyReLU):
                layer.alpha = 1.0                                     # the identity
    for p in model.params.values():
        p += 0.3 * rng.standard_normal(p.shape)
    l1 = latent_dims[0]
    model.params["prior1.2.W"][:, l1:] = 0                            # log_var_p = a constant
    model.params["posterior1.2.W"][:, l1:] = 0                        # so is log_var_q
    model.params["prior1.2.b"][l1:] = np.log(rng.uniform(0.3, 1.0, l1))

    def affine(net):                                                  # Dense, identity, Dense
        W0, b0, W2, b2 = (net.params[k] for k in ("0.W", "0.b", "2.W", "2.b"))
        return W0 @ W2, b0 @ W2 + b2

    Wp, bp = affine(model.prior[0])                                    # z_2 -> (mu_p, lv_p)
    Wd, bd = affine(model.decoder)                                     # z_1 -> mean of x
    m = lg.TwoLevelModel(Wp[:, :l1].T, bp[:l1], bp[l1:], Wd.T, bd, sigma)
    return model, m


def test_linear_hierarchical_vae_elbo_is_the_closed_form_two_level_elbo():
    # -loss averaged over many draws of eps is the ELBO of the model's own q, in closed form.
    model, m = _linear_hvae(seed=0)
    x = lg.two_level_sample(1, m, np.random.default_rng(1))
    d1 = model.up[0].forward(x)                                        # (1, h_1)
    mu_2, lv_2 = np.split(model.top.forward(d1), 2, axis=1)
    Wq = model.posterior[0].params["0.W"] @ model.posterior[0].params["2.W"]
    bq = model.posterior[0].params["0.b"] @ model.posterior[0].params["2.W"] + model.posterior[0].params["2.b"]
    h1, l1 = d1.shape[1], 2
    dmu_0, dlv_0 = np.split(d1 @ Wq[:h1] + bq, 2, axis=1)              # the residual at z_2 = 0
    q = lg.TwoLevelQ(mu_2, lv_2, m.a + dmu_0, m.A + Wq[h1:, :l1].T, m.log_var_1 + dlv_0)
    exact = lg.two_level_elbo(x, q, m)

    rng = np.random.default_rng(2)
    batches = np.array([[-model.loss(np.repeat(x, 500, 0), rng=rng).loss, *model.kl_per_level]
                        for _ in range(100)])                          # (100, 3)
    for mc, value in zip(batches.T, (exact.elbo, exact.kl_1, exact.kl_2)):   # KL_2 is exact
        assert abs(mc.mean() - value[0]) <= 4 * mc.std(ddof=1) / np.sqrt(len(mc)) + 1e-12


def test_importance_weighted_log_p_x_converges_to_the_exact_value_on_the_linear_model():
    model, m = _linear_hvae(seed=3)
    x = lg.two_level_sample(3, m, np.random.default_rng(4))
    exact = lg.two_level_log_marginal(x, m)
    errors = [np.abs(log_likelihood(model, x, k=k, seed=5) - exact).max() for k in (1, 100, 200_000)]
    assert errors[2] < 0.02
    assert errors[2] < errors[1] < errors[0]
    elbo = -model.elbo_parts(np.repeat(x[:1], 20_000, 0), seed=6)["loss"]
    assert elbo < exact[0]                                             # the bound, by a margin


def test_importance_weighted_log_p_x_is_exact_in_the_limit_when_the_decoder_reads_both_levels():
    # Linear networks again, the decoder now reading [z_1, z_2]: x = W_1 z_1 + W_2 z_2 + b + noise.
    # With z = [z_1; z_2] ~ N(m, S), m = [a; 0], S = [[A A^T + D_1, A], [A^T, I]], x is Gaussian
    # with mean W m + b and covariance W S W^T + sigma^2 I, W = [W_1, W_2]: log p(x) exactly.
    from scipy.stats import multivariate_normal
    rng = np.random.default_rng(7)
    d, (l1, l2), sigma = 3, (2, 1), 0.6
    model = HierarchicalVAE(d, [l1, l2], hidden=[3, 2], likelihood="gaussian", sigma=sigma,
                            activation="leaky_relu", rng=rng, dtype=np.float64)
    for net in _networks(model):
        for layer in net.layers:
            if isinstance(layer, LeakyReLU):
                layer.alpha = 1.0
    for p in model.params.values():
        p += 0.3 * rng.standard_normal(p.shape)
    model.params["prior1.2.W"][:, l1:] = 0                            # log_var_p a constant
    W0, b0, W2, b2 = (model.prior[0].params[k] for k in ("0.W", "0.b", "2.W", "2.b"))
    A, a, log_var_1 = (W0 @ W2)[:, :l1].T, (b0 @ W2 + b2)[:l1], (b0 @ W2 + b2)[l1:]
    W0, b0, W2, b2 = (model.decoder.params[k] for k in ("0.W", "0.b", "2.W", "2.b"))
    W, b = (W0 @ W2).T, b0 @ W2 + b2                                    # (D, L1 + L2), (D,)
    S = np.block([[A @ A.T + np.diag(np.exp(log_var_1)), A], [A.T, np.eye(l2)]])
    m = np.concatenate([a, np.zeros(l2)])
    x = rng.standard_normal((2, d))
    exact = multivariate_normal(W @ m + b, W @ S @ W.T + sigma ** 2 * np.eye(d)).logpdf(x)
    errors = [np.abs(log_likelihood(model, x, k=k, seed=5) - exact).max() for k in (1, 100, 200_000)]
    assert errors[2] < 0.02
    assert errors[2] < errors[1] < errors[0]


def test_bad_settings_and_noise_are_clear_errors():
    with pytest.raises(InputError, match="one positive size per level"):
        HierarchicalVAE(8, latent_dims=[3, 2], hidden=[6])
    with pytest.raises(InputError, match="activation"):
        HierarchicalVAE(8, latent_dims=[3], hidden=[6], activation="swish")
    with pytest.raises(InputError, match="decoder_reads must be 'all'"):
        HierarchicalVAE(8, latent_dims=[3], hidden=[6], decoder_reads="z2")
    with pytest.raises(InputError, match="decoder_hidden"):
        HierarchicalVAE(8, latent_dims=[3], hidden=[6], decoder_hidden=0)
    model = HierarchicalVAE(8, latent_dims=[3, 2], hidden=[6, 4])
    with pytest.raises(InputError, match="list of 2 arrays"):
        model.loss(np.zeros((4, 8)), eps=np.zeros((4, 3)))
    with pytest.raises(ValueError, match=r"shape \(N, 8\)"):
        model.loss(np.zeros((4, 7)), rng=np.random.default_rng(0))


def test_the_training_loop_trains_it_and_lowers_the_negative_elbo():
    rng = np.random.default_rng(0)
    x = (rng.random((64, 16)) < np.linspace(0.1, 0.9, 16)).astype(np.float32)
    model = HierarchicalVAE(16, latent_dims=[4, 2], hidden=[16, 8], rng=rng)
    history = train(model, x, x, epochs=30, batch_size=32, lr=3e-3, rng=rng)
    assert history["test_loss"][-1] < 0.9 * history["test_loss"][0]
    assert all(np.isfinite(v) for v in history["train_loss"])


def test_command_line_trains_evaluates_and_samples_a_hierarchical_vae(tmp_path, capsys):
    import json

    from minivae.app import checkpoint
    from minivae.app.cli import main

    out = tmp_path / "run"
    assert main(["train", "--model", "hvae", "--latent-dims", "4", "2", "--hidden", "16", "8",
                 "--epochs", "1", "--out", str(out), "--no-figures", "--quiet"]) == 0
    model, history = checkpoint.load(out / "checkpoint.npz")
    assert isinstance(model, HierarchicalVAE) and model.latent_dims == [4, 2] and model.hidden == [16, 8]
    capsys.readouterr()
    assert main(["evaluate", str(out / "checkpoint.npz"), "--n-examples", "20", "--iw-samples", "5", "--json"]) == 0
    result = json.loads(capsys.readouterr().out)
    assert len(result["kl_per_level"]) == 2 and len(result["active_units_per_level"]) == 2
    from minivae.datasets import TEST_BINARIZATION_SEED, fixed_binarization, load_dataset
    from minivae.evaluate import negative_elbo
    parts = negative_elbo(model, fixed_binarization(load_dataset("mnist-subset").x_test, TEST_BINARIZATION_SEED)[:20], seed=0)
    assert result["negative_elbo"] == parts.loss and result["kl"] == parts.kl   # the same draws
    assert result["kl"] == pytest.approx(sum(result["kl_per_level"]), rel=1e-12)
    assert result["log_likelihood"] <= 0
    assert main(["sample", str(out / "checkpoint.npz"), "--n", "4", "--out", str(tmp_path / "s.png")]) == 0
    assert (tmp_path / "s.png").is_file()
    assert main(["train", "--model", "hvae", "--latent-dims", "4", "2", "--hidden", "16", "8", "4",
                 "--epochs", "1", "--out", str(out), "--quiet"]) == 2          # a clear error
    assert "one --hidden size per level" in capsys.readouterr().err


def test_command_line_builds_the_decoder_it_is_told_to_and_refuses_those_options_for_a_vae(tmp_path, capsys):
    from minivae.app import checkpoint
    from minivae.app.cli import main

    out = tmp_path / "hvae"
    assert main(["train", "--model", "hvae", "--latent-dims", "3", "2", "--hidden", "8", "--epochs", "1",
                 "--decoder-reads", "z1", "--decoder-hidden", "5", "--batch-size", "500",
                 "--out", str(out), "--quiet", "--no-figures"]) == 0
    model, _ = checkpoint.load(out / "checkpoint.npz")
    assert (model.decoder_reads, model.config["decoder_hidden"]) == ("z1", 5)
    assert model.decoder.params["0.W"].shape == (3, 5)                  # reads z_1 alone, 5 hidden units
    for option in (["--decoder-reads", "z1"], ["--decoder-hidden", "5"]):
        assert main(["train", "--model", "vae", *option, "--epochs", "1", "--out", str(tmp_path / "vae"),
                     "--quiet"]) == 2
        assert "is for --model hvae" in capsys.readouterr().err


def test_command_line_passes_beta_warmup_and_sigma_to_a_hierarchical_vae(tmp_path):
    """--beta, --warmup-epochs and --sigma mean the same for --model hvae as for a VAE: they are
    used (stored in the run and the model), not refused as options the model would ignore."""
    from minivae.app import checkpoint
    from minivae.app.cli import main

    out = tmp_path / "hvae"
    assert main(["train", "--model", "hvae", "--latent-dims", "3", "2", "--hidden", "8", "--epochs", "1",
                 "--beta", "0.5", "--warmup-epochs", "0.5", "--likelihood", "gaussian", "--sigma", "0.3",
                 "--out", str(out), "--quiet", "--no-figures"]) == 0
    model, history = checkpoint.load(out / "checkpoint.npz")
    assert model.kind == "hvae" and model.sigma == 0.3
    assert history["run"]["beta"] == 0.5 and history["run"]["warmup_epochs"] == 0.5
    assert history["beta"] == [0.5]                      # the warm-up reached beta by the end of epoch 1


# -- the importance-weighted bound L_k (iwae.ImportanceWeighted wrapping a HierarchicalVAE) ------

def _small_hvae(rng, latent_dims, likelihood="bernoulli", activation="tanh", decoder_reads="all", d=4):
    model = HierarchicalVAE(d, latent_dims, [3] * len(latent_dims), likelihood=likelihood, sigma=0.7,
                            activation=activation, rng=rng, dtype=np.float64, decoder_reads=decoder_reads)
    for p in model.params.values():              # nonzero biases: every term is exercised
        p += 0.1 * rng.standard_normal(p.shape)
    return model


@given(seed=seeds)
def test_log_normal_gradients_match_finite_differences_and_scipy(seed):
    from scipy.stats import norm

    from minivae.gradcheck import numerical_gradient
    from minivae.hierarchical_levels import log_normal, log_normal_gradients
    rng = np.random.default_rng(seed)
    z, mu, log_var = rng.standard_normal((3, 4, 2)), rng.standard_normal((4, 2)), rng.standard_normal((4, 2))
    assert_allclose(log_normal(z, mu, log_var), norm.logpdf(z, mu, np.exp(log_var / 2)).sum(axis=-1),
                    rtol=1e-12)
    dmu, dlog_var = log_normal_gradients(z, mu, log_var)                 # one entry per entry of z
    assert dmu.shape == dlog_var.shape == z.shape
    for s in range(len(z)):                                              # sample s: its own (4, 2)
        total = lambda: float(np.sum(log_normal(z[s], mu, log_var)))     # noqa: E731
        for analytic, wrt in ((dmu[s], mu), (dlog_var[s], log_var), (-dmu[s], z[s])):
            numeric = numerical_gradient(total, wrt)
            assert_allclose(analytic, numeric, rtol=1e-6, atol=1e-8 * (1 + np.abs(numeric).max()))


@given(seed=seeds, n=st.integers(1, 3), k=st.sampled_from([1, 3]), beta=st.floats(0.1, 2.0),
       latent_dims=st.lists(st.integers(1, 3), min_size=1, max_size=3),
       activation=st.sampled_from(["tanh", "relu"]),
       likelihood=st.sampled_from(["bernoulli", "gaussian", "gaussian-learned"]),
       decoder_reads=st.sampled_from(["all", "z1"]))
def test_whole_hierarchical_iwae_backward_matches_finite_differences(
        seed, n, k, beta, latent_dims, activation, likelihood, decoder_reads):
    from minivae.iwae import ImportanceWeighted
    rng = np.random.default_rng(seed)
    model = _small_hvae(rng, latent_dims, likelihood, activation, decoder_reads)
    x = _data(likelihood, rng, n, 4)
    eps = [rng.standard_normal((k, n, size)) for size in latent_dims]
    objective = ImportanceWeighted(model, k)
    objective.loss(x, eps=eps, beta=beta)
    assume(_kink_margin(model) > 1e-3)           # no ReLU input within a step of its kink
    assert_model_gradients_match(objective, x, lambda: objective.loss(x, eps=eps, beta=beta).loss)


@pytest.mark.parametrize("decoder_reads", ["all", "z1"])
@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian-learned"])
def test_iwae_with_one_sample_is_the_elbo_with_a_monte_carlo_kl_at_every_level(likelihood, decoder_reads):
    r"""L_1 = log p(x|z) + beta sum_l [ log p(z_l|z_{l+1}) - log q(z_l|z_{l+1}, x) ] at the drawn z,
    computed here from the model's own top-down pass and scipy's normal densities; its value and,
    by central differences, its gradient equal ImportanceWeighted(model, 1)'s."""
    from scipy.stats import norm

    from minivae.gradcheck import numerical_gradient
    from minivae.iwae import ImportanceWeighted
    rng = np.random.default_rng(11)
    latent_dims, beta = [3, 2, 2], 0.6
    model = _small_hvae(rng, latent_dims, likelihood, decoder_reads=decoder_reads)
    x, eps = _data(likelihood, rng, 3, 4), [rng.standard_normal((3, size)) for size in latent_dims]

    def one_sample_elbo_parts():
        reconstruction = model.loss(x, eps=eps).reconstruction                # -log p(x|z), mean over x
        levels = model._levels(model._features(x), eps=eps)               # the same z, level by level
        log_ratio = sum(norm.logpdf(lev.z, lev.mu_p, np.exp(lev.log_var_p / 2)).sum(axis=1)
                        - norm.logpdf(lev.z, lev.mu_q, np.exp(lev.log_var_q / 2)).sum(axis=1)
                        for lev in levels)                                  # (N,)
        return reconstruction, float(np.mean(-log_ratio))

    reconstruction, mc_kl = one_sample_elbo_parts()
    objective = ImportanceWeighted(model, 1)
    parts = objective.loss(x, eps=[e[None] for e in eps], beta=beta)
    assert_allclose(parts.loss, reconstruction + beta * mc_kl, rtol=1e-12)
    assert_allclose(parts.reconstruction, reconstruction, rtol=1e-12)
    assert_allclose(parts.kl, mc_kl, rtol=1e-10)
    objective.backward()
    analytic = {name: g.copy() for name, g in model.grads.items()}

    def elbo():
        rec, kl = one_sample_elbo_parts()
        return rec + beta * kl

    for name, p in model.params.items():
        numeric = numerical_gradient(elbo, p)
        assert_allclose(analytic[name], numeric, rtol=1e-6, atol=1e-8 * (1 + np.abs(numeric).max()),
                        err_msg=name)


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian-learned"])
@pytest.mark.parametrize("k", [1, 4])
def test_one_level_iwae_is_the_vaes_with_the_same_weights_loss_and_gradients(likelihood, k):
    from minivae.iwae import ImportanceWeighted
    vae = VAE(6, hidden=[5], latent_dim=3, likelihood=likelihood, rng=np.random.default_rng(1),
              dtype=np.float64)
    hvae = HierarchicalVAE(6, latent_dims=[3], hidden=[5], likelihood=likelihood,
                           rng=np.random.default_rng(1), dtype=np.float64)
    name = {key: key.replace("top.", "encoder.") for key in hvae.params}
    rng = np.random.default_rng(2)
    for key, p in hvae.params.items():           # the same weights, moved off the initialisation
        p += 0.1 * rng.standard_normal(p.shape)
        vae.params[name[key]][...] = p
    x, eps = _data(likelihood, rng, 4, 6), rng.standard_normal((k, 4, 3))
    iw_vae, iw_hvae = ImportanceWeighted(vae, k), ImportanceWeighted(hvae, k)
    assert_allclose(iw_hvae.loss(x, eps=[eps], beta=0.5), iw_vae.loss(x, eps=eps, beta=0.5), rtol=1e-12)
    assert_allclose(iw_hvae.log_w, iw_vae.log_w, rtol=1e-12)
    assert_allclose(iw_hvae.backward(need_dx=True), iw_vae.backward(need_dx=True), rtol=1e-10, atol=1e-14)
    for key, g in hvae.grads.items():
        assert_allclose(g, vae.grads[name[key]], rtol=1e-10, atol=1e-14, err_msg=key)


@given(seed=seeds, k=st.integers(2, 5), beta=st.floats(0.1, 2.0))
def test_hierarchical_iwae_at_fixed_noise_is_at_least_the_mean_of_its_one_sample_bounds(seed, k, beta):
    r"""Jensen at fixed eps: log (1/k) sum_s w_s >= (1/k) sum_s log w_s, so -L_k <= reconstruction +
    beta kl; and k copies of one eps give L_1 exactly (equal weights)."""
    from minivae.iwae import ImportanceWeighted
    rng = np.random.default_rng(seed)
    model = _small_hvae(rng, [3, 2])
    x, eps = rng.random((3, 4)), [rng.standard_normal((k, 3, size)) for size in (3, 2)]
    parts = ImportanceWeighted(model, k).loss(x, eps=eps, beta=beta)
    assert parts.loss <= parts.reconstruction + beta * parts.kl + 1e-12
    one = [e[:1] for e in eps]
    assert_allclose(ImportanceWeighted(model, k).loss(x, eps=[np.repeat(e, k, axis=0) for e in one]).loss,
                    ImportanceWeighted(model, 1).loss(x, eps=one).loss, rtol=1e-12)


def test_hierarchical_iwae_bound_rises_with_k_towards_the_exact_log_likelihood():
    r"""E[L_1] <= E[L_5] <= E[L_50] <= log p(x) (Burda et al., Thm. 1) on the linear two-level model,
    whose log p(x) is exact (linear_gaussian.two_level_log_marginal). Expectations by averaging 40
    independent draws for 20 examples; each gap must be at least 4 standard errors of the
    difference of the means, so the order is not a lucky draw. And L_5000 ~= log p(x)."""
    from minivae.iwae import ImportanceWeighted
    model, m = _linear_hvae(seed=3)
    x = lg.two_level_sample(20, m, np.random.default_rng(4))
    exact = lg.two_level_log_marginal(x, m).mean()
    rng = np.random.default_rng(0)
    draws = {k: np.array([-ImportanceWeighted(model, k).loss(x, rng=rng).loss for _ in range(40)])
             for k in (1, 5, 50)}
    mean = {k: v.mean() for k, v in draws.items()}
    se = {k: v.std(ddof=1) / np.sqrt(len(v)) for k, v in draws.items()}
    for lo, hi in ((1, 5), (5, 50)):
        assert mean[hi] - mean[lo] > 4 * np.hypot(se[lo], se[hi]), (lo, hi)
    assert exact - mean[50] > 4 * se[50]
    assert exact - mean[1] > 0.5                                   # q leaves a real gap to close
    assert_allclose(-ImportanceWeighted(model, 5000).loss(x, rng=rng).loss, exact, atol=0.05)


def test_hierarchical_iwae_is_float32_with_a_float32_model_and_its_noise_is_checked():
    from minivae.iwae import ImportanceWeighted
    rng = np.random.default_rng(0)
    model = HierarchicalVAE(8, latent_dims=[3, 2], hidden=[6, 4], rng=rng)
    objective = ImportanceWeighted(model, 3)
    for g in model.grads.values():
        g[...] = np.nan
    parts = objective.loss(rng.random((4, 8)), rng=rng)
    objective.backward()
    assert np.isfinite(parts.loss) and objective.log_w.dtype == np.float32
    assert all(g.dtype == np.float32 and np.isfinite(g).all() for g in model.grads.values())
    with pytest.raises(InputError, match=r"one \(k, N, L_l\)"):
        objective.loss(np.zeros((4, 8)), eps=[np.zeros((3, 4, 3)), np.zeros((4, 2))])
    with pytest.raises(InputError, match="eps holds"):
        objective.loss(np.zeros((4, 8)), eps=[np.zeros((3, 4, 3)), np.full((3, 4, 2), np.nan)])
    with pytest.raises(InputError, match="needs rng"):
        objective.loss(np.zeros((4, 8)))


def test_training_a_hierarchical_vae_on_the_iwae_bound_lowers_it_and_is_reproducible():
    rng = np.random.default_rng(0)
    x = (rng.random((64, 16)) < np.linspace(0.1, 0.9, 16)).astype(np.float32)
    runs = [train(HierarchicalVAE(16, latent_dims=[4, 2], hidden=[16, 8], rng=np.random.default_rng(1)),
                  x, x, epochs=15, batch_size=32, lr=3e-3, seed=2, objective="iwae", k=3) for _ in range(2)]
    a, b = runs
    assert a["train_loss"] == b["train_loss"] and a["test_loss"] == b["test_loss"]
    assert a["train_loss"][-1] < 0.9 * a["train_loss"][0]
    # Jensen, batch by batch: -L_k <= the k-sample average of the one-sample -ELBO
    assert all(l <= r + kl + 1e-3 for l, r, kl in zip(a["train_loss"], a["train_reconstruction"], a["train_kl"]))
    elbo = train(HierarchicalVAE(16, latent_dims=[4, 2], hidden=[16, 8], rng=np.random.default_rng(1)),
                 x, x, epochs=1, batch_size=32, lr=3e-3, seed=2)
    assert elbo["train_loss"][0] != a["train_loss"][0]


def test_command_line_trains_a_hierarchical_vae_on_the_iwae_bound(tmp_path):
    import json

    from minivae.app import checkpoint
    from minivae.app.cli import main

    out = tmp_path / "run"
    assert main(["train", "--model", "hvae", "--latent-dims", "4", "2", "--hidden", "16", "8", "--epochs", "1",
                 "--batch-size", "500", "--objective", "iwae", "--k", "2", "--out", str(out),
                 "--quiet", "--no-figures"]) == 0
    run = json.loads((out / "history.json").read_text())["run"]
    assert (run["objective"], run["k"]) == ("iwae", 2)
    model, history = checkpoint.load(out / "checkpoint.npz")
    assert model.kind == "hvae" and np.isfinite(history["train_loss"][0])


# -- several deterministic layers per network, and Burda et al.'s bottom-up inference --------------

hidden_settings = st.one_of(st.integers(2, 3), st.lists(st.integers(2, 3), min_size=1, max_size=2))


@given(seed=seeds, n=st.integers(1, 3), beta=st.floats(0.1, 2.0),
       latent_dims=st.lists(st.integers(1, 3), min_size=1, max_size=3), data=st.data(),
       inference=st.sampled_from(["top-down", "bottom-up"]),
       activation=st.sampled_from(["tanh", "sigmoid", "relu"]),
       likelihood=st.sampled_from(["bernoulli", "gaussian", "gaussian-learned"]),
       decoder_reads=st.sampled_from(["all", "z1"]), decoder_hidden=hidden_settings)
def test_both_inference_directions_with_several_layers_per_network_match_finite_differences(
        seed, n, beta, latent_dims, data, inference, activation, likelihood, decoder_reads, decoder_hidden):
    rng = np.random.default_rng(seed)
    hidden = [data.draw(hidden_settings) for _ in latent_dims]       # an int or a list, per level
    model = HierarchicalVAE(4, latent_dims, hidden, likelihood=likelihood, sigma=0.7, activation=activation,
                            rng=rng, dtype=np.float64, decoder_reads=decoder_reads,
                            decoder_hidden=decoder_hidden, inference=inference)
    for p in model.params.values():              # nonzero biases: every term is exercised
        p += 0.1 * rng.standard_normal(p.shape)
    x = _data(likelihood, rng, n, 4)
    eps = [rng.standard_normal((n, k)) for k in latent_dims]
    model.loss(x, eps=eps, beta=beta)
    assume(_kink_margin(model) > 1e-3)
    assert_model_gradients_match(model, x, lambda: model.loss(x, eps=eps, beta=beta).loss)


@given(seed=seeds, n=st.integers(1, 3), k=st.sampled_from([1, 3]), beta=st.floats(0.1, 2.0),
       latent_dims=st.lists(st.integers(1, 3), min_size=1, max_size=3), data=st.data(),
       inference=st.sampled_from(["top-down", "bottom-up"]),
       likelihood=st.sampled_from(["bernoulli", "gaussian-learned"]),
       decoder_reads=st.sampled_from(["all", "z1"]))
def test_the_iwae_bound_of_both_inference_directions_with_several_layers_matches_finite_differences(
        seed, n, k, beta, latent_dims, data, inference, likelihood, decoder_reads):
    from minivae.iwae import ImportanceWeighted
    rng = np.random.default_rng(seed)
    hidden = [data.draw(hidden_settings) for _ in latent_dims]
    model = HierarchicalVAE(4, latent_dims, hidden, likelihood=likelihood, sigma=0.7, activation="tanh",
                            rng=rng, dtype=np.float64, decoder_reads=decoder_reads,
                            decoder_hidden=data.draw(hidden_settings), inference=inference)
    for p in model.params.values():
        p += 0.1 * rng.standard_normal(p.shape)
    x = _data(likelihood, rng, n, 4)
    eps = [rng.standard_normal((k, n, size)) for size in latent_dims]
    objective = ImportanceWeighted(model, k)
    assert_model_gradients_match(objective, x, lambda: objective.loss(x, eps=eps, beta=beta).loss)


@pytest.mark.parametrize("inference", ["top-down", "bottom-up"])
def test_parameter_count_from_the_config_counts_the_built_networks(inference):
    for hidden, decoder_hidden in (([6, 4], None), ([[6, 5], [4, 4, 3]], [7, 2]), ([[6], 4, [3, 3]], 5)):
        latent_dims = [3, 2, 2][:len(hidden)]
        model = HierarchicalVAE(8, latent_dims, hidden, decoder_hidden=decoder_hidden, inference=inference,
                                likelihood="gaussian-learned", rng=np.random.default_rng(0))
        assert HierarchicalVAE.parameter_count(model.config) == sum(p.size for p in model.params.values())
        assert model.params.keys() == model.grads.keys()


def test_an_int_per_level_is_a_list_of_one_size_and_keeps_todays_networks():
    a = HierarchicalVAE(8, [3, 2], [6, 4], rng=np.random.default_rng(3), dtype=np.float64)
    b = HierarchicalVAE(8, [3, 2], [[6], [4]], rng=np.random.default_rng(3), dtype=np.float64)
    assert a.config["hidden"] == [6, 4] and a.config["inference"] == "top-down"
    assert a.params.keys() == b.params.keys()
    for key, p in a.params.items():
        assert_allclose(b.params[key], p, rtol=0, atol=0)
    deep = HierarchicalVAE(8, [3, 2], [[6, 5], [4, 4]], decoder_hidden=[7, 6], rng=np.random.default_rng(3))
    shapes = {key: p.shape for key, p in deep.params.items() if key.endswith(".W")}
    assert shapes == {"up1.0.W": (8, 6), "up1.2.W": (6, 5),                          # x -> 6 -> 5 = d_1
                      "top.0.W": (5, 4), "top.2.W": (4, 4), "top.4.W": (4, 4),       # q(z_2|x)
                      "prior1.0.W": (2, 4), "prior1.2.W": (4, 4), "prior1.4.W": (4, 6),
                      "posterior1.0.W": (5 + 2, 6), "posterior1.2.W": (6, 5), "posterior1.4.W": (5, 6),
                      "decoder.0.W": (5, 7), "decoder.2.W": (7, 6), "decoder.4.W": (6, 8)}


def test_bottom_up_builds_burda_et_als_two_layer_model():
    model = HierarchicalVAE(784, [100, 50], [[200, 200], [100, 100]], decoder_hidden=[200, 200],
                            decoder_reads="z1", activation="tanh", inference="bottom-up")
    shapes = {key: p.shape for key, p in model.params.items() if key.endswith(".W")}
    assert shapes == {"encoder1.0.W": (784, 200), "encoder1.2.W": (200, 200), "encoder1.4.W": (200, 200),
                      "encoder2.0.W": (100, 100), "encoder2.2.W": (100, 100), "encoder2.4.W": (100, 100),
                      "prior1.0.W": (50, 100), "prior1.2.W": (100, 100), "prior1.4.W": (100, 200),
                      "decoder.0.W": (100, 200), "decoder.2.W": (200, 200), "decoder.4.W": (200, 784)}
    assert sum(p.size for p in model.params.values()) == HierarchicalVAE.parameter_count(model.config)
    assert not model.up and model.top is None and model.posterior == [None]


@pytest.mark.parametrize("likelihood", ["bernoulli", "gaussian-learned"])
def test_one_level_inferred_bottom_up_is_the_vae_with_the_same_weights_loss_and_gradients(likelihood):
    from minivae.iwae import ImportanceWeighted
    vae = VAE(6, hidden=[5, 4], latent_dim=3, likelihood=likelihood, rng=np.random.default_rng(1),
              dtype=np.float64)
    hvae = HierarchicalVAE(6, latent_dims=[3], hidden=[[5, 4]], decoder_hidden=[4, 5], likelihood=likelihood,
                           rng=np.random.default_rng(1), dtype=np.float64, inference="bottom-up")
    name = {k: k.replace("encoder1.", "encoder.") for k in hvae.params}
    assert sorted(name.values()) == sorted(vae.params)
    rng = np.random.default_rng(2)
    for k, p in hvae.params.items():
        p += 0.1 * rng.standard_normal(p.shape)
        vae.params[name[k]][...] = p
    x, eps = _data(likelihood, rng, 4, 6), rng.standard_normal((4, 3))
    assert hvae.loss(x, eps=[eps], beta=0.5) == vae.loss(x, eps=eps, beta=0.5)
    assert_allclose(hvae.backward(need_dx=True), vae.backward(need_dx=True), rtol=1e-12, atol=1e-15)
    for k, g in hvae.grads.items():
        assert_allclose(g, vae.grads[name[k]], rtol=1e-12, atol=1e-15)
    eps = rng.standard_normal((3, 4, 3))
    assert_allclose(ImportanceWeighted(hvae, 3).loss(x, eps=[eps]), ImportanceWeighted(vae, 3).loss(x, eps=eps),
                    rtol=1e-12)


def test_bottom_up_samples_each_level_from_the_sample_below():
    rng = np.random.default_rng(0)
    model = HierarchicalVAE(8, [3, 2], [6, 4], rng=rng, dtype=np.float64, inference="bottom-up")
    x, eps = rng.random((5, 8)), [rng.standard_normal((5, 3)), rng.standard_normal((5, 2))]
    levels = model._levels(model._features(x), eps=eps)
    mu_1, lv_1 = np.split(model.encoders[0].forward(x), 2, axis=1)                # q(z_1 | x)
    z_1 = mu_1 + np.exp(lv_1 / 2) * eps[0]
    mu_2, lv_2 = np.split(model.encoders[1].forward(z_1), 2, axis=1)              # q(z_2 | z_1)
    z_2 = mu_2 + np.exp(lv_2 / 2) * eps[1]
    mu_p, lv_p = np.split(model.prior[0].forward(z_2), 2, axis=1)                 # p(z_1 | z_2)
    for got, want in zip(levels[0], (mu_1, lv_1, mu_p, lv_p, z_1)):
        assert_allclose(got, want, rtol=1e-12)
    for got, want in zip(levels[1], (mu_2, lv_2, 0 * mu_2, 0 * mu_2, z_2)):
        assert_allclose(got, want, rtol=1e-12)
    # the ELBO's parts: KL_2 exact, KL_1 = E_q[log q(z_1|x)] - log p(z_1|z_2) at the drawn z
    from scipy.stats import norm
    parts = model.loss(x, eps=eps)
    kl_1 = np.mean(-0.5 * np.sum(1 + lv_1 + np.log(2 * np.pi), axis=1)
                   - norm.logpdf(z_1, mu_p, np.exp(lv_p / 2)).sum(axis=1))
    kl_2 = np.mean(0.5 * np.sum(mu_2 ** 2 + np.exp(lv_2) - lv_2 - 1, axis=1))
    assert_allclose(model.kl_per_level, [kl_1, kl_2], rtol=1e-12)
    assert_allclose(parts.kl, kl_1 + kl_2, rtol=1e-12)


def _set_affine(net, M, c):
    r"""Make a Sequential of Dense layers and identities (leaky ReLUs of slope 1) compute y = x M + c:
    every layer but the last copies its input into its first columns, the last applies (M, c)."""
    from minivae.layers import Dense
    dense = [layer for layer in net.layers if isinstance(layer, Dense)]
    for layer in net.layers:
        if isinstance(layer, LeakyReLU):
            layer.alpha = 1.0
    for layer in dense[:-1]:
        W = layer.params["W"]
        W[...] = 0
        W[np.arange(M.shape[0]), np.arange(M.shape[0])] = 1                  # needs d_out >= d_in
        layer.params["b"][...] = 0
    last = dense[-1].params
    last["W"][...] = 0
    last["W"][:M.shape[0]] = M
    last["b"][...] = c


def test_bottom_up_holds_the_exact_posterior_of_the_linear_model_so_every_weight_is_p_x():
    r"""With one dimension per level, Burda's bottom-up q can be the linear-Gaussian model's exact
    posterior: p(z_1, z_2 | x) = p(z_1 | x) p(z_2 | z_1) (z_2 reaches x only through z_1), each
    factor a 1-d Gaussian with a mean affine in what it reads. Then every importance weight equals
    p(x): L_1 is log p(x) for any noise, and the ELBO's gap is zero."""
    from minivae.iwae import ImportanceWeighted
    rng = np.random.default_rng(0)
    d, sigma = 3, 0.6
    m = lg.TwoLevelModel(A=np.array([[0.8]]), a=np.array([0.3]), log_var_1=np.array([np.log(0.5)]),
                         W=rng.standard_normal((d, 1)), b=rng.standard_normal(d), sigma=sigma)
    model = HierarchicalVAE(d, [1, 1], [[3, 3], 2], decoder_hidden=[1], likelihood="gaussian", sigma=sigma,
                            activation="leaky_relu", rng=rng, dtype=np.float64, decoder_reads="z1",
                            inference="bottom-up")
    A, a, v1 = m.A[0, 0], m.a[0], np.exp(m.log_var_1[0])
    s1 = A * A + v1                                                  # p(z_1) = N(a, s1)
    prec_1 = 1 / s1 + m.W[:, 0] @ m.W[:, 0] / sigma ** 2             # p(z_1 | x): precision
    _set_affine(model.encoders[0], np.hstack([m.W / sigma ** 2 / prec_1, np.zeros((d, 1))]),
                [(a / s1 - m.b @ m.W[:, 0] / sigma ** 2) / prec_1, -np.log(prec_1)])
    prec_2 = 1 + A * A / v1                                          # p(z_2 | z_1): precision
    _set_affine(model.encoders[1], np.array([[A / v1 / prec_2, 0.0]]), [-A * a / v1 / prec_2, -np.log(prec_2)])
    _set_affine(model.prior[0], np.array([[A, 0.0]]), [a, m.log_var_1[0]])  # p(z_1 | z_2)
    _set_affine(model.decoder, m.W.T, m.b)                           # p(x | z_1)
    x = lg.two_level_sample(4, m, np.random.default_rng(1))
    exact = lg.two_level_log_marginal(x, m)
    assert_allclose(log_likelihood(model, x, k=1, seed=2), exact, rtol=1e-10)
    objective = ImportanceWeighted(model, 7)
    objective.loss(x, rng=np.random.default_rng(3))
    assert_allclose(objective.log_w, np.tile(exact, (7, 1)), rtol=1e-10)   # every weight is p(x)
    elbo = -np.mean([model.loss(x, rng=np.random.default_rng(s)).loss for s in range(400)])
    assert abs(elbo - exact.mean()) < 0.05                            # no gap left (Monte Carlo)


def test_bottom_up_linear_elbo_is_log_p_x_minus_the_kl_to_the_exact_posterior():
    r"""Linear networks, two dimensions in z_1: bottom-up q(z_1, z_2 | x) = N(m_1, S_1) N(E z_1 + e, S_2)
    is a joint Gaussian, mean [m_1; E m_1 + e], covariance [[S_1, S_1 E^T], [E S_1, E S_1 E^T + S_2]],
    so ELBO = log p(x) - KL(q || p(z|x)) in closed form (linear_gaussian.two_level_posterior).
    -loss, averaged over many draws, must find it; so must L_1, log_likelihood with k = 1."""
    rng = np.random.default_rng(4)
    d, (l1, l2), sigma = 3, (2, 1), 0.6
    m = lg.TwoLevelModel(A=rng.standard_normal((l1, l2)), a=rng.standard_normal(l1),
                         log_var_1=np.log(rng.uniform(0.3, 1.0, l1)), W=rng.standard_normal((d, l1)),
                         b=rng.standard_normal(d), sigma=sigma)
    model = HierarchicalVAE(d, [l1, l2], [3, [2, 2]], decoder_hidden=[2], likelihood="gaussian", sigma=sigma,
                            activation="leaky_relu", rng=rng, dtype=np.float64, decoder_reads="z1",
                            inference="bottom-up")
    M1, c1 = 0.3 * rng.standard_normal((d, l1)), 0.3 * rng.standard_normal(l1)   # q(z_1|x) mean
    lv_1, E, e, lv_2 = np.log([0.2, 0.4]), rng.standard_normal((l2, l1)), rng.standard_normal(l2), np.log([0.3])
    _set_affine(model.encoders[0], np.hstack([M1, np.zeros((d, l1))]), np.concatenate([c1, lv_1]))
    _set_affine(model.encoders[1], np.hstack([E.T, np.zeros((l1, l2))]), np.concatenate([e, lv_2]))
    _set_affine(model.prior[0], np.hstack([m.A.T, np.zeros((l2, l1))]), np.concatenate([m.a, m.log_var_1]))
    _set_affine(model.decoder, m.W.T, m.b)
    x = lg.two_level_sample(1, m, np.random.default_rng(5))
    m1 = x @ M1 + c1                                                  # (1, L1)
    S1, S2 = np.diag(np.exp(lv_1)), np.diag(np.exp(lv_2))
    mean_q = np.hstack([m1, m1 @ E.T + e])
    cov_q = np.block([[S1, S1 @ E.T], [E @ S1, E @ S1 @ E.T + S2]])[None]
    mean, cov = lg.two_level_posterior(x, m)
    exact_log_px = lg.two_level_log_marginal(x, m)
    exact_elbo = exact_log_px - lg.kl_gaussians(mean_q, cov_q, mean, cov)
    rng = np.random.default_rng(6)
    draws = np.array([-model.loss(np.repeat(x, 500, 0), rng=rng).loss for _ in range(100)])
    assert abs(draws.mean() - exact_elbo[0]) <= 4 * draws.std(ddof=1) / np.sqrt(len(draws))
    assert exact_log_px[0] - exact_elbo[0] > 0.1                      # a real gap to find
    one_sample = log_likelihood(model, np.repeat(x, 50_000, 0), k=1, seed=7)   # L_1 = the sampled ELBO
    assert abs(one_sample.mean() - exact_elbo[0]) <= 4 * one_sample.std(ddof=1) / np.sqrt(len(one_sample))


def test_bad_hidden_lists_and_inference_names_are_clear_errors():
    for hidden, message in (([6], "one positive size per level"), ([[6, 5]], "one positive size per level"),
                            ([[], 4], "non-empty list of sizes"), ([[6, [5]], 4], "non-empty list of sizes"),
                            ([6, 0], "whole number >= 1"), ([[6, 2.5], 4], "whole number >= 1"),
                            (6, "one entry per level")):
        with pytest.raises(InputError, match=message):
            HierarchicalVAE(8, latent_dims=[3, 2], hidden=hidden)
    with pytest.raises(InputError, match="decoder_hidden must be a size >= 1 or a non-empty list"):
        HierarchicalVAE(8, latent_dims=[3], hidden=[6], decoder_hidden=[])
    with pytest.raises(InputError, match="inference must be 'top-down'.*or 'bottom-up'"):
        HierarchicalVAE(8, latent_dims=[3], hidden=[6], inference="bottomup")
    from minivae.app import checkpoint
    good = HierarchicalVAE(8, [3, 2], [[6, 5], 4], inference="bottom-up").config
    models.check_config(good)
    for field, value, message in (("inference", "sideways", "'top-down' or 'bottom-up'"),
                                  ("hidden", [[6, 0], 4], "one entry per level"),
                                  ("hidden", [[], 4], "one entry per level"),
                                  ("decoder_hidden", [5, []], "non-empty list")):
        with pytest.raises(InputError, match=message):
            models.check_config({**good, field: value})


@pytest.mark.parametrize("inference", ["top-down", "bottom-up"])
def test_a_checkpoint_of_several_layers_per_level_round_trips_and_resumes(tmp_path, inference):
    from minivae.app import checkpoint
    from minivae.fast.optim import FastAdam
    rng = np.random.default_rng(0)
    x = (rng.random((64, 16)) < np.linspace(0.1, 0.9, 16)).astype(np.float32)

    def fresh():
        return HierarchicalVAE(16, [4, 2], [[16, 12], [8, 8]], decoder_hidden=[12, 16], activation="tanh",
                               rng=np.random.default_rng(1), inference=inference, decoder_reads="z1")

    whole, wrng = fresh(), np.random.default_rng(2)
    wopt = FastAdam(whole.params, lr=3e-3)
    train(whole, x, x, epochs=4, batch_size=16, lr=3e-3, rng=wrng, optimizer=wopt)
    part, prng = fresh(), np.random.default_rng(2)
    popt = FastAdam(part.params, lr=3e-3)
    history = train(part, x, x, epochs=2, batch_size=16, lr=3e-3, rng=prng, optimizer=popt)
    path = tmp_path / "run.npz"
    checkpoint.save(path, part, history, optimizer=popt, rng=prng)
    loaded, _ = checkpoint.load(path)
    assert loaded.config == part.config and loaded.inference == inference and loaded.hidden == [[16, 12], [8, 8]]
    probe = rng.random((5, 16))
    assert loaded.loss(probe, eps=loaded._zeros(5)) == part.loss(probe, eps=part._zeros(5))
    model, history, optimizer, rng2 = checkpoint.load_for_resume(path)
    train(model, x, x, epochs=4, batch_size=16, lr=3e-3, rng=rng2, optimizer=optimizer, history=history)
    for key, p in whole.params.items():
        assert np.array_equal(model.params[key], p), key
