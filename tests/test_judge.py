"""The judge classifier (trained once, cached per dataset) and the sample quality of models."""

import os

import keras
import numpy as np
import pytest
from PIL import Image

import vae_tf
from vae_tf.data import get_source
from vae_tf.metrics import generation
from vae_tf.metrics import judge as judges
from vae_tf.runs import sample_quality_run


@pytest.fixture(scope="module")
def digits_npz(tmp_path_factory):
    """3,000 training and 1,000 test MNIST digits with labels, as a user's .npz."""
    (x_train, y_train), (x_test, y_test) = vae_tf.data.load_mnist()
    path = str(tmp_path_factory.mktemp("npz") / "digits.npz")
    np.savez(
        path,
        x_train=(x_train[:3000, ..., 0] * 255).astype("uint8"),
        y_train=y_train[:3000],
        x_test=(x_test[:1000, ..., 0] * 255).astype("uint8"),
        y_test=y_test[:1000],
    )
    return path


@pytest.fixture(scope="module")
def cached_judge(digits_npz, tmp_path_factory):
    cache = str(tmp_path_factory.mktemp("cache"))
    lines = []
    judge = judges.load_judge(get_source(digits_npz), epochs=2, cache_dir=cache, log=lines.append)
    return judge, cache, lines


def test_the_judge_is_trained_once_then_read_from_its_cache(cached_judge, digits_npz, monkeypatch):
    judge, cache, lines = cached_judge
    assert not judge.info["cached"] and lines[0].startswith("Training the judge classifier")
    assert judge.path == judges.judge_dir(get_source(digits_npz), 2, 0, cache)
    assert sorted(os.listdir(judge.path)) == ["judge.json", "judge.keras"]
    assert judge.test_accuracy > 0.85  # 3,000 digits, two epochs
    monkeypatch.setattr(judges, "train_judge", lambda *a, **k: pytest.fail("retrained"))
    again = judges.load_judge(get_source(digits_npz), epochs=2, cache_dir=cache, log=None)
    assert again.info["cached"] and again.test_accuracy == judge.test_accuracy
    _, (x_test, y_test) = get_source(digits_npz).load()
    features, probabilities = again.judge(x_test[:50])
    assert features.shape == (50, judges.FEATURE_DIM) and (features >= 0).all()  # ReLU
    np.testing.assert_allclose(features, judge.features(x_test[:50]), atol=1e-5)
    np.testing.assert_allclose(probabilities.sum(axis=1), 1, atol=1e-5)
    # The judge's own accuracy, recomputed from its predictions.
    assert np.mean(again.predict(x_test).argmax(axis=1) == y_test) == pytest.approx(
        judge.test_accuracy, abs=1e-6
    )
    # Another recipe is another judge; it is not taken from this one's folder.
    assert judges.judge_dir(get_source(digits_npz), 3, 0, cache) != judge.path
    with pytest.raises(ValueError, match=r"sees images of shape \(28, 28, 1\)"):
        again.features(np.zeros((2, 32, 32, 3), "float32"))


def test_a_changed_file_gets_a_new_judge_and_a_damaged_cache_is_replaced(
    cached_judge, digits_npz, tmp_path
):
    judge, cache, _ = cached_judge
    changed = tmp_path / "digits.npz"
    with np.load(digits_npz) as arrays:
        values = dict(arrays)
    values["y_train"] = (values["y_train"] + 1) % 10
    np.savez(changed, **values)
    assert judges.fingerprint(get_source(str(changed))) != judges.fingerprint(
        get_source(digits_npz)
    )
    # Same bytes under another path: the same fingerprint (the name is only the stem).
    copy = tmp_path / "copy" / "digits.npz"
    copy.parent.mkdir()
    copy.write_bytes(open(digits_npz, "rb").read())
    assert judges.judge_dir(get_source(str(copy)), 2, 0, cache) == judge.path

    damaged = tmp_path / "damaged"
    source = get_source(digits_npz)
    folder = judges.judge_dir(source, 1, 0, str(damaged))
    judges.load_judge(source, epochs=1, cache_dir=str(damaged), log=None)
    with open(os.path.join(folder, judges.JUDGE_FILE), "r+b") as f:
        f.truncate(100)
    lines = []
    replaced = judges.load_judge(source, epochs=1, cache_dir=str(damaged), log=lines.append)
    assert "is unreadable" in lines[0] and not replaced.info["cached"]
    assert judges.load_judge(source, epochs=1, cache_dir=str(damaged), log=None).info["cached"]


def test_the_cache_folder_follows_the_environment(monkeypatch, tmp_path):
    monkeypatch.setenv("VAE_TF_CACHE", str(tmp_path / "mine"))
    assert judges.judge_cache_dir() == str(tmp_path / "mine" / "judges")
    monkeypatch.delenv("VAE_TF_CACHE")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "xdg"))
    assert judges.judge_cache_dir() == str(tmp_path / "xdg" / "vae_tf" / "judges")


