"""The explorer's code-grid page of a VQ-VAE: its JSON API, its refusals, its page in Chromium.

The API is checked in process (`route`), against the model itself, through
both backends (the run's Keras model and its SavedModel; a conditional model
and its SavedModel, whose prior draws by class); one test goes over HTTP,
and one drives the page in headless Chromium: a cell given another code
shows the model's image of the edited map, and a prior sample its grid and
image.
"""

import urllib.request

import keras
import numpy as np
import pytest
from test_explorer import call
from test_explorer import decoded_src
from test_explorer import needs_chromium
from test_explorer import png_pixels
from test_explorer import wait_for_new_image

import vae_tf
from tools import browser
from vae_tf import explorer
from vae_tf.explorer.json_api import EXAMPLES
from vae_tf.explorer.json_api import MAX_CODES
from vae_tf.explorer.json_api import RequestError
from vae_tf.models.architectures import build_vq_networks
from vae_tf.models.vq_vae import VQVAE
from vae_tf.utils.images import to_uint8

NUM_IMAGES = 200


def numpy_of(value):
    return keras.ops.convert_to_numpy(value)


@pytest.fixture(scope="module")
def grids(tiny_vq_run):
    """`{"keras": ..., "saved_model": ...}`: the tiny VQ-VAE run's explorers, as the script loads them."""
    run_dir = tiny_vq_run.run_dir
    return {
        "keras": explorer.load_explorer(run_dir=run_dir, num_images=NUM_IMAGES),
        "saved_model": explorer.load_explorer(
            saved_model=f"{run_dir}/saved_model", num_images=NUM_IMAGES
        ),
    }


@pytest.fixture(scope="module")
def model(tiny_vq_run):
    return tiny_vq_run.model


@pytest.fixture(scope="module")
def conditional(tmp_path_factory, mnist_small):
    """A conditional VQ-VAE (untrained: its prior is uniform, by class) and its two explorers."""
    keras.utils.set_random_seed(0)
    vq = VQVAE(
        *build_vq_networks(4, num_classes=10, hidden=8),
        codebook_size=16,
        prior_layers=2,
        prior_filters=8,
        seed=0,
        num_classes=10,
    )
    path = str(tmp_path_factory.mktemp("conditional_vq") / "saved_model")
    vae_tf.export_saved_model(vq, path)
    _, (x, y) = mnist_small
    backends = {"keras": explorer.KerasBackend(vq), "saved_model": explorer.SavedModelBackend(path)}
    return vq, {name: explorer.explorer_for(b, x[:32], y[:32]) for name, b in backends.items()}


BACKENDS = ["keras", "saved_model"]


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_vq_run_opens_the_code_grid_with_either_backend(grids, model, backend):
    state = grids[backend]
    assert isinstance(state, explorer.CodeGridExplorer) and state.page == "codes.html"
    info = state.route("GET", "/api/info")
    assert info["codes"] == "index maps" and info["code_shape"] == [7, 7]
    assert (info["codebook_size"], info["code_dim"], info["num_classes"]) == (16, 4, None)
    assert info["num_images"] == NUM_IMAGES and info["image_shape"] == [28, 28, 1]
    indices = numpy_of(model.encode(state.images)[0])
    assert info["usage"] == np.bincount(indices.ravel(), minlength=16).tolist()
    examples = state.route("GET", "/api/examples")
    assert len(examples["images"]) == EXAMPLES
    np.testing.assert_array_equal(examples["indices"], indices[:EXAMPLES])
    np.testing.assert_array_equal(png_pixels(examples["images"][2]), to_uint8(state.images[2]))


@pytest.mark.parametrize("backend", BACKENDS)
def test_an_edited_map_decodes_to_the_models_image(grids, model, backend):
    state = grids[backend]
    start = state.route("GET", "/api/examples")["indices"][0]
    edited = [row[:] for row in start]
    edited[3][3], edited[0][6] = (start[3][3] + 5) % 16, 15
    maps = np.asarray([start, edited], "int32")
    expected = numpy_of(model.decode(maps))
    answer = state.route("POST", "/api/decode", {"indices": maps.tolist(), "encoding": "list"})
    np.testing.assert_allclose(answer["images"], expected, atol=6e-5)
    answer = state.route("POST", "/api/decode", {"indices": [edited]})
    np.testing.assert_allclose(png_pixels(answer["images"][0]), to_uint8(expected[1]), atol=1)


@pytest.mark.parametrize("backend", BACKENDS)
def test_the_prior_draws_seeded_maps_and_their_images(grids, model, backend):
    state = grids[backend]
    answer = state.route("POST", "/api/sample", {"count": 3, "seed": 5, "encoding": "list"})
    expected = numpy_of(model.prior_codes(3, 5))
    np.testing.assert_array_equal(answer["indices"], expected)
    np.testing.assert_allclose(answer["images"], numpy_of(model.decode(expected)), atol=6e-5)
    assert (
        state.route("POST", "/api/sample", {"count": 3, "seed": 5})["indices"] == expected.tolist()
    )


