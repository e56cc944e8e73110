"""Tests for minivae.plots: every figure renders to a valid PNG, and the pictures put the
right pixels in the right places."""
import matplotlib.image
import numpy as np
import pytest
from matplotlib.figure import Figure
from numpy.testing import assert_allclose, assert_array_equal
from scipy.stats import norm

import minivae
from minivae import plots
from minivae.errors import InputError

SHAPE = (1, 28, 28)
D = 28 * 28
PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def vae():
    return minivae.VAE(d_in=D, hidden=[8], latent_dim=2, rng=np.random.default_rng(0))


@pytest.fixture(scope="module")
def autoencoder():
    return minivae.Autoencoder(d_in=D, hidden=[8], latent_dim=2, rng=np.random.default_rng(1))


@pytest.fixture(scope="module")
def hvae():
    return minivae.HierarchicalVAE(d_in=D, latent_dims=(3, 2), hidden=(8, 6), rng=np.random.default_rng(3))


@pytest.fixture(scope="module")
def data():
    rng = np.random.default_rng(2)
    return rng.random((40, D)).astype(np.float32), rng.integers(0, 10, size=40)


def history(epochs=4, with_test=True):
    h = {"train_loss": [200.0 - e for e in range(epochs)],
         "train_reconstruction": [180.0 - e for e in range(epochs)],
         "train_kl": [20.0] * epochs}
    if with_test:                           # no test evaluation in the first epoch
        h.update(test_loss=[None] + [205.0] * (epochs - 1),
                 test_reconstruction=[None] + [184.0] * (epochs - 1),
                 test_kl=[None] + [21.0] * (epochs - 1))
    return h


def assert_valid_png(path):
    assert path.exists()
    raw = path.read_bytes()
    assert len(raw) > 0 and raw.startswith(PNG_SIGNATURE)
    pixels = matplotlib.image.imread(path)
    assert pixels.ndim == 3 and pixels.shape[2] in (3, 4)
    assert pixels.shape[0] > 20 and pixels.shape[1] > 20


def shown_picture(fig, axes_index=0):
    """The array an Axes of fig displays with imshow."""
    return np.asarray(fig.axes[axes_index].images[0].get_array())


# ---------------------------------------------------------------------------- figures

FIGURES = {
    "image_grid": lambda m, x, y, rng: plots.image_grid(x[:12], SHAPE, n_cols=5, title="data"),
    "loss_curves": lambda m, x, y, rng: plots.loss_curves(history()),
    "reconstructions": lambda m, x, y, rng: plots.reconstructions(m["vae"], x, SHAPE, n=6),
    "prior_samples": lambda m, x, y, rng: plots.prior_samples(m["vae"], rng, SHAPE, n=12),
    "latent_scatter": lambda m, x, y, rng: plots.latent_scatter(m["vae"], x, y),
    "manifold": lambda m, x, y, rng: plots.manifold(m["vae"], SHAPE, n=5),
    "latent_traversals": lambda m, x, y, rng: plots.latent_traversals(m["vae"], x[0], SHAPE),
    "ae_vs_vae_samples": lambda m, x, y, rng: plots.ae_vs_vae_samples(m["ae"], m["vae"], rng,
                                                                       SHAPE, n=8),
    "hvae_prior_samples": lambda m, x, y, rng: plots.prior_samples(m["hvae"], rng, SHAPE, n=12),
    "vae_vs_hvae_samples": lambda m, x, y, rng: plots.samples_side_by_side(
        [m["vae"], m["hvae"]], ["VAE", "HVAE"], rng, SHAPE, n=8, notes=["a", "b"], title="t"),
    "hierarchy_levels": lambda m, x, y, rng: plots.hierarchy_levels(m["hvae"], rng, SHAPE, rows=3, cols=4),
    "beta_curve": lambda m, x, y, rng: plots.beta_curve([4.0, 0.5, 1.0], [120.0, 90.0, 100.0],
                                                        [8.0, 30.0, 20.0]),
}


