import numpy as np
import pytest
from numpy.testing import assert_allclose

from minivae import VAE, Adam, Autoencoder
from minivae.datasets import fixed_binarization, load_dataset
from minivae.train import TrainingDiverged, kl_weight, train


@pytest.fixture(scope="module")
def subset():
    data = load_dataset("mnist-subset")
    return data.x_train[:2000], fixed_binarization(data.x_test[:500], 1)


def test_kl_warm_up_rises_linearly_to_beta_and_stays():
    assert kl_weight(0, 10, beta=2.0, warmup_epochs=0) == 2.0
    w = [kl_weight(t, 10, beta=2.0, warmup_epochs=2) for t in range(0, 30, 5)]
    assert_allclose(w, [0.0, 0.5, 1.0, 1.5, 2.0, 2.0])


def test_training_on_mnist_reduces_both_parts_and_is_reproducible(subset):
    x_train, x_test = subset
    runs = []
    for _ in range(2):
        vae = VAE(784, [64], 8, rng=np.random.default_rng(1))
        runs.append(train(vae, x_train, x_test, epochs=3, batch_size=100, binarize_data=True, seed=7))
    a, b = runs
    for k in ("train_loss", "train_reconstruction", "train_kl", "test_loss", "test_kl"):
        assert a[k] == b[k], k
    assert a["test_loss"][-1] < 0.85 * a["test_loss"][0]
    assert a["test_kl"][-1] > 0 and a["train_reconstruction"][-1] < a["train_reconstruction"][0]
    assert_allclose(np.array(a["train_loss"]), np.array(a["train_reconstruction"]) + np.array(a["train_kl"]),
                    rtol=1e-5)
    other = train(VAE(784, [64], 8, rng=np.random.default_rng(1)), x_train, x_test, epochs=1,
                  batch_size=100, binarize_data=True, seed=8)
    assert other["train_loss"][0] != a["train_loss"][0]


def test_history_records_every_epoch_and_warm_up_beta(subset):
    x_train, x_test = subset
    seen = []
    history = train(VAE(784, [32], 4), x_train[:500], None, epochs=3, batch_size=50, warmup_epochs=2,
                    on_epoch=lambda e, h: seen.append((e, len(h["train_loss"]))))
    assert seen == [(1, 1), (2, 2), (3, 3)]
    assert history["test_loss"] == [None] * 3
    assert_allclose(history["beta"], [0.5, 1.0, 1.0])
    assert all(s > 0 for s in history["seconds"])


def test_autoencoder_trains_with_the_same_loop(subset):
    x_train, _ = subset
    ae = Autoencoder(784, [64], 8, rng=np.random.default_rng(0))
    history = train(ae, x_train, x_train[:200], epochs=3, batch_size=100)
    assert history["test_loss"][-1] < 0.85 * history["test_loss"][0]
    assert history["train_kl"] == [0.0] * 3


class _PoisonAfter(Adam):
    """Adam that writes NaN into the parameters after a number of steps (a divergence)."""

    def __init__(self, params, steps):
        super().__init__(params)
        self.left = steps

    def step(self, grads):
        super().step(grads)
        self.left -= 1
        if self.left == 0:
            next(iter(self.params.values()))[...] = np.nan


def test_nan_loss_stops_training_with_a_clear_message_after_the_last_good_epoch(subset):
    x_train, _ = subset
    vae = VAE(784, [16], 2)
    epochs_done = []
    with pytest.raises(TrainingDiverged, match="NaN|nan.*smaller learning rate"):
        train(vae, x_train[:1000], None, epochs=5, batch_size=100, optimizer=_PoisonAfter(vae.params, 15),
              on_epoch=lambda e, h: epochs_done.append(e))
    assert epochs_done == [1]          # epoch 1 (10 steps) finished cleanly; epoch 2 diverged


# -------------------------------------------------------------------- resuming, schedules, divergence

from minivae.app import checkpoint
from minivae.errors import InputError
from minivae.optim import SGD
from minivae.train import burda_schedule, learning_rate


def _without_seconds(history):
    return {k: v for k, v in history.items() if k != "seconds"}


@pytest.mark.parametrize("make_optimizer", [lambda p: Adam(p, lr=2e-3, eps=1e-4),
                                            lambda p: SGD(p, lr=1e-2, momentum=0.9)])
def test_a_run_interrupted_and_resumed_is_bit_identical_to_an_uninterrupted_one(subset, tmp_path,
                                                                                  make_optimizer):
    x_train, x_test = subset
    x_train, x_test = x_train[:300], x_test[:100]
    schedule = [(1, 2e-3), (2, 1e-3), (5, 5e-4)]
    kw = dict(batch_size=32, binarize_data=True, warmup_epochs=1.5, lr_schedule=schedule)

    def start():
        rng = np.random.default_rng(3)
        model = VAE(784, [16], 3, activation="tanh", rng=rng)
        return model, make_optimizer(model.params), rng

    model, opt, rng = start()
    whole = train(model, x_train, x_test, epochs=4, optimizer=opt, rng=rng, **kw)

    for stop in (1, 2):
        part_model, part_opt, part_rng = start()
        path = tmp_path / f"stop{stop}.npz"
        train(part_model, x_train, x_test, epochs=stop, optimizer=part_opt, rng=part_rng,
              on_epoch=lambda e, h: checkpoint.save(path, part_model, h, optimizer=part_opt, rng=part_rng), **kw)
        del part_model, part_opt, part_rng                         # a new process would start here
        loaded, history, loaded_opt, loaded_rng = checkpoint.load_for_resume(path)
        assert len(history["train_loss"]) == stop
        resumed = train(loaded, x_train, x_test, epochs=4, optimizer=loaded_opt, rng=loaded_rng,
                        history=history, **kw)
        assert _without_seconds(resumed) == _without_seconds(whole)
        for k, p in model.params.items():
            assert np.array_equal(loaded.params[k], p), k
        assert loaded_rng.bit_generator.state == rng.bit_generator.state
    assert whole["lr"] == [2e-3, 1e-3, 1e-3, 5e-4]


