"""The FactorVAE and beta-VAE scores, and the interventions they share, on codes we can predict.

Factors are drawn like the shapes dataset's (5 factors of 3, 6, 40, 32, 32
values). A code that copies them scores 1, a random code about 1/5, and a
code that mixes x and y in one dimension about 4/5 (x and y cannot both own
that dimension). Values seen when written (N=4,000, 2,000 training and
1,000 evaluation points, seed 0; FactorVAE / beta-VAE): copy 1.000 / 1.000,
random 0.209 / 0.222, mixed 0.786 / 0.803.
"""

import warnings

import numpy as np
import pytest
from sklearn.linear_model import LogisticRegression
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

from vae_tf.data import shapes
from vae_tf.metrics.disentanglement import inputs
from vae_tf.metrics.disentanglement import interventions
from vae_tf.metrics.disentanglement.beta_vae import beta_vae_score
from vae_tf.metrics.disentanglement.factor_vae import factor_vae_score

N = 4000
SMALL = dict(num_train=2000, num_eval=1000)
SIZES = np.array(shapes.FACTOR_SIZES)


def scaled(factors):
    """Each factor index scaled to [0, 1]."""
    return factors / (SIZES - 1.0)


def copy_code(factors, seed=1, noise=0.01):
    """The factors scaled to [0, 1], plus noise of sd `noise`, in shuffled columns."""
    rng = np.random.default_rng(seed)
    code = scaled(factors) + noise * rng.normal(size=factors.shape)
    return code[:, rng.permutation(factors.shape[1])]


def mixed_code(factors, seed=1):
    """Dimension 0 holds x + y, dimension 1 noise, the others copy shape, scale, orientation."""
    rng = np.random.default_rng(seed)
    s = scaled(factors) + 0.01 * rng.normal(size=factors.shape)
    return np.stack([s[:, 3] + s[:, 4], rng.normal(size=len(s)), s[:, 0], s[:, 1], s[:, 2]], 1)


@pytest.fixture(scope="module")
def factors():
    return shapes.sample_factors(N, seed=0)


def both(codes, factors, **settings):
    settings = {**SMALL, **settings}
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # e.g. a LogisticRegression that did not converge
        return factor_vae_score(codes, factors, **settings), beta_vae_score(
            codes, factors, **settings
        )


def test_batches_fix_one_factor_and_vary_the_rest(factors):
    rng = np.random.default_rng(0)
    with_constant = np.concatenate([factors, np.full((N, 1), 7)], axis=1)
    np.testing.assert_array_equal(inputs.varying_factors(with_constant), [0, 1, 2, 3, 4])
    batches = interventions.factor_batches(with_constant, 0, 64, 3000, rng)
    assert batches.shape == (3000, 64) and batches.dtype == np.int64
    values = with_constant[batches]  # (3000, 64, 6)
    assert (values[:, :, 0] == values[:, :1, 0]).all()
    # The fixed value is uniform over the 3 shapes; the other factors still vary in a batch.
    counts = np.bincount(values[:, 0, 0], minlength=3)
    assert counts.min() > 900 and counts.max() < 1100
    assert (np.ptp(values[:, :, 2], axis=1) > 0).all()
    # Examples are drawn from all those sharing the value, not a few of them.
    assert np.unique(batches[values[:, 0, 0] == 1]).size > 0.95 * np.sum(factors[:, 0] == 1)
    first, second = interventions.factor_pairs(factors, 2, 64, 100, rng)
    assert first.shape == second.shape == (100, 64)
    np.testing.assert_array_equal(factors[first, 2], factors[second, 2])
    # Each pair has a value of its own (Higgins et al.): many values within a batch.
    assert np.mean([np.unique(row).size for row in factors[first, 2]]) > 20
    assert (factors[first, 3] != factors[second, 3]).mean() > 0.9
    with pytest.raises(ValueError, match="Factor 5 never varies"):
        interventions.factor_batches(with_constant, 5, 64, 10, rng)
    with pytest.raises(ValueError, match="No factor varies"):
        inputs.varying_factors(np.zeros((10, 3), int))