@pytest.mark.parametrize("name", sorted(FIGURES))
def test_every_figure_saves_as_a_valid_png(name, vae, autoencoder, hvae, data, tmp_path):
    x, y = data
    fig = FIGURES[name]({"vae": vae, "ae": autoencoder, "hvae": hvae}, x, y, np.random.default_rng(0))
    assert isinstance(fig, Figure)
    path = plots.save(fig, tmp_path / f"{name}.png")
    assert path == tmp_path / f"{name}.png"
    assert_valid_png(path)
    assert sorted(p.name for p in tmp_path.iterdir()) == [f"{name}.png"]


# ---------------------------------------------------------------------------- tile

def test_tile_puts_image_k_in_grid_row_k_div_cols_and_column_k_mod_cols():
    rng = np.random.default_rng(0)
    shape, n, n_cols, pad = (1, 4, 3), 7, 3, 1            # H != W catches a transposition
    images = rng.random((n, 12))
    picture = plots.tile(images, shape, n_cols=n_cols, pad=pad, pad_value=-1.0)

    assert picture.shape == (3 * 4 + 2 * pad, 3 * 3 + 2 * pad)
    covered = np.zeros(picture.shape, dtype=bool)
    for k in range(n):
        top, left = k // n_cols * (4 + pad), k % n_cols * (3 + pad)
        assert_array_equal(picture[top:top + 4, left:left + 3], images[k].reshape(4, 3))
        covered[top:top + 4, left:left + 3] = True
    assert np.all(picture[~covered] == -1.0)              # padding and the two empty cells


def test_tile_of_rgb_images_keeps_channels_last():
    images = np.random.default_rng(0).random((2, 3 * 2 * 5))
    picture = plots.tile(images, (3, 2, 5), n_cols=2, pad=0)
    assert picture.shape == (2, 10, 3)
    assert_array_equal(picture[:, 5:], images[1].reshape(3, 2, 5).transpose(1, 2, 0))


def test_tile_rejects_images_that_do_not_match_image_shape():
    with pytest.raises(ValueError, match=r"\(N, 784\)"):
        plots.tile(np.zeros((3, 560)), SHAPE)
    with pytest.raises(ValueError, match="one image"):
        plots.tile(np.zeros(784), SHAPE)


def test_image_grid_clips_gaussian_means_to_the_unit_interval_for_display():
    images = np.array([[-0.5, 0.25, 1.5, 1.0]])
    fig = plots.image_grid(images, (1, 2, 2))
    assert_array_equal(shown_picture(fig), [[0.0, 0.25], [1.0, 1.0]])
    image = fig.axes[0].images[0]
    assert image.get_cmap().name == "gray" and image.get_clim() == (0.0, 1.0)


def test_image_grid_draws_into_a_given_axes():
    fig = Figure()
    ax = fig.add_subplot()
    assert plots.image_grid(np.zeros((3, 4)), (1, 2, 2), ax=ax, title="t") is fig
    assert ax.get_title() == "t" and len(ax.images) == 1


# ---------------------------------------------------------------------------- pictures of models

def test_reconstructions_shows_inputs_above_their_reconstructions(vae, data):
    x, _ = data
    fig = plots.reconstructions(vae, x, SHAPE, n=4)
    expected = plots.tile(np.concatenate([x[:4], vae.reconstruct(x[:4])]), SHAPE, n_cols=4)
    assert_allclose(shown_picture(fig), np.clip(expected, 0, 1), rtol=0, atol=0)


def test_manifold_grid_coordinates_are_normal_quantiles_evenly_spaced_in_probability():
    n = 7
    z = plots.manifold_grid(n)
    coords = norm.ppf(np.linspace(0.05, 0.95, n))
    assert z.shape == (n * n, 2)
    for i in range(n):                                    # row i from the top, column j from the left
        for j in range(n):
            assert_array_equal(z[i * n + j], [coords[j], coords[n - 1 - i]])
    assert_allclose(norm.cdf(np.unique(z[:, 0])), np.linspace(0.05, 0.95, n), rtol=0, atol=1e-12)