def test_learning_rate_follows_the_stages_and_keeps_the_last_rate():
    stages = [(1, 0.1), (3, 0.01)]
    assert [learning_rate(e, 0.5, stages) for e in range(1, 7)] == [0.1, 0.01, 0.01, 0.01, 0.01, 0.01]
    assert learning_rate(7, 0.5, None) == 0.5
    burda = burda_schedule()
    assert sum(n for n, _ in burda) == 3280 and [n for n, _ in burda[:3]] == [1, 3, 9]
    assert_allclose([r for _, r in burda], [1e-3 * 10 ** (-i / 7) for i in range(8)], rtol=1e-15)
    assert sum(n for n, _ in burda_schedule(4)) == 40


@pytest.mark.parametrize("kw", [dict(batch_size=-1), dict(batch_size=0), dict(batch_size=2.5),
                                dict(epochs=-1), dict(lr=float("inf")), dict(lr=0.0), dict(beta=float("nan")),
                                dict(warmup_epochs=float("inf")), dict(lr_schedule=[]),
                                dict(lr_schedule=[(0, 1e-3)]), dict(lr_schedule=[(2, float("nan"))]),
                                dict(lr_schedule="fast"), dict(seed=-1), dict(seed=1.5)])
def test_bad_training_options_raise_input_error(subset, kw):
    with pytest.raises(InputError):
        train(VAE(784, [8], 2), subset[0][:50], **kw)


def test_overflowing_gradients_leave_finite_parameters_and_say_so(subset):
    x_train, _ = subset
    vae = VAE(784, [16], 2, rng=np.random.default_rng(0))
    before = {k: p.copy() for k, p in vae.params.items()}
    with _no_warnings():
        with pytest.raises(TrainingDiverged, match="put back as they were before training"):
            train(vae, x_train[:200], None, epochs=1, batch_size=200, beta=1e308)
    for k, p in vae.params.items():
        assert np.array_equal(p, before[k]), k


def test_a_huge_learning_rate_ends_in_one_divergence_error_without_warnings(subset):
    x_train, _ = subset
    vae = VAE(784, [16], 2, rng=np.random.default_rng(0))
    done = []
    with _no_warnings():
        with pytest.raises(TrainingDiverged, match="NaN|Inf|inf|nan"):
            train(vae, x_train[:1000], None, epochs=50, batch_size=100, lr=1e6,
                  on_epoch=lambda e, h: done.append({k: p.copy() for k, p in vae.params.items()}))
    assert all(np.isfinite(p).all() for p in vae.params.values())
    if done:                                  # rolled back to the end of the last complete epoch
        for k, p in vae.params.items():
            assert np.array_equal(p, done[-1][k])


class _no_warnings:
    def __enter__(self):
        import warnings
        self._cm = warnings.catch_warnings()
        self._cm.__enter__()
        warnings.simplefilter("error")

    def __exit__(self, *exc):
        return self._cm.__exit__(*exc)


@pytest.mark.parametrize("kind", ["vae", "hvae"])
def test_the_data_mean_output_bias_makes_a_zero_weight_decoder_output_the_mean_image(kind):
    from minivae import HierarchicalVAE
    from minivae.train import set_output_bias_to_data_mean
    rng = np.random.default_rng(0)
    x = rng.random((50, 12)) ** 3
    x[:, 0], x[:, 1] = 0.0, 1.0                                   # clipped to 0.001 and 0.999
    model = (VAE(d_in=12, hidden=[5], latent_dim=2, rng=rng) if kind == "vae" else
             HierarchicalVAE(12, [3, 2], [5, 4], rng=rng, inference="bottom-up", decoder_reads="z1"))
    set_output_bias_to_data_mean(model, x)
    model.decoder.layers[-1].params["W"][...] = 0.0
    z = rng.normal(size=(4, 2)) if kind == "vae" else [rng.normal(size=(4, 3)), rng.normal(size=(4, 2))]
    p = 1 / (1 + np.exp(-model.decode(z).astype(np.float64)))
    mean = np.clip(x.mean(axis=0), 1e-3, 1 - 1e-3)
    assert_allclose(p, np.broadcast_to(mean, (4, 12)), rtol=1e-5)
    assert mean[0] == 1e-3 and mean[1] == 1 - 1e-3


def test_the_data_mean_output_bias_refuses_a_decoder_that_outputs_no_logits():
    from minivae.train import set_output_bias_to_data_mean
    rng = np.random.default_rng(0)
    gaussian = VAE(d_in=12, hidden=[5], latent_dim=2, likelihood="gaussian", rng=rng)
    with pytest.raises(InputError, match="needs a Bernoulli decoder"):
        set_output_bias_to_data_mean(gaussian, rng.random((5, 12)))
    conv = VAE(d_in=784, hidden=[8], latent_dim=2, arch="conv", channels=[2, 2], image_shape=(1, 28, 28), rng=rng)
    with pytest.raises(InputError, match="--arch mlp"):
        set_output_bias_to_data_mean(conv, rng.random((5, 784)))