def test_a_copy_of_the_factors_scores_one(factors):
    fvae, bvae = both(copy_code(factors), factors)
    assert fvae["factor_vae_score"] >= 0.95 and fvae["train_accuracy"] >= 0.95
    assert bvae["beta_vae_score"] >= 0.95 and bvae["train_accuracy"] >= 0.95
    assert fvae["active_dimensions"] == 5 and fvae["note"] is None
    votes = fvae["votes"]
    assert votes.shape == (5, 5) and votes.dtype == np.int64 and votes.sum() == 2000
    # Each dimension gets the votes of one factor: a permutation matrix of votes.
    assert ((votes > 0).sum(axis=0) == 1).all() and ((votes > 0).sum(axis=1) == 1).all()
    # A factor that never varies is left out; the codes' scale does not matter.
    with_constant = np.concatenate([factors, np.zeros((N, 1), factors.dtype)], axis=1)
    fvae, bvae = both(1000 * copy_code(factors), with_constant)
    assert fvae["factor_vae_score"] >= 0.95 and bvae["beta_vae_score"] >= 0.95
    assert fvae["votes"].shape == (5, 6) and not fvae["votes"][:, 5].any()


def test_a_random_code_scores_near_chance(factors):
    codes = np.random.default_rng(5).normal(size=(N, 5))
    fvae, bvae = both(codes, factors)
    # Chance is 1/5; the majority vote fits a little noise.
    assert 0.1 < fvae["factor_vae_score"] < 0.35
    assert 0.1 < bvae["beta_vae_score"] < 0.4


def test_mixing_two_factors_in_one_dimension_costs_a_factor(factors):
    copy_fvae, copy_bvae = both(copy_code(factors), factors)
    fvae, bvae = both(mixed_code(factors), factors)
    assert fvae["factor_vae_score"] <= copy_fvae["factor_vae_score"] - 0.15
    assert bvae["beta_vae_score"] <= copy_bvae["beta_vae_score"] - 0.15
    # x and y (1/5 of the votes each) both vote for dimension 0; one of them loses: ~4/5.
    assert fvae["factor_vae_score"] == pytest.approx(0.8, abs=0.05)
    assert bvae["beta_vae_score"] == pytest.approx(0.8, abs=0.05)
    votes = fvae["votes"]
    assert votes[0, 3] > 0.8 * votes[:, 3].sum() and votes[0, 4] > 0.8 * votes[:, 4].sum()
    assert not votes[1].any() or votes[1].sum() < 0.02 * votes.sum()  # noise is never still


def test_scores_match_the_definition_with_fresh_factors(factors):
    """Batches drawn from data score as batches of new factors (disentanglement_lib) do."""
    rng = np.random.default_rng(3)

    def draw(*shape):
        return shapes.sample_factors(int(np.prod(shape)), int(rng.integers(1 << 30))).reshape(
            *shape, 5
        )

    def mixed(drawn):  # mixed_code of factors (..., 5), computed afresh
        s = scaled(drawn) + 0.01 * rng.normal(size=drawn.shape)
        noise = rng.normal(size=drawn.shape[:-1])
        return np.stack([s[..., 3] + s[..., 4], noise, s[..., 0], s[..., 1], s[..., 2]], -1)

    def factor_vae_votes(count, scale):
        votes = np.zeros((5, 5), int)
        labels = rng.integers(5, size=count)
        for k in range(5):
            batches = draw(int(np.sum(labels == k)), 64)
            batches[:, :, k] = batches[:, :1, k]  # one value of v_k per batch
            stillest = (mixed(batches) / scale).var(axis=1, ddof=1).argmin(axis=1)
            votes[:, k] = np.bincount(stillest, minlength=5)
        return votes

    scale = mixed(draw(10000)).std(axis=0, ddof=1)
    train, test = factor_vae_votes(2000, scale), factor_vae_votes(1000, scale)
    reference = test[np.arange(5), train.argmax(axis=1)].sum() / test.sum()
    ours = factor_vae_score(mixed_code(factors), factors, **SMALL)["factor_vae_score"]
    assert ours == pytest.approx(reference, abs=0.05)
    print(f"mixed code, data / fresh factors: FactorVAE {ours:.3f} / {reference:.3f}")

    def beta_vae_points(count):
        labels = rng.integers(5, size=count)
        first, second = draw(count, 64), draw(count, 64)
        second[np.arange(count), :, labels] = first[np.arange(count), :, labels]  # per pair
        return np.abs(mixed(first) - mixed(second)).mean(axis=1), labels

    model = make_pipeline(StandardScaler(), LogisticRegression(max_iter=1000))
    reference = model.fit(*beta_vae_points(2000)).score(*beta_vae_points(1000))
    ours = beta_vae_score(mixed_code(factors), factors, **SMALL)["beta_vae_score"]
    assert ours == pytest.approx(reference, abs=0.05)
    print(f"mixed code, data / fresh factors: beta-VAE {ours:.3f} / {reference:.3f}")