def test_manifold_decodes_the_grid_in_picture_order(vae):
    fig = plots.manifold(vae, SHAPE, n=3)
    expected = plots.tile(vae.generate(plots.manifold_grid(3)), SHAPE, n_cols=3, pad=0)
    assert_array_equal(shown_picture(fig), np.clip(expected, 0, 1))


def test_traversal_codes_change_only_the_traversed_dimension():
    mu, values = np.array([0.5, -1.0, 2.0]), np.array([-3.0, 0.0, 3.0])
    z = plots.traversal_codes(mu, [2, 0], values).reshape(2, 3, 3)
    assert_array_equal(z[0, :, 2], values)
    assert_array_equal(z[0, :, :2], np.tile(mu[:2], (3, 1)))
    assert_array_equal(z[1, :, 0], values)
    assert_array_equal(z[1, :, 1:], np.tile(mu[1:], (3, 1)))


def test_latent_traversals_default_to_every_dimension_up_to_ten(data):
    x, _ = data
    model = minivae.VAE(d_in=D, hidden=[8], latent_dim=12, rng=np.random.default_rng(0))
    fig = plots.latent_traversals(model, x[0], SHAPE, values=[-1.0, 1.0])
    mu = model.encode(x[:1])[0][0]
    expected = plots.tile(model.generate(plots.traversal_codes(mu, range(10), [-1.0, 1.0])),
                          SHAPE, n_cols=2)
    assert_allclose(shown_picture(fig), np.clip(expected, 0, 1), rtol=0, atol=0)
    assert [t.get_text() for t in fig.axes[0].get_yticklabels()] == [f"$z_{{{d}}}$" for d in range(10)]


@pytest.mark.parametrize("plot", [lambda m, x, y: plots.latent_scatter(m, x, y),
                                  lambda m, x, y: plots.manifold(m, SHAPE, n=3)])
def test_two_dimensional_latent_plots_reject_other_latent_sizes(plot, data):
    x, y = data
    model = minivae.VAE(d_in=D, hidden=[8], latent_dim=3, rng=np.random.default_rng(0))
    with pytest.raises(ValueError, match="latent_dim == 2; this model has latent_dim == 3"):
        plot(model, x, y)


def test_latent_scatter_colours_points_by_digit_with_a_colour_bar(vae, data):
    x, y = data
    fig = plots.latent_scatter(vae, x, y, max_points=30)
    points = fig.axes[0].collections[0]
    assert_allclose(points.get_offsets(), vae.encode(x[:30])[0], rtol=1e-6)
    assert_array_equal(points.get_array(), y[:30])
    assert points.get_cmap().name == "tab10"
    assert len(fig.axes) == 2                              # the scatter and its colour bar


def test_prior_samples_refuses_an_autoencoder_with_a_pointer_to_ae_vs_vae(autoencoder):
    with pytest.raises(InputError, match="ae_vs_vae_samples"):
        plots.prior_samples(autoencoder, np.random.default_rng(0), SHAPE)


def test_ae_vs_vae_decodes_the_same_codes_with_both_decoders(autoencoder, vae):
    fig = plots.ae_vs_vae_samples(autoencoder, vae, np.random.default_rng(5), SHAPE, n=4)
    z = np.random.default_rng(5).standard_normal((4, 2))
    assert_array_equal(shown_picture(fig, 0), np.clip(plots.tile(autoencoder.generate(z), SHAPE), 0, 1))
    assert_array_equal(shown_picture(fig, 1), np.clip(plots.tile(vae.generate(z), SHAPE), 0, 1))
    assert [ax.get_title() for ax in fig.axes] == [r"autoencoder: decode $z \sim \mathcal{N}(0, I)$",
                                                   r"VAE: decode $z \sim \mathcal{N}(0, I)$"]