@pytest.mark.parametrize("backend", BACKENDS)
def test_a_conditional_model_decodes_and_samples_by_class(conditional, backend):
    vq, states = conditional
    state = states[backend]
    assert state.route("GET", "/api/info")["num_classes"] == 10
    maps = np.stack([np.arange(49).reshape(7, 7) % 16] * 2).astype("int32")
    answer = state.route(
        "POST", "/api/decode", {"indices": maps.tolist(), "label": [1, 7], "encoding": "list"}
    )
    np.testing.assert_allclose(answer["images"], numpy_of(vq.decode(maps, [1, 7])), atol=6e-5)
    # The prior draws each label's maps (the SavedModel's sample_codes(label, seed)).
    answer = state.route("POST", "/api/sample", {"count": 2, "seed": 4, "label": 3})
    expected = numpy_of(vq.prior_codes(2, 4, [3, 3]))
    np.testing.assert_array_equal(answer["indices"], expected)
    np.testing.assert_allclose(
        [png_pixels(image) for image in answer["images"]],
        to_uint8(numpy_of(vq.decode(expected, [3, 3]))),
        atol=1,
    )
    with pytest.raises(RequestError, match='send "label"'):
        state.route("POST", "/api/sample", {"count": 1})
    with pytest.raises(RequestError, match="from 0 to 9"):
        state.route("POST", "/api/decode", {"indices": maps.tolist(), "label": 10})
    # Either backend says so when asked without labels.
    with pytest.raises(ValueError, match="needs labels|pass labels"):
        state.backend.prior_codes(2, 4)


MAP = [[0] * 7] * 7


def first_cell(value):
    """`{"indices": [a map of zeros but its first cell, `value`]}`."""
    return {"indices": [[[value] + [0] * 6] + [[0] * 7] * 6]}


BAD_REQUESTS = [
    ("/api/decode", first_cell(16), r"\[0\]\[0\]\[0\] is 16, outside the codebook: .* 0 to 15"),
    ("/api/decode", first_cell(-1), "is -1, outside the codebook"),
    ("/api/decode", first_cell(2.5), "is 2.5: codebook indices are integers"),
    ("/api/decode", first_cell(3.0), "is 3.0: codebook indices are integers"),
    ("/api/decode", first_cell("3"), "is '3'"),
    ("/api/decode", first_cell(True), "is True"),
    ("/api/decode", first_cell(None), "is None"),
    ("/api/decode", {"indices": [[[0] * 7] * 6]}, "list of 7 rows .*; got a list of 6"),
    (
        "/api/decode",
        {"indices": [[[0] * 8] * 7]},
        r"\[0\]\[0\] must be a row of 7 .*got a list of 8",
    ),
    ("/api/decode", {"indices": [[0] * 49]}, r"\[0\] must be a list of 7 rows .*got a list of 49"),
    ("/api/decode", {"indices": MAP}, r"\[0\]\[0\] must be a row of 7 codebook indices; got int"),
    ("/api/decode", {"indices": [MAP, 3]}, r"\[1\] must be a list of 7 rows"),
    ("/api/decode", {"indices": [MAP] * (MAX_CODES + 1)}, f"at most {MAX_CODES}"),
    ("/api/decode", {"indices": []}, "non-empty list of index maps"),
    ("/api/decode", {"z": [[0.0, 0.0]]}, "non-empty list of index maps"),
    ("/api/decode", {"indices": [MAP], "label": 3}, "not conditional"),
    ("/api/decode", {"indices": [MAP], "encoding": "jpeg"}, "encoding"),
    ("/api/decode", [MAP], r'JSON object, e.g. \{"indices"'),
    ("/api/sample", {"count": 0}, "count"),
    ("/api/sample", {"count": MAX_CODES + 1}, "count"),
    ("/api/sample", {"count": "2"}, "count"),
    ("/api/sample", {"seed": -1}, "seed"),
    ("/api/sample", {"seed": 2**31}, "seed"),
    ("/api/sample", {"seed": 1.5}, "seed"),
]


@pytest.mark.parametrize("path, body, message", BAD_REQUESTS)
def test_bad_requests_are_refused_with_the_problem(grids, path, body, message):
    with pytest.raises(RequestError, match=message):
        grids["keras"].route("POST", path, body)


def test_the_flat_code_endpoints_are_not_the_grids(grids):
    for path in ("/api/map", "/api/interpolate"):
        with pytest.raises(LookupError, match="/api/decode, /api/examples, /api/info, /api/sample"):
            grids["keras"].route("POST", path, {})


