"""The VQ-VAE's vector quantizer against numpy: nearest codes, the EMA step, dead-code restarts."""

import keras
import numpy as np
import pytest
from conftest import assert_close

from vae_tf.models.quantizer import EPSILON
from vae_tf.models.quantizer import VectorQuantizer

RNG = np.random.default_rng(0)


def numpy_nearest(vectors, codebook):
    distances = ((vectors[:, None].astype("float64") - codebook[None]) ** 2).sum(axis=-1)
    return distances.argmin(axis=1), distances.min(axis=1)


def set_state(quantizer, codebook, counts, sums=None):
    """A quantizer past its first training call, in this state."""
    quantizer.codebook.assign(codebook.astype("float32"))
    quantizer.counts.assign(counts.astype("float32"))
    if sums is not None:
        quantizer.sums.assign(sums.astype("float32"))
    quantizer.placed.assign(1.0)


def test_indices_are_the_nearest_codes_and_lookups_their_rows():
    quantizer = VectorQuantizer(16, 3)
    codebook = RNG.normal(size=(16, 3)).astype("float32")
    set_state(quantizer, codebook, np.ones(16))
    maps = RNG.normal(size=(4, 5, 5, 3)).astype("float32")
    indices, codes = (keras.ops.convert_to_numpy(value) for value in quantizer(maps))
    assert indices.shape == (4, 5, 5) and indices.dtype == np.int32
    expected, _ = numpy_nearest(maps.reshape(-1, 3), codebook)
    np.testing.assert_array_equal(indices.ravel(), expected)
    assert_close(codes, codebook[indices], atol=0)
    assert_close(quantizer.lookup(indices), codebook[indices], atol=0)
    # The symbolic outputs: int32 indices, float32 codes.
    symbolic = VectorQuantizer(16, 3)(keras.Input((5, 5, 3)))
    assert [(t.shape, t.dtype) for t in symbolic] == [
        ((None, 5, 5), "int32"),
        ((None, 5, 5, 3), "float32"),
    ]
    # Inference changes nothing.
    np.testing.assert_array_equal(quantizer.codebook.numpy(), codebook)
    np.testing.assert_array_equal(quantizer.counts.numpy(), np.ones(16))


def test_an_ema_step_is_the_papers_update_with_laplace_smoothing():
    quantizer = VectorQuantizer(6, 2, decay=0.9, dead_threshold=0.0)
    codebook = RNG.normal(size=(6, 2))
    counts = RNG.uniform(1, 5, size=6)
    sums = codebook * counts[:, None]
    set_state(quantizer, codebook, counts, sums)
    vectors = RNG.normal(size=(40, 2)).astype("float32")
    _, codes = quantizer(vectors, training=True)
    nearest, _ = numpy_nearest(vectors, codebook)
    # The codes returned are those before the update.
    assert_close(codes, codebook[nearest], atol=1e-6)
    assigned = np.eye(6)[nearest]
    new_counts = 0.9 * counts + 0.1 * assigned.sum(axis=0)
    new_sums = 0.9 * sums + 0.1 * assigned.T @ vectors
    total = new_counts.sum()
    smoothed = (new_counts + EPSILON) / (total + 6 * EPSILON) * total
    assert_close(quantizer.counts.numpy(), new_counts, rtol=1e-5)
    assert_close(quantizer.sums.numpy(), new_sums, rtol=1e-5, atol=1e-6)
    assert_close(quantizer.codebook.numpy(), new_sums / smoothed[:, None], rtol=1e-5, atol=1e-6)
    assert not quantizer.codebook.trainable