def test_side_by_side_samples_a_hierarchical_vae_top_down_and_notes_each_panel(vae, hvae):
    fig = plots.samples_side_by_side([vae, hvae], ["VAE", "HVAE"], np.random.default_rng(5), SHAPE, n=4,
                                     notes=["log p(x) = -1.00", "log p(x) = -2.00"])
    rng = np.random.default_rng(5)
    z = rng.standard_normal((4, 2))                       # the VAE's codes, then the HVAE's draws
    assert_array_equal(shown_picture(fig, 0), np.clip(plots.tile(vae.generate(z), SHAPE), 0, 1))
    assert_array_equal(shown_picture(fig, 1), np.clip(plots.tile(hvae.sample(4, rng), SHAPE), 0, 1))
    assert [ax.get_title() for ax in fig.axes] == [
        r"VAE: decode $z \sim \mathcal{N}(0, I)$" + "\nlog p(x) = -1.00",
        r"HVAE: decode $z_2 \sim \mathcal{N}(0, I)$, $z_1 \sim p(z_1 \mid z_2)$" + "\nlog p(x) = -2.00"]


# ---------------------------------------------------------------------------- hierarchical VAE

def test_hierarchy_codes_share_the_top_level_along_each_row_and_redraw_the_level_below(hvae):
    rows, cols = 3, 5
    z1, z2 = plots.hierarchy_codes(hvae, np.random.default_rng(0), rows, cols)
    assert z1.shape == (rows * cols, 3) and z2.shape == (rows * cols, 2)
    z1, z2 = z1.reshape(rows, cols, 3), z2.reshape(rows, cols, 2)
    for r in range(rows):
        assert_array_equal(z2[r], np.tile(z2[r, 0], (cols, 1)))          # one z_2 per row
        assert len({tuple(v) for v in z1[r]}) == cols                      # a new z_1 per cell
    assert len({tuple(z2[r, 0]) for r in range(rows)}) == rows             # a new z_2 per row


def test_hierarchy_codes_draw_the_lower_level_from_the_rows_conditional_prior():
    model = minivae.HierarchicalVAE(d_in=4, latent_dims=(3, 2), hidden=(8, 6), rng=np.random.default_rng(4),
                                    dtype=np.float64)
    rows, cols = 2, 4000
    z1, z2 = plots.hierarchy_codes(model, np.random.default_rng(1), rows, cols)
    z1, z2 = z1.reshape(rows, cols, 3), z2[::cols]                         # z2: (rows, 2)
    mu_p = model.prior_sample(rows, fixed=[None, z2], mean=True)[0]       # E[z_1 | z_2] per row
    se = z1.std(axis=1) / np.sqrt(cols)                                    # (rows, 3)
    assert np.all(np.abs(z1.mean(axis=1) - mu_p) < 5 * se)                # each row's own prior ...
    assert np.max(np.abs(mu_p[0] - mu_p[1]) / se[0]) > 10                 # ... and not the other row's


def test_hierarchy_codes_can_fix_the_top_two_of_three_levels():
    model = minivae.HierarchicalVAE(d_in=D, latent_dims=(4, 3, 2), hidden=(8, 6, 5), rng=np.random.default_rng(0))
    rows, cols = 2, 3
    z1, z2, z3 = (z.reshape(rows, cols, -1) for z in plots.hierarchy_codes(model, np.random.default_rng(0),
                                                                          rows, cols, fixed_levels=2))
    for r in range(rows):
        assert_array_equal(z3[r], np.tile(z3[r, 0], (cols, 1)))
        assert_array_equal(z2[r], np.tile(z2[r, 0], (cols, 1)))
        assert len({tuple(v) for v in z1[r]}) == cols
    assert not np.array_equal(z2[0, 0], z2[1, 0])


def test_hierarchy_levels_shows_the_codes_decoded_row_by_row(hvae):
    fig = plots.hierarchy_levels(hvae, np.random.default_rng(7), SHAPE, rows=2, cols=3, note="KL")
    z = plots.hierarchy_codes(hvae, np.random.default_rng(7), 2, 3)
    expected = plots.tile(hvae.sample(6, None, fixed=z), SHAPE, n_cols=3)
    assert_array_equal(shown_picture(fig), np.clip(expected, 0, 1))
    assert fig.axes[0].get_title().endswith("$z_{2}$ fixed along each row\nKL")


