// The vae_tf explorer page of flat codes: asks /api/ for images as the pointer,
// the sliders and the class selector move. No framework, no build step, no
// network but the server that sent it. Uses common.js (loaded before it).
"use strict";

// Matplotlib's tab10: the colours of the library's latent scatter figures.
const COLOURS = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                 "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"];
const PATH_STEPS = 10;

const state = {
  info: null,
  z: null,          // the code shown
  label: 0,         // its class, for conditional models
  chosen: [],       // the last two chosen codes: the ends of the interpolation
  sampleSeed: 0,
  map: null,        // {points, extent, background}
};

function withLabel(request) {
  return state.info.num_classes ? { ...request, label: state.label } : request;
}

function formatCode(z) {
  return z.map((v) => v.toFixed(2)).join(", ");
}

// -- the decoded image: the newest code wins, one request in flight ----------

function show(z, eventTime) {
  state.z = z.slice();
  $("z-readout").textContent = "z = (" + formatCode(state.z) + ")";
  syncSliders();
  drawMap();
  decodeNewest({ z: state.z.slice(), time: eventTime ?? performance.now() });
}

const decodeNewest = newestOnly(async ({ z, time }) => {
  try {
    const answer = await api("decode", withLabel({ z: [z] }));
    await loadImage($("decoded"), answer.images[0]);
    recordUpdate(time, "pointer");
    showStatus("");
  } catch (error) {
    showStatus(error.message);
  }
});

// -- choosing codes and the interpolation between the last two --------------

async function choose(z) {
  state.chosen = [...state.chosen, z.slice()].slice(-2);
  drawMap();
  await interpolate();
}

async function interpolate() {
  if (state.chosen.length < 2) {
    $("interpolation-hint").textContent = "One end chosen: choose another point.";
    return;
  }
  try {
    const answer = await api("interpolate", withLabel({ z: state.chosen, steps: PATH_STEPS }));
    for (const kind of ["linear", "spherical"]) {
      const strip = $(kind);
      strip.replaceChildren(...answer[kind].images.map((src, i) => {
        const img = new Image();
        img.src = src;
        img.title = "z = (" + formatCode(answer[kind].z[i]) + ")";
        return img;
      }));
    }
    $("interpolation-hint").textContent =
      "From (" + formatCode(state.chosen[0]) + ") to (" + formatCode(state.chosen[1]) + ").";
  } catch (error) {
    showStatus(error.message);
  }
}

// -- the 2-D map --------------------------------------------------------------

function setUpMap(points, labels) {
  const canvas = $("map");
  const [[x0, x1], [y0, y1]] = state.info.ranges;
  const extent = { x0, x1, y0, y1 };
  // The points are drawn once, off screen; a pointer move only copies them.
  const background = document.createElement("canvas");
  background.width = canvas.width;
  background.height = canvas.height;
  const context = background.getContext("2d");
  context.fillStyle = "#fff";
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.strokeStyle = "#e4e7eb";
  const origin = toCanvas([0, 0], extent, canvas);
  context.beginPath();
  context.moveTo(origin[0], 0); context.lineTo(origin[0], canvas.height);
  context.moveTo(0, origin[1]); context.lineTo(canvas.width, origin[1]);
  context.stroke();
  context.globalAlpha = 0.55;
  points.forEach((point, i) => {
    const [x, y] = toCanvas(point, extent, canvas);
    context.fillStyle = labels ? COLOURS[labels[i] % COLOURS.length] : "#444";
    context.fillRect(x - 1.5, y - 1.5, 3, 3);
  });
  context.globalAlpha = 1;
  context.fillStyle = "#5d6875";
  context.font = "11px sans-serif";
  context.fillText("z0 " + x0.toFixed(1), 4, canvas.height - 4);
  context.fillText(x1.toFixed(1), canvas.width - 26, canvas.height - 4);
  context.fillText("z1 " + y1.toFixed(1), 4, 12);
  state.map = { extent, background };

  const toLatent = (event) => {
    const box = canvas.getBoundingClientRect();
    const fx = Math.min(Math.max((event.clientX - box.left) / box.width, 0), 1);
    const fy = Math.min(Math.max((event.clientY - box.top) / box.height, 0), 1);
    return [x0 + fx * (x1 - x0), y1 - fy * (y1 - y0)];
  };
  canvas.addEventListener("pointerdown", (event) => canvas.setPointerCapture(event.pointerId));
  canvas.addEventListener("pointermove", (event) => show(toLatent(event), event.timeStamp));
  canvas.addEventListener("click", (event) => {
    const z = toLatent(event);
    show(z, event.timeStamp);
    choose(z);
  });

  const present = labels ? [...new Set(labels)].sort((a, b) => a - b) : [];
  $("legend").replaceChildren(...present.map((label) => {
    const entry = document.createElement("span");
    const swatch = document.createElement("i");
    swatch.style.background = COLOURS[label % COLOURS.length];
    entry.append(swatch, String(label));
    return entry;
  }));
}