def test_dead_codes_restart_on_the_worst_served_vectors_and_the_first_step_on_the_batch():
    quantizer = VectorQuantizer(5, 2, decay=0.5, codebook_update="loss")
    assert quantizer.codebook.trainable and quantizer.sums is None
    # Codes 1 and 3 are far from everything: unused, their counts fall below 1.
    codebook = np.array([[0.0, 0.0], [50.0, 50.0], [1.0, 0.0], [-50.0, 50.0], [0.0, 1.0]])
    set_state(quantizer, codebook, np.array([4.0, 1.5, 4.0, 1.0, 4.0]))
    vectors = RNG.normal(size=(30, 2)).astype("float32") * 0.3
    vectors[7] = [3.0, 3.0]  # the vector served worst, then the next worst
    vectors[19] = [-2.5, 0.0]
    quantizer(vectors, training=True)
    new = quantizer.codebook.numpy()
    # Loss mode: the optimizer moves the live codes; the dead ones took the worst vectors.
    assert_close(new[[0, 2, 4]], codebook[[0, 2, 4]], atol=0)
    assert_close(new[1], vectors[7], atol=0)
    assert_close(new[3], vectors[19], atol=0)
    assert_close(quantizer.counts.numpy()[[1, 3]], [1.0, 1.0], atol=0)
    # A new quantizer's first training call places the codes on vectors spread over the batch.
    fresh = VectorQuantizer(5, 2)
    fresh(vectors, training=True)
    assert_close(fresh.codebook.numpy(), vectors[[0, 6, 12, 18, 24]], atol=1e-6)
    assert_close(fresh.sums.numpy(), vectors[[0, 6, 12, 18, 24]], atol=1e-6)
    assert_close(fresh.counts.numpy(), np.ones(5), atol=0)
    # Fewer vectors than codes: some take the same vector; then they restart apart.
    small = VectorQuantizer(5, 2)
    small(vectors[:2], training=True)
    assert_close(small.codebook.numpy(), vectors[[0, 0, 0, 1, 1]], atol=1e-6)
    # Fewer vectors than dead codes: they are cycled.
    cycled = VectorQuantizer(5, 2, codebook_update="loss")
    set_state(cycled, codebook, np.array([4.0, 0.0, 0.0, 0.0, 4.0]))
    cycled(vectors[[7, 19]], training=True)
    assert_close(cycled.codebook.numpy()[1:4], vectors[[7, 19, 7]], atol=0)


def test_it_learns_the_centres_of_clusters_and_uses_every_code():
    centres = RNG.normal(size=(4, 2)) * 5
    quantizer = VectorQuantizer(8, 2)
    used = set()
    for step in range(60):
        batch = centres[RNG.integers(0, 4, size=(64, 7, 7))] + RNG.normal(size=(64, 7, 7, 2)) * 0.1
        indices, _ = quantizer(batch.astype("float32"), training=True)
        indices = keras.ops.convert_to_numpy(indices)
        if step >= 55:
            used.update(indices.ravel().tolist())
    # No dead code at the end (a restarted code may sit out a batch while it finds its place).
    assert used == set(range(8))
    nearest, distance = numpy_nearest(centres, quantizer.codebook.numpy())
    assert np.all(np.sqrt(distance) < 0.1), (centres, quantizer.codebook.numpy())


def test_settings_are_checked_and_round_trip(tmp_path):
    with pytest.raises(ValueError, match="codebook_size must be an integer >= 2; got 1"):
        VectorQuantizer(1, 4)
    with pytest.raises(ValueError, match=r"codebook_update must be one of \('ema', 'loss'\)"):
        VectorQuantizer(8, 4, codebook_update="kmeans")
    with pytest.raises(ValueError, match="decay must be"):
        VectorQuantizer(8, 4, decay=1.0)
    quantizer = VectorQuantizer(8, 4)
    with pytest.raises(ValueError, match="codes have 4 numbers; the encoder gives vectors of 3"):
        quantizer(np.zeros((2, 3), "float32"))
    inputs = keras.Input((7, 7, 4))
    for update in ("loss", "ema"):
        layer = VectorQuantizer(8, 4, codebook_update=update, decay=0.9, name="vq")
        model = keras.Model(inputs, layer(inputs))
        layer(RNG.normal(size=(3, 7, 7, 4)).astype("float32"), training=True)
        path = str(tmp_path / f"vq_{update}.keras")
        model.save(path)
        loaded = keras.saving.load_model(path).get_layer("vq")
        assert loaded.get_config() == layer.get_config()
        assert [w.path for w in loaded.weights] == [w.path for w in layer.weights]
        for mine, theirs in zip(layer.weights, loaded.weights):
            assert_close(theirs.numpy(), mine.numpy(), atol=0)
