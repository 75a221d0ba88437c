"""The stronger VAEs: the IWAE objective, mixture priors and the VampPrior, checked by numbers.

The IWAE bound is checked against the exact log-likelihood of a linear
Gaussian model, whose posterior the encoder computes exactly; the k-sample
loss and the priors' densities against independent numpy computations.
"""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from conftest import assert_close

import vae_tf
from vae_tf import Sampler
from vae_tf.metrics import evaluate_likelihood
from vae_tf.models import priors

# A linear Gaussian model x = W z + b + sigma * noise over 4 pixels and 2
# latent dimensions. W's columns are orthogonal, so the exact posterior is a
# diagonal Gaussian, N(S W^T (x - b) / sigma^2, S) with S = (I + W^T W / sigma^2)^-1.
W = np.array([[1.0, 0.0], [0.0, 0.5], [0.5, 0.0], [0.0, -1.0]])
B = np.array([0.1, 0.2, 0.3, 0.4])
SIGMA = 0.5
POSTERIOR_VARIANCE = 1.0 / (1.0 + (W**2).sum(axis=0) / SIGMA**2)  # (2,)


def _linear_gaussian_vae(log_var_shift=0.0, mean_shift=0.0, **kwargs):
    """The linear Gaussian model with its exact posterior (or one shifted away from it)."""
    images = keras.Input((2, 2, 1))
    flat = keras.layers.Flatten()(images)
    z_mean = keras.layers.Dense(2, name="z_mean")(flat)
    z_log_var = keras.layers.Dense(2, name="z_log_var")(flat)
    encoder = keras.Model(images, [z_mean, z_log_var])
    kernel = W * POSTERIOR_VARIANCE / SIGMA**2  # (pixels, latent)
    encoder.get_layer("z_mean").set_weights([kernel, -B @ kernel + mean_shift])
    encoder.get_layer("z_log_var").set_weights(
        [np.zeros((4, 2)), np.log(POSTERIOR_VARIANCE) + log_var_shift]
    )
    codes = keras.Input((2,))
    mean = keras.layers.Reshape((2, 2, 1))(keras.layers.Dense(4, name="mean")(codes))
    decoder = keras.Model(codes, mean)
    decoder.get_layer("mean").set_weights([W.T, B])
    return vae_tf.VAE(
        encoder,
        decoder,
        likelihood="gaussian",
        sigma=SIGMA,
        decoder_output="probabilities",
        seed=0,
        **kwargs,
    )


def _exact_nll(x):
    covariance = W @ W.T + SIGMA**2 * np.eye(4)
    residual = x.reshape(len(x), 4) - B
    _, log_det = np.linalg.slogdet(covariance)
    mahalanobis = np.einsum("ni,ij,nj->n", residual, np.linalg.inv(covariance), residual)
    return 0.5 * (mahalanobis + log_det + 4 * math.log(2 * math.pi))


def _expected_elbo(model, x):
    """The ELBO of a Gaussian q on the linear model in closed form: E_q log p(x|z) - KL."""
    flat = x.reshape(len(x), 4)
    mean, log_var = (np.asarray(part, "float64") for part in model.encode(x))
    variance = np.exp(log_var)
    residual = flat - mean @ W.T - B
    expected_nll = 0.5 * (
        ((residual**2).sum(axis=1) + (variance * (W**2).sum(axis=0)).sum(axis=1)) / SIGMA**2
        + 4 * math.log(2 * math.pi * SIGMA**2)
    )
    kl = 0.5 * (variance + mean**2 - 1 - log_var).sum(axis=1)
    return expected_nll + kl


@pytest.fixture(scope="module")
def pixels():
    return np.random.default_rng(0).uniform(size=(6, 2, 2, 1)).astype("float32")


