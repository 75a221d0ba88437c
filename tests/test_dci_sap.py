"""DCI (Eastwood & Williams, 2018) and SAP (Kumar et al., 2018) on codes whose answer is known."""

import numpy as np
import pytest

from vae_tf.data import shapes
from vae_tf.metrics.disentanglement.dci import dci
from vae_tf.metrics.disentanglement.sap import sap

N = 3000
SIZES = np.array(shapes.FACTOR_SIZES)
# Chance accuracy of a uniform factor, averaged over the five: about 0.117.
CHANCE = float(np.mean(1 / SIZES))


def copy_code(factors, rng, noise_dims=2):
    """Each factor scaled to [0, 1] plus noise of sd 0.01, and pure-noise dimensions, shuffled."""
    copied = factors / (SIZES - 1) + 0.01 * rng.standard_normal(factors.shape)
    code = np.concatenate([copied, rng.standard_normal((len(factors), noise_dims))], axis=1)
    order = rng.permutation(code.shape[1])
    return code[:, order], order


@pytest.fixture(scope="module")
def factors():
    return shapes.sample_factors(N, seed=0)


@pytest.fixture(scope="module")
def copied(factors):
    """The copy code, its DCI and its SAP (computed once for the tests that compare with it)."""
    code, order = copy_code(factors, np.random.default_rng(1))
    return code, order, dci(code, factors, seed=0), sap(code, factors, seed=0)


def test_a_code_that_copies_the_factors_is_disentangled_complete_and_informative(copied):
    code, order, result, separated = copied
    assert set(result) >= {
        "dci_disentanglement",
        "dci_completeness",
        "dci_informativeness",
        "importance",
        "train_accuracy",
    }
    assert result["importance"].shape == (7, 5)
    # Measured (N=3000, seed 0): disentanglement 0.9997, completeness 0.9997.
    assert result["dci_disentanglement"] >= 0.9
    assert result["dci_completeness"] >= 0.9
    # Each factor's importance sits on the dimension that copies it.
    copy_of = [int(np.flatnonzero(order == k)[0]) for k in range(5)]
    assert result["importance"].argmax(axis=0).tolist() == copy_of
    # The noise (sd 0.01) blurs neighbouring values of the many-valued factors
    # (spacing 1/39 and 1/31): measured accuracies 1, 1, 0.81, 0.87, 0.90
    # (informativeness 0.91, train 0.94); shape and scale are read exactly.
    accuracies = result["accuracies"]
    assert accuracies[:2].tolist() == [1.0, 1.0]
    assert (accuracies[2:] > 0.7).all()
    assert result["dci_informativeness"] >= 0.85
    assert result["train_accuracy"] >= result["dci_informativeness"] - 0.05
    # SAP: measured 0.18. A one-dimensional linear classifier reads shape exactly but
    # only the end values of the many-valued factors, so even a copy stays far below 1.
    assert separated["scores"].shape == (7, 5)
    assert separated["sap"] > 0.1
    assert separated["scores"][copy_of[0], 0] == pytest.approx(1.0, abs=0.01)


def test_a_random_code_is_neither_disentangled_nor_informative(factors):
    code = np.random.default_rng(2).standard_normal((N, 7))
    result = dci(code, factors, seed=0)
    # Measured: disentanglement 0.006, completeness 0.006, informativeness 0.111 (chance
    # 0.117), train accuracy 0.29.
    assert result["dci_disentanglement"] < 0.2
    assert result["dci_completeness"] < 0.2
    assert result["dci_informativeness"] == pytest.approx(CHANCE, abs=0.03)
    # Trees fit noise: the training accuracy is above chance, the test accuracy not.
    assert result["train_accuracy"] > result["dci_informativeness"]
    # Measured SAP 0.002.
    assert sap(code, factors, seed=0)["sap"] < 0.05


def test_mixing_two_factors_in_one_dimension_costs_disentanglement_not_information(factors, copied):
    _, _, copy_result, copy_sap = copied
    rng = np.random.default_rng(3)
    code, _ = copy_code(factors, rng)
    # The copies of shape (3 values) and scale (6) replaced by one injective mix,
    # scale + 6 * shape over 18 levels: both are still readable from it.
    mix = (factors[:, 1] + 6 * factors[:, 0]) / 17 + 0.01 * rng.standard_normal(N)
    rest = factors[:, 2:] / (SIZES[2:] - 1) + 0.01 * rng.standard_normal((N, 3))
    code = np.concatenate([mix[:, None], rest, rng.standard_normal((N, 2))], axis=1)
    result = dci(code, factors, seed=0)
    # Measured: disentanglement 0.83 (copy 1.00): the mixed dimension carries two
    # fifths of the importance, split between two factors (1 - log 2 / log 5 = 0.57),
    # so 1 - 0.4 * 0.43 = 0.83 is the least one such dimension can score.
    assert result["dci_disentanglement"] <= copy_result["dci_disentanglement"] - 0.15
    mixed_row = result["importance"][0] / result["importance"][0].sum()
    assert mixed_row[0] > 0.3 and mixed_row[1] > 0.3
    # Completeness stays (each factor still lives in one dimension): measured 1.00.
    assert result["dci_completeness"] >= 0.9
    # Informativeness: measured 0.912, against the copy's 0.914.
    assert abs(result["dci_informativeness"] - copy_result["dci_informativeness"]) < 0.1
    assert result["accuracies"][:2].min() > 0.95
    # SAP falls too (measured 0.09 against 0.18): shape and scale share their best dimension.
    assert sap(code, factors, seed=0)["sap"] < copy_sap["sap"]


