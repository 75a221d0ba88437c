"""Driving the explorer's page in a real headless Chromium (Playwright), for tests and latency.

Needs the `playwright` package (in the [dev] extras) and a Chromium binary:
Debian's `chromium` at /usr/bin/chromium by default (no browser download), or
the path in VAE_TF_CHROMIUM.

Example:

```python
with open_page(server.url) as page:
    page.mouse.move(200, 200)
print(measure_pointer_latency(server.url, moves=200))   # {"median_ms": ..., ...}
```
"""

import contextlib
import math
import os
import random
import shutil
import statistics
import time

CHROMIUM = os.environ.get("VAE_TF_CHROMIUM", "/usr/bin/chromium")
# Headless as root, on a machine with no network beyond this one: no sandbox,
# no GPU, and none of Chromium's own background connections.
CHROMIUM_ARGS = (
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def chromium_available():
    """Whether Playwright and the Chromium binary are both here."""
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return False
    return os.path.isfile(CHROMIUM) or shutil.which(CHROMIUM) is not None


@contextlib.contextmanager
def open_page(url, viewport=(1100, 900), timeout_s=60):
    """Yields a Playwright page showing the explorer at `url`, once its first image is drawn.

    The page's console errors and uncaught exceptions are collected in
    `page.errors` (a list of strings).
    """
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        raise ImportError(
            "Driving the page needs Playwright: pip install playwright (Chromium itself "
            "comes from Debian: apt-get install chromium)."
        ) from None
    # Playwright starts Chromium with a new, empty profile of its own.
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            page = browser.new_page(viewport=dict(zip(("width", "height"), viewport)))
            page.errors = []
            page.on(
                "console",
                lambda message: message.type == "error" and page.errors.append(message.text),
            )
            page.on("pageerror", lambda error: page.errors.append(str(error)))
            page.goto(url)
            page.wait_for_function(
                "window.explorerStats && window.explorerStats.updates >= 1",
                timeout=timeout_s * 1000,
            )
            yield page
        finally:
            browser.close()


def sweep_map(page, moves, pause_s=0.0):
    """Moves the pointer over the map `moves` times along a spiral."""
    box = page.locator("#map").bounding_box()
    centre_x, centre_y = box["x"] + box["width"] / 2, box["y"] + box["height"] / 2
    for step in range(moves):
        angle, radius = step * 0.37, 0.45 * (1 + step % 40) / 40
        page.mouse.move(
            centre_x + radius * box["width"] * math.cos(angle),
            centre_y + radius * box["height"] * math.sin(angle),
        )
        if pause_s:
            time.sleep(pause_s)


def drag_slider(page, index=0, steps=20, pause_s=0.0):
    """Drags the `index`-th slider from its left end rightwards in `steps` moves."""
    box = page.locator("#sliders input").nth(index).bounding_box()
    y = box["y"] + box["height"] / 2
    page.mouse.move(box["x"] + 4, y)
    page.mouse.down()
    for step in range(1, steps + 1):
        page.mouse.move(box["x"] + 4 + step * (box["width"] - 8) / steps, y)
        if pause_s:
            time.sleep(pause_s)
    page.mouse.up()


def edit_cells(page, edits, pause_s=0.0, seed=0):
    """Gives `edits` cells of the code grid (a VQ-VAE's page) another code: a cell, a code."""
    cells, codes = page.locator("#grid .cell"), page.locator("#palette .code")
    choose = random.Random(seed).randrange
    for _ in range(edits):
        cells.nth(choose(cells.count())).click()
        codes.nth(choose(codes.count())).click()
        if pause_s:
            time.sleep(pause_s)


def measure_pointer_latency(url, moves=200, pause_s=0.03):
    """Pointer-to-image times over the map (2-D), a slider or the code grid, as the page measures.

    Each time is from the pointer event to the decoded image's `load` in the
    page: the request, decoding, PNG, transfer and drawing, plus any wait
    behind the answer still in flight. `pause_s` spaces the moves like a
    hand's (30 ms: about 33 events a second). On a VQ-VAE's code grid, a
    move is an edit (a click on a cell, then on a code), timed from the
    second click.

    Returns:
        A dict of `updates`, `moves`, `median_ms`, `p90_ms`, `max_ms`.
    """
    with open_page(url) as page:
        page.evaluate("window.explorerStats.latencies = []")
        if page.locator("#grid").is_visible():
            edit_cells(page, moves, pause_s)
        elif page.locator("#map").is_visible():
            sweep_map(page, moves, pause_s)
        else:
            for _ in range(max(1, moves // 20)):
                drag_slider(page, 0, 20, pause_s)
        page.wait_for_timeout(500)
        latencies = page.evaluate("window.explorerStats.latencies")
    latencies = sorted(latencies)
    return {
        "moves": moves,
        "updates": len(latencies),
        "median_ms": statistics.median(latencies),
        "p90_ms": latencies[int(0.9 * (len(latencies) - 1))],
        "max_ms": latencies[-1],
    }


def _map_position(box, extent, z):
    (x0, x1), (y0, y1) = extent
    return (
        box["x"] + (z[0] - x0) / (x1 - x0) * box["width"],
        box["y"] + (y1 - z[1]) / (y1 - y0) * box["height"],
    )


def screenshot(url, path, ends=(0, 1)):
    """Saves a picture of the page in use at `path` (PNG).

    2-D latent spaces: two clicks on the centres of the classes `ends` (the
    mean codes of their test images; the map's centre without labels) draw
    the interpolation, and the pointer rests halfway between them.
    A VQ-VAE's code grid: three cells given other codes. Otherwise: a
    slider dragged and the two first test images chosen.
    """
    with open_page(url) as page:
        info = page.evaluate("fetch('/api/info').then((r) => r.json())")
        if info.get("codes") == "index maps":
            edit_cells(page, 3)
        elif info["latent_dim"] == 2:
            answer = page.evaluate("fetch('/api/map').then((r) => r.json())")
            codes = answer["z"]
            labels = answer["labels"] or [None] * len(codes)
            box = page.locator("#map").bounding_box()
            centres = []
            for end in ends:
                chosen = [code for code, label in zip(codes, labels) if label == end] or [[0, 0]]
                centres.append([sum(column) / len(chosen) for column in zip(*chosen)])
            for centre in centres:
                page.mouse.click(*_map_position(box, info["ranges"], centre))
            middle = [(a + b) / 2 for a, b in zip(*centres)]
            page.mouse.move(*_map_position(box, info["ranges"], middle))
        else:
            drag_slider(page, 0, 10)
            page.locator("#examples img").nth(0).click()
            page.locator("#examples img").nth(1).click()
        if info.get("codes") != "index maps":
            page.wait_for_function("document.querySelectorAll('#spherical img').length > 0")
        page.wait_for_timeout(500)
        page.screenshot(path=path, full_page=True)
    return path