@pytest.mark.parametrize("k", [1, 2, 5, 50])
def test_iwae_bound_is_the_exact_nll_under_the_exact_posterior(pixels, k):
    model = _linear_gaussian_vae(objective="iwae", num_samples=k)
    terms = model.loss_terms(keras.ops.convert_to_tensor(pixels))
    # Every importance weight is p(x) itself: the bound is exact for every k.
    assert_close(terms["iwae"].value, _exact_nll(pixels), rtol=1e-5, atol=2e-4)
    # Under the exact posterior the ELBO is exact too (KL(q || p(z|x)) = 0).
    assert_close(_expected_elbo(model, pixels), _exact_nll(pixels), rtol=1e-5, atol=2e-4)
    result = evaluate_likelihood(model, pixels, num_samples=k)
    assert result["nll"] == pytest.approx(_exact_nll(pixels).mean(), abs=2e-4)


def test_iwae_bound_tightens_with_k_under_a_wrong_posterior():
    # A posterior too wide and off-centre: the bound falls from the ELBO (k=1)
    # towards -log p(x) as k grows.
    model = _linear_gaussian_vae(log_var_shift=1.5, mean_shift=0.4, objective="iwae")
    x = np.tile(np.random.default_rng(1).uniform(size=(1, 2, 2, 1)), (20_000, 1, 1, 1))
    exact = _exact_nll(x[:1])[0]
    bounds = {}
    for k in (1, 2, 5, 20):
        model.num_samples = k
        per_example = np.asarray(
            model.loss_terms(keras.ops.convert_to_tensor(x, "float32"))["iwae"].value
        )
        bounds[k] = per_example.mean(), per_example.std() / math.sqrt(len(x))
    assert bounds[1][0] == pytest.approx(_expected_elbo(model, x[:1])[0], abs=4 * bounds[1][1])
    means = [bounds[k][0] for k in (1, 2, 5, 20)]
    assert all(a - b > 3 * bounds[1][1] for a, b in zip(means, means[1:])), bounds
    assert means[-1] > exact and means[0] - exact > 0.5, (means, exact)


def _log_sigmoid(x):
    return -np.logaddexp(0.0, -x)


def _numpy_terms(model, images, epsilon, log_prior):
    """Reconstruction, KL (closed form or Monte Carlo) and IWAE bound, computed in numpy."""
    z_mean, z_log_var = (np.asarray(part, "float64") for part in model.encode(images))
    z = z_mean[:, None] + np.exp(0.5 * z_log_var)[:, None] * epsilon  # (batch, k, latent)
    batch, k, latent = z.shape
    logits = np.asarray(model.decoder(z.reshape(batch * k, latent).astype("float32")), "float64")
    x = np.repeat(images, k, axis=0).astype("float64")
    nll = -(x * _log_sigmoid(logits) + (1 - x) * _log_sigmoid(-logits))
    reconstruction = nll.reshape(batch, k, -1).sum(axis=-1)
    log_q = -0.5 * (epsilon**2 + z_log_var[:, None] + math.log(2 * math.pi)).sum(axis=-1)
    kl_samples = log_q - log_prior(z)
    log_weights = -reconstruction - kl_samples
    bound = math.log(k) - np.logaddexp.reduce(log_weights, axis=1)
    return reconstruction.mean(axis=1), kl_samples.mean(axis=1), bound, (z_mean, z_log_var)


def _numpy_mixture_log_density(z, means, log_vars, log_weights):
    diff = z[..., None, :] - means
    per_component = -0.5 * (diff**2 / np.exp(log_vars) + log_vars + math.log(2 * math.pi))
    return np.logaddexp.reduce(per_component.sum(axis=-1) + log_weights, axis=-1)


def _standard_normal(z):
    return -0.5 * (z**2 + math.log(2 * math.pi)).sum(axis=-1)


def _mixture_of(model):
    prior = model.prior
    if isinstance(prior, priors.VampPrior):
        means, log_vars = (
            np.asarray(part, "float64")
            for part in model.encode(np.clip(np.asarray(prior.pseudo_inputs), 0.0, 1.0))
        )
        log_weights = np.full(prior.components, -math.log(prior.components))
    else:
        means, log_vars = np.asarray(prior.means, "float64"), np.asarray(prior.log_vars, "float64")
        logits = np.asarray(prior.logits, "float64")
        log_weights = logits - np.logaddexp.reduce(logits)
    return lambda z: _numpy_mixture_log_density(z, means, log_vars, log_weights)