def test_each_page_refuses_the_others_codes(grids, conv_vae):
    with pytest.raises(ValueError, match=r"flat codes.*\(7, 7\) \(int32\).*explorer_for"):
        explorer.Explorer(grids["keras"].backend)
    with pytest.raises(ValueError, match=r"maps of codebook indices.*\(2,\) \(float32\)"):
        explorer.CodeGridExplorer(explorer.KerasBackend(conv_vae))
    assert isinstance(explorer.explorer_for(explorer.KerasBackend(conv_vae)), explorer.Explorer)


def test_over_http_the_grid_page_is_served_and_bad_input_is_a_400(grids):
    server = explorer.make_server(grids["saved_model"], port=0)
    server.start()
    try:
        url = server.url
        with urllib.request.urlopen(url) as response:
            assert "codes.js" in response.read().decode()
        for asset in ("codes.js", "common.js", "explorer.css"):
            with urllib.request.urlopen(url + asset) as response:
                assert response.status == 200
        status, answer = call(url, "/api/decode", {"indices": [[[99] * 7] * 7]})
        assert status == 400 and "outside the codebook" in answer["error"]
        status, answer = call(url, "/api/decode", raw=b'{"indices": [[[NaN]]]}')
        assert status == 400 and "NaN" in answer["error"]
        assert call(url, "/api/map")[0] == 404
        # Still serving after the refusals.
        status, answer = call(url, "/api/decode", {"indices": [MAP]})
        assert status == 200 and len(answer["images"]) == 1
    finally:
        server.shutdown()
        server.server_close()


# -- the page in headless Chromium -------------------------------------------


def grid_indices(page):
    """The map the page shows: the numbers in its cells, row by row."""
    return page.eval_on_selector_all(
        "#grid .cell",
        "(cells) => cells.map((cell) => [+cell.dataset.row, +cell.dataset.column, +cell.textContent])",
    )


def as_map(cells):
    indices = np.zeros((7, 7), "int32")
    for row, column, code in cells:
        indices[row, column] = code
    return indices


def shown_pixels(page):
    return png_pixels(decoded_src(page))


@needs_chromium
@pytest.mark.slow
def test_page_a_cell_given_another_code_shows_the_models_image(grids, model):
    state = grids["keras"]
    start = np.asarray(state.route("GET", "/api/examples")["indices"][0], "int32")
    # The edit that changes the image most, so the change is plain in 8-bit pixels.
    row, column = 3, 3
    candidates = np.repeat(start[None], 16, axis=0)
    candidates[:, row, column] = np.arange(16)
    decoded = to_uint8(numpy_of(model.decode(candidates))).astype(int)
    change = np.abs(decoded - decoded[start[row, column]]).max(axis=(1, 2, 3))
    code = int(np.argmax(change))
    assert change[code] > 0
    edited = candidates[code]
    server = explorer.make_server(state, port=0)
    server.start()
    try:
        with browser.open_page(server.url) as page:
            assert page.locator("#grid .cell").count() == 49
            assert page.locator("#palette .code").count() == 16
            np.testing.assert_array_equal(as_map(grid_indices(page)), start)
            before = decoded_src(page)
            page.locator(f'#grid .cell[data-row="{row}"][data-column="{column}"]').click()
            page.locator(f'#palette .code[data-code="{code}"]').click()
            wait_for_new_image(page, before)
            np.testing.assert_array_equal(as_map(grid_indices(page)), edited)
            expected = to_uint8(numpy_of(model.decode(edited[None]))[0])
            assert np.abs(shown_pixels(page).astype(int) - expected).max() <= 1
            assert page.locator("#grid .cell.edited").count() == 1
            # The next cell by the arrow key, its code typed: one more decode.
            before = decoded_src(page)
            page.keyboard.press("ArrowRight")
            page.fill("#code-input", "7")
            page.press("#code-input", "Enter")
            wait_for_new_image(page, before)
            edited[row, column + 1] = 7
            np.testing.assert_array_equal(as_map(grid_indices(page)), edited)
            expected = to_uint8(numpy_of(model.decode(edited[None]))[0])
            assert np.abs(shown_pixels(page).astype(int) - expected).max() <= 1
            # A prior sample (the page's first seed is 0): its grid and its image.
            before = decoded_src(page)
            page.click("#sample-button")
            wait_for_new_image(page, before)
            sample = numpy_of(model.prior_codes(1, 0))
            np.testing.assert_array_equal(as_map(grid_indices(page)), sample[0])
            expected = to_uint8(numpy_of(model.decode(sample))[0])
            assert np.abs(shown_pixels(page).astype(int) - expected).max() <= 1
            assert page.errors == []
    finally:
        server.shutdown()
        server.server_close()