def test_collapsed_dimensions_are_pruned(factors):
    rng = np.random.default_rng(2)
    collapsed = 0.01 * rng.normal(size=(N, 1))  # sd 0.01 < 0.05: left out
    codes = np.concatenate([collapsed, copy_code(factors)], axis=1)
    fvae, bvae = both(codes, factors)
    assert fvae["active_dimensions"] == 5 and fvae["factor_vae_score"] >= 0.95
    assert not fvae["votes"][0].any()  # the votes name real dimensions, not active positions
    assert bvae["beta_vae_score"] >= 0.95
    everything = factor_vae_score(0.01 * rng.normal(size=(N, 4)), factors, **SMALL)
    assert everything["factor_vae_score"] == 0.0 and everything["active_dimensions"] == 0
    assert "collapsed" in everything["note"] and not everything["votes"].any()


def test_a_seed_repeats_a_result(factors):
    codes = mixed_code(factors)
    first, again = both(codes, factors, seed=4), both(codes, factors, seed=4)
    assert first[0]["factor_vae_score"] == again[0]["factor_vae_score"]
    np.testing.assert_array_equal(first[0]["votes"], again[0]["votes"])
    assert first[1] == again[1]
    other = both(codes, factors, seed=5)
    assert not np.array_equal(first[0]["votes"], other[0]["votes"])
    assert first[1]["beta_vae_score"] != other[1]["beta_vae_score"]
    assert other[0]["factor_vae_score"] == pytest.approx(first[0]["factor_vae_score"], abs=0.05)
    assert other[1]["beta_vae_score"] == pytest.approx(first[1]["beta_vae_score"], abs=0.05)


@pytest.mark.parametrize("score", [factor_vae_score, beta_vae_score])
def test_bad_inputs_are_refused_with_reasons(score, factors):
    codes = copy_code(factors)
    with pytest.raises(ValueError, match=r"factors must have shape \(N, num_factors\)"):
        score(codes, factors[:-1])
    with pytest.raises(ValueError, match="factors must be integer indices"):
        score(codes, factors.astype(float))
    nan = codes.copy()
    nan[7, 2] = np.nan
    with pytest.raises(ValueError, match="NaN or infinite values in 1 of 4000 rows"):
        score(nan, factors)
    with pytest.raises(ValueError, match="latent_dim >= 1"):
        score(np.zeros((N, 0)), factors)
    with pytest.raises(ValueError, match="latent_dim >= 1"):
        score(codes[:, 0], factors)
    with pytest.raises(ValueError, match="No factor varies"):
        score(codes, np.zeros_like(factors))
    only_orientation = np.zeros_like(factors)
    only_orientation[:, 2] = factors[:, 2]
    with pytest.raises(ValueError, match="Only factor 2 varies"):
        score(codes, only_orientation)
    with pytest.raises(ValueError, match="num_train must be a whole number >= 1"):
        score(codes, factors, num_train=0)
    with pytest.raises(ValueError, match="batch_size must be a whole number"):
        score(codes, factors, batch_size=0 if score is beta_vae_score else 1)