@pytest.mark.parametrize(
    "settings",
    [
        dict(objective="iwae", num_samples=4),
        dict(objective="elbo", num_samples=3, prior="mog", prior_components=7),
        dict(objective="iwae", num_samples=5, prior="vamp", prior_components=6),
    ],
)
def test_k_sample_loss_terms_match_an_independent_numpy_computation(mnist_small, settings):
    (x, _), _ = mnist_small
    images = (x[:5] > 0.5).astype("float32")
    keras.utils.set_random_seed(2)
    model = vae_tf.VAE(*vae_tf.build_encoder_decoder("mlp", 3), seed=11, **settings)
    if model.prior.closed_form_kl:
        log_prior = _standard_normal
    else:
        # Spread the mixture and train the VampPrior's pseudo-inputs away from black.
        if settings.get("prior") == "mog":
            model.prior.logits.assign(np.linspace(-1.0, 1.0, 7).astype("float32"))
            model.prior.log_vars.assign(np.full((7, 3), -0.5, "float32"))
        else:
            model.prior.pseudo_inputs.assign(x[:6])
        log_prior = _mixture_of(model)
    terms = model.loss_terms(keras.ops.convert_to_tensor(images))
    # The model's Sampler drew its noise first from the seed's start.
    epsilon = np.asarray(
        Sampler(seed=11).noise(keras.ops.zeros((5, 3)), settings["num_samples"]), "float64"
    )
    reconstruction, kl, bound, (z_mean, z_log_var) = _numpy_terms(model, images, epsilon, log_prior)
    assert_close(terms["reconstruction"].value, reconstruction, rtol=1e-5, atol=1e-3)
    if model.prior.closed_form_kl:
        kl = 0.5 * (np.exp(z_log_var) + z_mean**2 - 1 - z_log_var).sum(axis=1)
        assert terms["kl"].value.shape == (5, 3)
    else:
        assert terms["kl"].value.shape == (5, 1)
    assert_close(keras.ops.sum(terms["kl"].value, axis=-1), kl, rtol=1e-5, atol=1e-3)
    if settings["objective"] == "iwae":
        assert_close(terms["iwae"].value, bound, rtol=1e-5, atol=1e-3)
    else:
        assert "iwae" not in terms


def test_mixture_and_vamp_prior_densities_and_samples(mnist_small):
    rng = np.random.default_rng(3)
    mog = priors.MixtureOfGaussians(2, components=3)
    mog.means.assign([[-3.0, 0.0], [3.0, 1.0], [0.0, 4.0]])
    mog.log_vars.assign(np.log([[0.5, 0.2], [1.0, 1.0], [0.1, 2.0]]))
    mog.logits.assign(np.log([0.2, 0.5, 0.3]))
    z = rng.normal(size=(4, 5, 2)).astype("float32") * 3
    expected = _numpy_mixture_log_density(
        z.astype("float64"),
        np.asarray(mog.means),
        np.asarray(mog.log_vars),
        np.log([0.2, 0.5, 0.3]),
    )
    assert_close(mog.log_prob(z), expected, rtol=1e-5, atol=1e-4)
    # Draws: the mixture's mean and covariance, the same codes for the same seed.
    draws = np.asarray(mog.sample(200_000, 4), "float64")
    weights, means = np.array([0.2, 0.5, 0.3]), np.asarray(mog.means, "float64")
    variances = np.exp(np.asarray(mog.log_vars, "float64"))
    mean = weights @ means
    second = (weights[:, None] * (variances + means**2)).sum(axis=0)
    assert_close(draws.mean(axis=0), mean, atol=0.03)
    assert_close(draws.var(axis=0), second - mean**2, rtol=0.02)
    np.testing.assert_array_equal(mog.sample(6, 9), mog.sample(6, 9))
    assert not np.array_equal(mog.sample(6, 9), mog.sample(6, 10))
    generator = keras.random.SeedGenerator(1)
    assert not np.array_equal(mog.sample(6, generator), mog.sample(6, generator))

    (x, _), _ = mnist_small
    keras.utils.set_random_seed(4)
    vae = vae_tf.VAE(*vae_tf.build_encoder_decoder("mlp", 2), prior="vamp", prior_components=5)
    vae.prior.pseudo_inputs.assign(x[:5] * 1.4 - 0.2)  # clipped to [0, 1] as images
    assert_close(vae.prior.pseudo_images(), np.clip(x[:5] * 1.4 - 0.2, 0, 1))
    assert_close(vae.prior.log_prob(z), _mixture_of(vae)(z.astype("float64")), rtol=1e-5, atol=1e-4)
    # Samples come from the components, each a posterior of the encoder.
    component_means, _ = vae.encode(np.asarray(vae.prior.pseudo_images()))
    draws = np.asarray(vae.prior.sample(100_000, 0), "float64")
    assert_close(draws.mean(axis=0), np.asarray(component_means).mean(axis=0), atol=0.02)