function toCanvas(z, extent, canvas) {
  return [
    ((z[0] - extent.x0) / (extent.x1 - extent.x0)) * canvas.width,
    ((extent.y1 - z[1]) / (extent.y1 - extent.y0)) * canvas.height,
  ];
}

function drawMap() {
  if (!state.map) return;
  const canvas = $("map");
  const context = canvas.getContext("2d");
  context.drawImage(state.map.background, 0, 0);
  state.chosen.forEach((z, i) => {
    const [x, y] = toCanvas(z, state.map.extent, canvas);
    context.fillStyle = "#111";
    context.beginPath();
    context.arc(x, y, 5, 0, 2 * Math.PI);
    context.fill();
    context.fillStyle = "#fff";
    context.font = "bold 9px sans-serif";
    context.fillText(i ? "B" : "A", x - 3, y + 3);
  });
  if (state.z) {
    const [x, y] = toCanvas(state.z, state.map.extent, canvas);
    context.strokeStyle = "#111";
    context.beginPath();
    context.moveTo(x - 8, y); context.lineTo(x + 8, y);
    context.moveTo(x, y - 8); context.lineTo(x, y + 8);
    context.stroke();
  }
}

// -- sliders (latent spaces of more than two dimensions) ---------------------

function setUpSliders() {
  const info = state.info;
  const usage = Object.fromEntries(info.dimensions.map((d) => [d.index, d.usage]));
  const rows = [];
  for (const index of info.sliders) {
    const [low, high] = info.ranges[index];
    const label = document.createElement("label");
    label.htmlFor = "slider-" + index;
    label.textContent = "z" + index + (info.usage_name === "none" ? ""
      : " (" + info.usage_name + " " + usage[index].toFixed(2) + ")");
    const slider = document.createElement("input");
    Object.assign(slider, {
      type: "range", id: "slider-" + index, min: low, max: high, step: (high - low) / 400,
    });
    slider.dataset.index = index;
    const output = document.createElement("output");
    output.id = "value-" + index;
    slider.addEventListener("input", (event) => {
      const z = state.z.slice();
      z[index] = Number(slider.value);
      show(z, event.timeStamp);
    });
    rows.push(label, slider, output);
  }
  $("sliders").replaceChildren(...rows);
  const hidden = info.latent_dim - info.sliders.length;
  $("slider-note").textContent = info.usage_name === "none"
    ? "" : "most used first (" + info.usage_name + " per dimension)"
      + (hidden ? "; " + hidden + " more keep their values" : "");
}

function syncSliders() {
  for (const slider of document.querySelectorAll("#sliders input")) {
    const value = state.z[Number(slider.dataset.index)];
    if (Number(slider.value) !== value) slider.value = value;
    $("value-" + slider.dataset.index).textContent = value.toFixed(2);
  }
}

// -- test images, prior samples, classes -------------------------------------

async function setUpExamples() {
  const examples = await api("examples");
  if (!examples.images.length) return;
  showExampleStrip(examples, (i, event) => {
    if (examples.labels && state.info.num_classes) setLabel(examples.labels[i]);
    show(examples.z[i], event.timeStamp);
    choose(examples.z[i]);
  });
  return examples;
}

function setLabel(label) {
  state.label = label;
  $("label-select").value = String(label);
}

function setUpLabels() {
  setUpLabelSelect(state.info.num_classes, (label, event) => {
    state.label = label;
    show(state.z, event.timeStamp);
    interpolate();
  });
}

async function sampleFromPrior(event) {
  const time = event.timeStamp;
  try {
    const answer = await api("sample", withLabel({ count: 1, seed: state.sampleSeed++ }));
    show(answer.z[0], time);
    choose(answer.z[0]);
  } catch (error) {
    showStatus(error.message);
  }
}

async function start() {
  try {
    const info = (state.info = await api("info"));
    showModel(info, [info.latent_dim + "-D latent space"]);
    if (info.num_classes) setUpLabels();
    $("sample-button").addEventListener("click", sampleFromPrior);
    $("zero-button").addEventListener("click", (event) =>
      show(new Array(info.latent_dim).fill(0), event.timeStamp));
    const examples = await setUpExamples();
    let first = new Array(info.latent_dim).fill(0);
    if (info.latent_dim === 2) {
      const map = await api("map");
      $("map-panel").hidden = false;
      setUpMap(map.z, map.labels);
    } else {
      $("slider-panel").hidden = false;
      setUpSliders();
      if (examples) first = examples.z[0];
    }
    show(first);
  } catch (error) {
    showStatus("The explorer could not start: " + error.message);
  }
}

start();