@pytest.mark.parametrize("fixed_levels", [0, 2, 1.0])
def test_hierarchy_levels_needs_a_free_level_below_the_fixed_ones(hvae, fixed_levels):
    with pytest.raises(InputError, match=r"fixed_levels must be an integer in \[1, 1\]"):
        plots.hierarchy_levels(hvae, np.random.default_rng(0), SHAPE, fixed_levels=fixed_levels)


def test_hierarchy_levels_refuses_a_single_level_vae_with_a_pointer_to_traversals(vae):
    with pytest.raises(InputError, match="latent_traversals"):
        plots.hierarchy_levels(vae, np.random.default_rng(0), SHAPE)


# ---------------------------------------------------------------------------- curves

def test_loss_curves_plot_train_and_test_against_one_based_epochs():
    fig = plots.loss_curves(history(epochs=4))
    assert len(fig.axes) == 3
    assert "ELBO = reconstruction + KL" in fig.axes[0].get_title()
    for ax, part in zip(fig.axes, ("loss", "reconstruction", "kl")):
        train, test = ax.get_lines()
        assert_array_equal(train.get_xdata(), [1, 2, 3, 4])
        assert_array_equal(train.get_ydata(), history()[f"train_{part}"])
        assert np.isnan(test.get_ydata()[0])               # None (no evaluation) is a gap
        assert ax.get_ylabel() == "nats per example"


def test_loss_curves_without_test_data_draw_only_training():
    for h in (history(with_test=False), {**history(with_test=False), "test_loss": [None] * 4}):
        fig = plots.loss_curves(h)
        assert [len(ax.get_lines()) for ax in fig.axes] == [1, 1, 1]


def test_loss_curves_name_a_beta_weighted_loss_honestly():
    fig = plots.loss_curves({**history(), "beta": [0.5] * 4})
    assert "ELBO" not in fig.axes[0].get_title() and "beta" in fig.axes[0].get_title()


def test_beta_curve_sorts_by_beta_on_a_log_axis():
    fig = plots.beta_curve([4.0, 0.5, 1.0], [120.0, 90.0, 100.0], [8.0, 30.0, 20.0])
    ax = fig.axes[0]
    assert ax.get_xscale() == "log"
    rec, kl, total = ax.get_lines()
    assert_array_equal(rec.get_xdata(), [0.5, 1.0, 4.0])
    assert_array_equal(rec.get_ydata(), [90.0, 100.0, 120.0])
    assert_array_equal(kl.get_ydata(), [30.0, 20.0, 8.0])
    assert_array_equal(total.get_ydata(), [120.0, 120.0, 128.0])


# ---------------------------------------------------------------------------- save

def test_save_creates_missing_folders(tmp_path):
    path = plots.save(plots.beta_curve([1.0], [1.0], [1.0]), tmp_path / "a" / "b" / "fig.png")
    assert_valid_png(path)


def test_save_leaves_the_old_file_untouched_and_no_temp_file_if_rendering_fails(tmp_path, monkeypatch):
    path = tmp_path / "fig.png"
    path.write_bytes(b"old bytes")

    def broken_savefig(self, *args, **kwargs):
        raise RuntimeError("render failed")

    monkeypatch.setattr(Figure, "savefig", broken_savefig)
    with pytest.raises(RuntimeError, match="render failed"):
        plots.save(Figure(), path)
    assert path.read_bytes() == b"old bytes"
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]


def test_save_replaces_an_existing_file(tmp_path):
    path = tmp_path / "fig.png"
    path.write_bytes(b"old bytes")
    plots.save(plots.beta_curve([1.0], [1.0], [1.0]), path)
    assert_valid_png(path)
    assert [p.name for p in tmp_path.iterdir()] == ["fig.png"]


def test_save_refuses_a_path_that_is_not_a_png(tmp_path):
    with pytest.raises(ValueError, match=r"\.png"):
        plots.save(Figure(), tmp_path / "fig.pdf")
    assert list(tmp_path.iterdir()) == []