def test_variants_round_trip_through_keras_files_with_their_prior_weights(tmp_path, mnist_small):
    (x, _), _ = mnist_small
    images = (x[:64] > 0.5).astype("float32")
    for settings in (
        dict(objective="iwae", num_samples=3, prior="vamp", prior_components=4),
        dict(prior="mog", prior_components=5, beta=2.0),
    ):
        keras.utils.set_random_seed(0)
        model = vae_tf.VAE(*vae_tf.build_encoder_decoder("mlp", 2), seed=2, **settings)
        model.compile(optimizer="adam")
        model.fit(images, epochs=1, batch_size=32, verbose=0)
        path = tmp_path / f"{settings['prior']}.keras"
        model.save(path)
        loaded = keras.saving.load_model(path)
        assert type(loaded.prior) is type(model.prior)
        assert (loaded.objective, loaded.num_samples, loaded.prior.components) == (
            model.objective,
            model.num_samples,
            model.prior.components,
        )
        for mine, theirs in zip(model.prior.weights, loaded.prior.weights):
            np.testing.assert_array_equal(mine.numpy(), theirs.numpy())
        z = np.random.default_rng(0).normal(size=(7, 2)).astype("float32")
        assert_close(loaded.prior.log_prob(z), model.prior.log_prob(z), atol=1e-6)
        np.testing.assert_allclose(loaded.sample(4, seed=3), model.sample(4, seed=3), atol=1e-6)
        # The trained pseudo-inputs or components moved away from their start.
        keras.utils.set_random_seed(0)
        fresh = vae_tf.VAE(*vae_tf.build_encoder_decoder("mlp", 2), seed=2, **settings)
        assert not np.allclose(model.prior.weights[0].numpy(), fresh.prior.weights[0].numpy())


def test_settings_that_cannot_combine_are_refused_with_the_fix():
    networks = vae_tf.build_encoder_decoder("mlp", 2)
    with pytest.raises(ValueError, match="free_bits=0.5 .*objective='iwae'.*set free_bits=0"):
        vae_tf.VAE(*networks, objective="iwae", num_samples=2, free_bits=0.5)
    with pytest.raises(ValueError, match="prior=.mog. has no per-dimension KL"):
        vae_tf.VAE(*networks, prior="mog", free_bits=0.5)
    with pytest.raises(ValueError, match="objective must be one of \\('elbo', 'iwae'\\)"):
        vae_tf.VAE(*networks, objective="iw")
    with pytest.raises(ValueError, match="num_samples must be a positive integer"):
        vae_tf.VAE(*networks, num_samples=0)
    with pytest.raises(ValueError, match="prior must be one of"):
        vae_tf.VAE(*networks, prior="vampprior")
    conditional = vae_tf.build_encoder_decoder("mlp", 2, num_classes=10)
    with pytest.raises(ValueError, match="prior='vamp' needs an unconditional model.*'mog'"):
        vae_tf.VAE(*conditional, num_classes=10, prior="vamp")
    vae_tf.VAE(*conditional, num_classes=10, prior="mog", prior_components=3)
    with pytest.raises(ValueError, match="prior 'vamp' needs an unconditional run"):
        vae_tf.TrainConfig(prior="vamp", conditional=True).validate()
    with pytest.raises(ValueError, match="autoencoder has no KL term.*objective, prior"):
        vae_tf.TrainConfig(autoencoder=True, objective="iwae", prior="mog").validate()


