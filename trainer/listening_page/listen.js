// The listening test's page: one trial (a sung melody in several versions) at a time; every
// version must be rated before the next trial. Ratings live in this browser (localStorage, so a
// reload loses nothing) until the listener downloads them as JSON for `vocals2song listening-report`.
"use strict";

const saved = `vocals2song-listening-${TEST.test}`;
const state = JSON.parse(localStorage.getItem(saved) || "null") || { listener: "", ratings: {}, trial: 0 };
const LETTERS = "ABCDEFGH";

function store() {
  localStorage.setItem(saved, JSON.stringify(state));
}

function rated(trial) {
  return TEST.trials[trial].every((stimulus) => stimulus in state.ratings);
}

// Switching versions mid-melody goes on from the same moment, so the same passage is compared.
let lastPlayed = null;

function switchTo(player) {
  if (lastPlayed && lastPlayed !== player && document.contains(lastPlayed) && !lastPlayed.paused) {
    player.currentTime = lastPlayed.currentTime;
  }
  document.querySelectorAll("audio").forEach((other) => other !== player && other.pause());
  lastPlayed = player;
}

function stimulusRow(stimulus, index) {
  const row = document.createElement("div");
  row.className = "stimulus" + (stimulus in state.ratings ? "" : " unrated");
  row.dataset.stimulus = stimulus;
  const letter = document.createElement("strong");
  letter.textContent = LETTERS[index];
  const player = document.createElement("audio");
  player.controls = true;
  player.preload = "none";
  player.src = `${stimulus}.wav`;
  player.addEventListener("play", () => switchTo(player));
  const slider = document.createElement("input");
  slider.type = "range";
  slider.min = "0";
  slider.max = "100";
  slider.value = String(state.ratings[stimulus] ?? 50);
  slider.setAttribute("aria-label", `rating of version ${LETTERS[index]}`);
  const shown = document.createElement("output");
  shown.textContent = stimulus in state.ratings ? slider.value : "-";
  slider.addEventListener("input", () => {
    state.ratings[stimulus] = Number(slider.value);
    shown.textContent = slider.value;
    row.classList.remove("unrated");
    store();
    update();
  });
  row.append(letter, player, slider, shown);
  return row;
}

function show() {
  const trial = TEST.trials[state.trial];
  document.getElementById("heading").textContent = `Melody ${state.trial + 1} of ${TEST.trials.length}`;
  const list = document.getElementById("stimuli");
  list.replaceChildren(...trial.map(stimulusRow));
  update();
}

function update() {
  const last = state.trial === TEST.trials.length - 1;
  const done = rated(state.trial);
  const named = state.listener.trim() !== "";
  document.getElementById("previous").disabled = state.trial === 0;
  document.getElementById("next").hidden = last;
  document.getElementById("next").disabled = !done;
  document.getElementById("download").hidden = !last;
  document.getElementById("download").disabled = !(done && named);
  const missing = done ? (named ? "" : "Give your name or initials to download.") : "Rate every version to go on.";
  document.getElementById("status").textContent = missing;
}

function download() {
  const body = JSON.stringify({ test: TEST.test, listener: state.listener.trim(), ratings: state.ratings }, null, 1);
  const link = document.createElement("a");
  link.href = URL.createObjectURL(new Blob([body], { type: "application/json" }));
  link.download = `ratings-${state.listener.trim().replace(/[^\w-]+/g, "_")}.json`;
  link.click();
}

document.getElementById("listener").value = state.listener;
document.getElementById("listener").addEventListener("input", (event) => {
  state.listener = event.target.value;
  store();
  update();
});
document.getElementById("previous").addEventListener("click", () => {
  state.trial -= 1;
  store();
  show();
});
document.getElementById("next").addEventListener("click", () => {
  state.trial += 1;
  store();
  show();
});
document.getElementById("download").addEventListener("click", download);
show();
