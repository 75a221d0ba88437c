// The vae_tf explorer page of a VQ-VAE: its code, an h x w map of codebook
// indices, as a grid of cells; a cell given another code decodes the map again
// (one request). Uses common.js (loaded before it). No framework, no build step.
"use strict";

const state = {
  info: null,
  indices: null,    // the map shown: rows of codebook indices
  start: null,      // the map it was edited from: a test image's or a prior sample's
  label: 0,         // its class, for conditional models
  cell: null,       // [row, column] of the chosen cell
  version: 0,       // counts changes of the map: a late prior sample must not undo them
  sampleSeed: 0,
};

// K codes need K colours that neighbouring indices tell apart: hues a golden
// angle apart, three lightnesses. A code has the same colour everywhere.
const LIGHTNESS = [40, 56, 72];

function codeColour(code) {
  return "hsl(" + ((code * 137.508) % 360).toFixed(1) + ", 62%, " + LIGHTNESS[code % 3] + "%)";
}

function paint(element, code) {
  element.textContent = String(code);
  element.style.background = codeColour(code);
  element.style.color = LIGHTNESS[code % 3] < 60 ? "#fff" : "#111";
}

function withLabel(request) {
  return state.info.num_classes ? { ...request, label: state.label } : request;
}

const copyMap = (indices) => indices.map((row) => row.slice());

// -- the decoded image: the newest change wins, one request in flight ---------

// A job decodes the map shown when it is sent, or draws `src`, an image that
// came with its map (a prior sample), after any answer still on its way.
const update = newestOnly(async ({ time, what, src }) => {
  try {
    if (!src) {
      const answer = await api("decode", withLabel({ indices: [state.indices] }));
      src = answer.images[0];
    }
    await loadImage($("decoded"), src);
    recordUpdate(time, what);
    showStatus("");
  } catch (error) {
    showStatus(error.message);
  }
});

// -- the grid -----------------------------------------------------------------

function cellAt(row, column) {
  return $("grid").children[row * state.info.code_shape[1] + column];
}

function setUpGrid() {
  const [height, width] = state.info.code_shape;
  const grid = $("grid");
  // Cells as large as fit a 330-pixel square, readable down to 18 pixels.
  grid.style.setProperty("--cell", Math.max(18, Math.min(44, Math.floor(330 / width))) + "px");
  grid.style.gridTemplateColumns = "repeat(" + width + ", var(--cell))";
  const cells = [];
  for (let row = 0; row < height; row++) {
    for (let column = 0; column < width; column++) {
      const cell = document.createElement("button");
      Object.assign(cell, { type: "button", className: "cell" });
      cell.dataset.row = row;
      cell.dataset.column = column;
      cell.setAttribute("role", "gridcell");
      cell.addEventListener("click", () => chooseCell(row, column));
      cells.push(cell);
    }
  }
  grid.replaceChildren(...cells);
  // Anywhere but in a field, so the arrows go on after a click on the palette.
  document.addEventListener("keydown", moveWithArrows);
  $("grid-note").textContent = height + " x " + width + " codebook indices";
}

function drawGrid() {
  const [height, width] = state.info.code_shape;
  let edited = 0;
  for (let row = 0; row < height; row++) {
    for (let column = 0; column < width; column++) {
      const cell = cellAt(row, column);
      const code = state.indices[row][column];
      const changed = code !== state.start[row][column];
      edited += changed;
      paint(cell, code);
      cell.classList.toggle("edited", changed);
      cell.classList.toggle("chosen", Boolean(state.cell)
        && state.cell[0] === row && state.cell[1] === column);
      cell.title = "row " + row + ", column " + column + ": code " + code
        + (changed ? " (was " + state.start[row][column] + ")" : "");
    }
  }
  $("reset-button").disabled = edited === 0;
  drawReadout(edited);
  drawPalette();
}

function drawReadout(edited) {
  let text = "no cell chosen: click one";
  if (state.cell) {
    const [row, column] = state.cell;
    const code = state.indices[row][column];
    const was = state.start[row][column];
    text = "cell (row " + row + ", column " + column + "): code " + code
      + (code !== was ? " (was " + was + ")" : "");
  }
  $("cell-readout").textContent = text + (edited ? "; " + edited + " cells edited" : "");
}

function chooseCell(row, column) {
  state.cell = [row, column];
  const code = state.indices[row][column];
  $("code-input").disabled = $("code-button").disabled = false;
  $("code-input").value = code;
  drawGrid();
  cellAt(row, column).focus({ preventScroll: true });
}