def _numpy_normal_log_density(z, mean, log_var):
    return -0.5 * ((z - mean) ** 2 / np.exp(log_var) + log_var + math.log(2 * math.pi)).sum(-1)


@pytest.mark.parametrize("prior", ["normal", "vamp"])
def test_two_layer_weights_and_elbo_match_an_independent_computation(prior):
    keras.utils.set_random_seed(5)
    networks = vae_tf.build_hierarchical_networks(2, (2, 2, 1), hidden_latent_dim=3)
    model = vae_tf.HierarchicalVAE(*networks, seed=1, prior=prior, prior_components=3)
    assert (model.latent_dim, model.hidden_latent_dim) == (2, 3)
    assert model.posterior(np.zeros((1, 2, 2, 1), "float32")).noise_shape == (5,)
    rng = np.random.default_rng(6)
    x = (rng.uniform(size=(4, 2, 2, 1)) > 0.5).astype("float32")
    encoder, decoder, top_encoder, top_decoder = (
        lambda *a, net=net: [np.asarray(t, "float64") for t in net(*a)] for net in networks
    )
    epsilon = rng.standard_normal((4, 3000, 5))
    # The chain by hand: z1 ~ q(z1|x), z2 ~ q(z2|z1); p(z2) p(z1|z2) p(x|z1).
    m1, lv1 = encoder(x)
    z1 = m1[:, None] + np.exp(0.5 * lv1)[:, None] * epsilon[..., :3]
    flat_z1 = z1.reshape(-1, 3).astype("float32")
    m2, lv2 = top_encoder(flat_z1)
    z2 = m2 + np.exp(0.5 * lv2) * epsilon[..., 3:].reshape(-1, 2)
    pm1, plv1 = top_decoder(z2.astype("float32"))
    logits = np.asarray(networks[1](flat_z1), "float64").reshape(4, 3000, 4)
    pixels = x.reshape(4, 1, 4)
    reconstruction = -(pixels * _log_sigmoid(logits) + (1 - pixels) * _log_sigmoid(-logits)).sum(-1)
    log_q = np.stack(
        [
            _numpy_normal_log_density(z1, m1[:, None], lv1[:, None]),
            _numpy_normal_log_density(z2, m2, lv2).reshape(4, 3000),
        ],
        axis=-1,
    )
    if prior == "normal":
        log_p2 = _standard_normal(z2)
    else:
        pseudo = np.clip(np.asarray(model.prior.pseudo_inputs), 0.0, 1.0)
        component_means, component_log_vars = top_encoder(encoder(pseudo)[0].astype("float32"))
        log_p2 = _numpy_mixture_log_density(
            z2, component_means, component_log_vars, np.full(3, -math.log(3))
        )
    log_p = np.stack(
        [_numpy_normal_log_density(flat_z1, pm1, plv1).reshape(4, 3000), log_p2.reshape(4, 3000)],
        axis=-1,
    )
    eps = keras.ops.convert_to_tensor(epsilon, "float32")
    got_reconstruction, got_log_q, got_log_p = model.importance_terms(
        keras.ops.convert_to_tensor(x), eps
    )
    assert_close(got_reconstruction, reconstruction, rtol=1e-4, atol=1e-3)
    assert_close(got_log_q, log_q, rtol=1e-4, atol=1e-3)
    assert_close(got_log_p, log_p, rtol=1e-4, atol=1e-3)
    log_weights, _ = model.log_importance_weights(keras.ops.convert_to_tensor(x), eps)
    assert_close(log_weights, -reconstruction + (log_p - log_q).sum(-1), rtol=1e-4, atol=2e-3)
    # The ELBO of the model's own draws agrees with this Monte Carlo estimate.
    elbo = (reconstruction + (log_q - log_p).sum(-1)).mean(axis=1)
    spread = (reconstruction + (log_q - log_p).sum(-1)).std(axis=1) / math.sqrt(3000)
    model.num_samples = 3000
    terms = model.loss_terms(keras.ops.convert_to_tensor(x))
    assert terms["kl"].value.shape == (4, 2)  # one column per layer
    model_elbo = terms["reconstruction"].value + keras.ops.sum(terms["kl"].value, axis=-1)
    assert np.all(np.abs(np.asarray(model_elbo) - elbo) < 5 * spread + 1e-3), (model_elbo, elbo)