def test_a_mix_finer_than_the_trees_loses_the_fine_factor(factors, copied):
    # x + 32 * y in one dimension is injective too, but reading x back means 32
    # teeth of a saw over 1,024 levels: more than 100 stages of depth-3 trees can
    # draw. y (the coarse factor) is read exactly, x at chance: informativeness
    # drops (measured 0.76 against 0.91; x 0.035) though the information is there.
    _, _, copy_result, _ = copied
    rng = np.random.default_rng(4)
    mix = (factors[:, 3] + 32 * factors[:, 4]) / 1023
    rest = factors[:, :3] / (SIZES[:3] - 1) + 0.01 * rng.standard_normal((N, 3))
    code = np.concatenate([rest, mix[:, None], rng.standard_normal((N, 2))], axis=1)
    result = dci(code, factors, seed=0)
    assert result["dci_disentanglement"] <= copy_result["dci_disentanglement"] - 0.15
    assert result["accuracies"][4] > 0.95
    assert result["accuracies"][3] < 0.1
    assert result["dci_informativeness"] < copy_result["dci_informativeness"] - 0.1


def test_the_same_seed_gives_the_same_numbers():
    factors = shapes.sample_factors(800, seed=5)
    code, _ = copy_code(factors, np.random.default_rng(5))
    first, again = dci(code, factors, seed=7), dci(code, factors, seed=7)
    for key in ("dci_disentanglement", "dci_completeness", "dci_informativeness"):
        assert first[key] == again[key]
    np.testing.assert_array_equal(first["importance"], again["importance"])
    np.testing.assert_array_equal(
        sap(code, factors, seed=7)["scores"], sap(code, factors, seed=7)["scores"]
    )
    # Another seed splits the examples differently.
    assert dci(code, factors, seed=8)["dci_informativeness"] != first["dci_informativeness"]


def test_a_factor_that_never_varies_is_left_out():
    rng = np.random.default_rng(6)
    factors = shapes.sample_factors(400, seed=6)[:, :2].copy()
    factors = np.concatenate([factors, np.zeros((400, 1), "int64")], axis=1)
    code = factors[:, :2] / [2, 5] + 0.01 * rng.standard_normal((400, 2))
    code = np.concatenate([code, rng.standard_normal((400, 1))], axis=1)
    result = dci(code, factors)
    assert np.isnan(result["importance"][:, 2]).all() and np.isnan(result["accuracies"][2])
    assert result["dci_disentanglement"] >= 0.9 and result["dci_informativeness"] >= 0.9
    separated = sap(code, factors)
    # Measured SAP 0.23 (scale's six values are read at the ends of the range only).
    assert np.isnan(separated["scores"][:, 2]).all() and separated["sap"] > 0.15
    with pytest.raises(ValueError, match="No factor varies"):
        dci(code, np.zeros((400, 2), "int64"))


@pytest.mark.parametrize("metric", [dci, sap])
def test_bad_inputs_are_refused_with_the_problem_named(metric):
    factors = shapes.sample_factors(100, seed=0)
    code = np.random.default_rng(0).standard_normal((100, 4))
    with pytest.raises(ValueError, match="N=100"):
        metric(code, factors[:90])
    with pytest.raises(ValueError, match="integer"):
        metric(code, factors.astype("float32"))
    broken = code.copy()
    broken[3, 1] = np.nan
    with pytest.raises(ValueError, match="NaN"):
        metric(broken, factors)
    with pytest.raises(ValueError, match="latent_dim"):
        metric(code[:, 0], factors)
    with pytest.raises(ValueError, match="train_fraction"):
        metric(code, factors, train_fraction=1.0)
    with pytest.raises(ValueError, match="train_fraction"):
        metric(code[:2], factors[:2], train_fraction=0.9)
    if metric is sap:
        with pytest.raises(ValueError, match="at least two"):
            sap(code[:, :1], factors)