function moveWithArrows(event) {
  const steps = { ArrowUp: [-1, 0], ArrowDown: [1, 0], ArrowLeft: [0, -1], ArrowRight: [0, 1] };
  const typing = ["INPUT", "SELECT", "TEXTAREA"].includes(event.target.tagName);
  if (!state.cell || typing || !(event.key in steps)) return;
  event.preventDefault();
  const [height, width] = state.info.code_shape;
  const [rowStep, columnStep] = steps[event.key];
  chooseCell(Math.min(Math.max(state.cell[0] + rowStep, 0), height - 1),
             Math.min(Math.max(state.cell[1] + columnStep, 0), width - 1));
}

// A new map to start from (a test image's, a prior sample's): no edits yet.
function setMap(indices) {
  state.indices = copyMap(indices);
  state.start = copyMap(indices);
  state.version += 1;
  drawGrid();
}

// -- the codebook: a palette of all K codes, and a number to type -----------

function setUpPalette() {
  const info = state.info;
  const swatches = info.usage.map((count, code) => {
    const swatch = document.createElement("button");
    Object.assign(swatch, { type: "button", className: "code" });
    swatch.dataset.code = code;
    paint(swatch, code);
    swatch.title = "code " + code + (info.num_images
      ? ": " + count + " cells of the test images' maps" : "");
    swatch.classList.toggle("unused", info.num_images > 0 && count === 0);
    swatch.addEventListener("click", (event) => setCode(code, event));
    return swatch;
  });
  $("palette").replaceChildren(...swatches);
  const unused = info.usage.filter((count) => count === 0).length;
  $("palette-note").textContent = info.codebook_size + " codes of " + info.code_dim
    + " numbers each" + (info.num_images ? "; " + unused + " unused by the test images (dimmed)"
    : "");
  const input = $("code-input");
  input.max = info.codebook_size - 1;
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter") setTypedCode(event);
  });
  $("code-button").addEventListener("click", setTypedCode);
}

function drawPalette() {
  const current = state.cell ? state.indices[state.cell[0]][state.cell[1]] : null;
  for (const swatch of $("palette").children) {
    swatch.classList.toggle("current", Number(swatch.dataset.code) === current);
  }
}

function setTypedCode(event) {
  const text = $("code-input").value.trim();
  const code = Number(text);
  const last = state.info.codebook_size - 1;
  if (text === "" || !Number.isInteger(code) || code < 0 || code > last) {
    showStatus("A code is a whole number from 0 to " + last + "; got " + (text || "nothing") + ".");
    return;
  }
  setCode(code, event);
}

function setCode(code, event) {
  if (!state.cell) {
    showStatus("Click a cell of the code map first, then choose its new code.");
    return;
  }
  const [row, column] = state.cell;
  state.indices[row][column] = code;
  state.version += 1;
  $("code-input").value = code;
  drawGrid();
  update({ time: event.timeStamp, what: "edit" });
}

// -- test images, prior samples, classes -------------------------------------

async function setUpExamples() {
  const examples = await api("examples");
  if (!examples.images.length) return null;
  const images = showExampleStrip(examples, (i, event) =>
    startFromExample(examples, i, event.timeStamp),
  );
  images[0].classList.add("chosen");
  return examples;
}

function startFromExample(examples, i, time) {
  if (examples.labels && state.info.num_classes) setLabel(examples.labels[i]);
  $("original").src = examples.images[i];
  $("original-panel").hidden = false;
  setMap(examples.indices[i]);
  update({ time, what: "test image" });
}

function setLabel(label) {
  state.label = label;
  $("label-select").value = String(label);
}

async function sampleFromPrior(event) {
  const time = event ? event.timeStamp : performance.now();
  const version = state.version;
  try {
    const answer = await api("sample", withLabel({ count: 1, seed: state.sampleSeed++ }));
    // Edited or chosen another map meanwhile: that one stays.
    if (state.version !== version) return;
    for (const img of $("examples").children) img.classList.remove("chosen");
    $("original-panel").hidden = true;
    setMap(answer.indices[0]);
    update({ time, what: "sample", src: answer.images[0] });
  } catch (error) {
    showStatus(error.message);
  }
}

async function start() {
  try {
    const info = (state.info = await api("info"));
    const [height, width] = info.code_shape;
    showModel(info, [height + "x" + width + " map of codes", "codebook of " + info.codebook_size]);
    setUpGrid();
    setUpPalette();
    if (info.num_classes) {
      setUpLabelSelect(info.num_classes, (label, event) => {
        state.label = label;
        update({ time: event.timeStamp, what: "class" });
      });
    }
    $("sample-button").addEventListener("click", sampleFromPrior);
    $("reset-button").addEventListener("click", (event) => {
      setMap(state.start);
      update({ time: event.timeStamp, what: "undo" });
    });
    const examples = await setUpExamples();
    if (examples) startFromExample(examples, 0, performance.now());
    else await sampleFromPrior(null);
  } catch (error) {
    showStatus("The explorer could not start: " + error.message);
  }
}

start();