def test_two_layer_model_round_trips_and_refuses_what_it_is_not(tmp_path):
    keras.utils.set_random_seed(0)
    model = vae_tf.HierarchicalVAE(
        *vae_tf.build_hierarchical_networks(4),
        seed=2,
        objective="iwae",
        num_samples=2,
        prior="vamp",
        prior_components=3,
    )
    # Untrained: the VampPrior's pseudo-inputs start at random, so a lost
    # weight would show (the one-layer round trip above trains first).
    images = (vae_tf.data.load_mnist()[1][0][:5] > 0.5).astype("float32")
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert isinstance(loaded, vae_tf.HierarchicalVAE) and loaded.hidden_latent_dim == 8
    z = np.random.default_rng(0).normal(size=(3, 4)).astype("float32")
    np.testing.assert_allclose(loaded.decode(z), model.decode(z), atol=1e-6)
    eps = keras.random.normal((5, 7, 12), seed=1)
    assert_close(
        loaded.log_importance_weights(images, eps)[0],
        model.log_importance_weights(images, eps)[0],
        atol=1e-4,
    )
    with pytest.raises(ValueError, match="two stochastic layers have no per-dimension KL"):
        vae_tf.HierarchicalVAE(*vae_tf.build_hierarchical_networks(4), free_bits=0.1)
    with pytest.raises(ValueError, match=r"top_decoder must take one input of shape \(4,\)"):
        networks = vae_tf.build_hierarchical_networks(4)
        vae_tf.HierarchicalVAE(*networks[:3], networks[2])
    with pytest.raises(ValueError, match="stochastic_layers=2 is built for unconditional"):
        vae_tf.TrainConfig(stochastic_layers=2, conditional=True).validate()
    with pytest.raises(ValueError, match="stochastic_layers must be one of \\(1, 2\\)"):
        vae_tf.TrainConfig(stochastic_layers=3).validate()


def test_pseudo_images_are_clipped_with_the_gradient_of_a_clip():
    from vae_tf.models.priors import clip_to_unit

    values = tf.constant([[-0.5, 0.0, 0.3, 1.0, 1.7]])
    upstream = tf.constant([[1.0, 2.0, 3.0, 4.0, 5.0]])
    results = []
    for clip in (clip_to_unit, lambda x: tf.minimum(tf.maximum(x, 0.0), 1.0)):
        with tf.GradientTape() as tape:
            tape.watch(values)
            clipped = clip(values)
        results.append((clipped, tape.gradient(clipped, values, output_gradients=upstream)))
    (ours, our_gradient), (reference, reference_gradient) = results
    assert_close(ours, [[0.0, 0.0, 0.3, 1.0, 1.0]])
    assert_close(ours, reference)
    assert_close(our_gradient, reference_gradient)  # [0, 2, 3, 4, 0]: the bounds pass it