def test_unlabelled_data_has_no_judge(tmp_path):
    (x_train, _), (x_test, _) = vae_tf.data.load_mnist()
    path = str(tmp_path / "unlabelled.npz")
    np.savez(path, x_train=x_train[:100], x_test=x_test[:20])
    with pytest.raises(judges.NoJudgeError, match="carries no labels.*one sub-folder per class"):
        judges.load_judge(get_source(path), cache_dir=str(tmp_path), log=None)
    for i in range(4):
        Image.fromarray(np.full((8, 8, 3), 60 * i, "uint8")).save(tmp_path / f"face{i}.png")
    folder = vae_tf.data.folder_source(vae_tf.data.ImageFolder(tmp_path, 16, 3, 0.25))
    with pytest.raises(judges.NoJudgeError, match="no judge"):
        judges.load_judge(folder, cache_dir=str(tmp_path / "cache"), log=None)
    assert not os.path.exists(tmp_path / "cache")  # nothing half-written


def test_a_folder_of_classes_gets_a_judge_scored_on_its_held_out_images(tmp_path):
    rng = np.random.default_rng(0)
    for name, colour in (("red", (220, 30, 30)), ("blue", (30, 30, 220))):
        os.makedirs(tmp_path / "data" / name)
        for i in range(40):
            noise = rng.integers(-25, 25, (12, 12, 3))
            image = np.clip(np.array(colour) + noise, 0, 255).astype("uint8")
            Image.fromarray(image).save(tmp_path / "data" / name / f"{i}.png")
    folder = vae_tf.data.ImageFolder(tmp_path / "data", 16, 3, validation_split=0.25)
    judge = judges.load_judge(
        vae_tf.data.folder_source(folder), epochs=3, cache_dir=str(tmp_path / "cache"), log=None
    )
    assert judge.num_classes == 2 and judge.image_shape == (16, 16, 3)
    assert judge.test_accuracy == 1.0  # red against blue, 20 held-out images
    # Touching a file changes the folder's fingerprint: a new judge is trained.
    before = judges.fingerprint(vae_tf.data.folder_source(folder))
    os.utime(folder.paths("train")[0], ns=(1, 1))
    after = judges.fingerprint(
        vae_tf.data.folder_source(
            vae_tf.data.ImageFolder(tmp_path / "data", 16, 3, validation_split=0.25)
        )
    )
    assert before != after


@pytest.fixture(scope="module")
def models(digits_npz):
    """A VAE trained for 5 epochs on the 3,000 digits, and the same network untrained."""
    (x_train, _), _ = get_source(digits_npz).load()
    keras.utils.set_random_seed(0)
    untrained = vae_tf.VAE(*vae_tf.build_encoder_decoder("mlp", latent_dim=8), seed=0)
    keras.utils.set_random_seed(0)
    trained = vae_tf.VAE(*vae_tf.build_encoder_decoder("mlp", latent_dim=8), seed=0)
    trained.compile(optimizer=keras.optimizers.Adam(2e-3))
    trained.fit(x_train, epochs=5, batch_size=64, verbose=0)
    return trained, untrained


def test_a_trained_model_scores_better_than_an_untrained_one(models, cached_judge, digits_npz):
    trained, untrained = models
    judge = cached_judge[0]
    _, (x_test, _) = get_source(digits_npz).load()
    good = generation.sample_quality(trained, judge, x_test)
    bad = generation.sample_quality(untrained, judge, x_test)
    assert good["num_images"] == 1000 and good["precision_recall_k"] == 3
    assert good["fid"] < bad["fid"] / 2
    assert good["precision"] > bad["precision"] and good["recall"] > bad["recall"]
    assert good == generation.sample_quality(trained, judge, x_test)  # seeded
    # The figures are those of the metrics on the judge's features of the samples.
    samples = trained.decode(vae_tf.latent.prior_codes(trained, 1000, 0))
    expected = generation.compare_features(judge.features(x_test), judge.features(samples))
    assert good["fid"] == pytest.approx(expected["fid"], rel=1e-4)
    assert good["precision"] == pytest.approx(expected["precision"], abs=2e-3)


def test_conditional_models_are_judged_on_their_classes(cached_judge, digits_npz, tiny_run):
    """A short conditional run on the .npz: its evaluation holds the conditional accuracy."""
    judge, cache, _ = cached_judge
    run_dir = tiny_run(
        latent_dim=4,
        dataset=digits_npz,
        conditional=True,
        epochs=2,
        batch_size=32,
        steps_per_epoch=None,
    ).run_dir
    result = sample_quality_run(
        run_dir, num_examples=300, judge_epochs=2, cache_dir=cache, log=None
    )
    assert result["judge_cached"] and result["judge_dir"] == judge.path
    assert result["num_images"] == 300 and result["judge_accuracy"] == judge.test_accuracy
    # Two epochs on 3,000 digits already draw the requested class more often than chance.
    assert 0.3 < result["conditional_accuracy"] <= 1
    # Real training images against the test ones: far closer than the samples.
    assert result["real_fid"] < result["fid"] / 3 and result["real_recall"] > result["recall"]
    model = vae_tf.runs.load_run(run_dir).model
    _, (x_test, y_test) = get_source(digits_npz).load()
    direct = generation.sample_quality(model, judge, x_test[:300], y_test[:300])
    assert direct["fid"] == pytest.approx(result["fid"], rel=1e-6)
    accuracy, per_label = generation.conditional_accuracy(model, judge, per_label=30)
    assert per_label.shape == (10,) and accuracy == pytest.approx(per_label.mean())
    with pytest.raises(ValueError, match="labelled images"):
        generation.sample_quality(model, judge, x_test[:10])
