// What both explorer pages share (explorer.js: flat codes; codes.js: a VQ-VAE's
// code grid): the API, the status line, images, the newest-request-wins
// updater, the measured update times, the class selector and the header.
"use strict";

// What tests and benchmarks read: event-to-image times in milliseconds.
window.explorerStats = { latencies: [], updates: 0 };

const $ = (id) => document.getElementById(id);

async function api(path, body) {
  const options = body === undefined ? {} : {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify(body),
  };
  const response = await fetch("/api/" + path, options);
  const payload = await response.json();
  if (!response.ok) throw new Error(payload.error || response.statusText);
  return payload;
}

function showStatus(message) {
  const status = $("status");
  status.textContent = message;
  status.classList.toggle("shown", Boolean(message));
}

function loadImage(img, src) {
  return new Promise((resolve) => {
    img.onload = resolve;
    img.onerror = resolve;
    img.src = src;
  });
}

// `run(job)` for the newest job only, one at a time: while an answer is on its
// way, a newer job replaces the one waiting, so the image never lags behind a
// queue of old requests. Returns the function that hands over a job.
function newestOnly(run) {
  let waiting = null;
  let busy = false;
  async function pump() {
    if (busy || !waiting) return;
    const job = waiting;
    waiting = null;
    busy = true;
    try {
      await run(job);
    } finally {
      busy = false;
      pump();
    }
  }
  return (job) => {
    waiting = job;
    pump();
  };
}

// One more image drawn, `startTime` (an event's timeStamp) to now.
function recordUpdate(startTime, what) {
  const latency = performance.now() - startTime;
  const stats = window.explorerStats;
  stats.latencies.push(latency);
  stats.updates += 1;
  $("latency").textContent = "update: " + latency.toFixed(0) + " ms (" + what + " to image)";
}

// The class selector of a conditional model: `onChange(label, event)`.
function setUpLabelSelect(count, onChange) {
  const select = $("label-select");
  select.replaceChildren(...Array.from({ length: count }, (_, label) => {
    const option = document.createElement("option");
    option.value = option.textContent = String(label);
    return option;
  }));
  $("label-panel").hidden = false;
  select.addEventListener("change", (event) => onChange(Number(select.value), event));
}

function showModel(info, facts) {
  $("model-name").textContent = info.name;
  const [height, width, channels] = info.image_shape;
  $("model-facts").textContent = [
    ...facts,
    height + "x" + width + "x" + channels + " images",
    info.num_classes ? "conditional, " + info.num_classes + " classes" : null,
    "prior: " + info.prior, info.backend,
    info.num_images ? info.num_images + " test images encoded" : "no test images",
  ].filter(Boolean).join(" · ");
}

// The strip of test images to start from: shows `examples` (the API's answer)
// and calls onPick(i, event) when image i is clicked, marking it chosen.
function showExampleStrip(examples, onPick) {
  $("examples-panel").hidden = false;
  const images = examples.images.map((src, i) => {
    const img = new Image();
    img.src = src;
    img.alt = "test image " + i + (examples.labels ? " (class " + examples.labels[i] + ")" : "");
    img.title = img.alt;
    img.addEventListener("click", (event) => {
      images.forEach((other) => other.classList.toggle("chosen", other === img));
      onPick(i, event);
    });
    return img;
  });
  $("examples").replaceChildren(...images);
  return images;
}
