// Vocals2Song page: record or choose a vocal, queue a job, poll it, show the song.
// Recordings are decoded by the browser and sent as 16-bit WAV, so the server reads them
// with the same decoder as any uploaded file (browsers record WebM/Opus, which it does not).
"use strict";

const $ = (id) => document.getElementById(id);
let chordChoices = []; // how the chords are played: /api/config names them ("playing") and lists their choices
let vocal = null; // {blob, name}
let recorder = null;
let mixer = null; // {context, tracks: [{name, buffer, gain, muted, volume}], sources}

function showError(message) {
  $("error").textContent = message;
  $("error").hidden = !message;
}

function choose(blob, name) {
  vocal = { blob, name };
  $("input-player").src = URL.createObjectURL(blob);
  $("input-player").hidden = false;
  $("generate").disabled = false;
  showError("");
}

function encodeWav(buffer) {
  const channels = buffer.numberOfChannels;
  const frames = buffer.length;
  const bytes = new DataView(new ArrayBuffer(44 + frames * channels * 2));
  const text = (offset, s) => [...s].forEach((c, i) => bytes.setUint8(offset + i, c.charCodeAt(0)));
  text(0, "RIFF");
  bytes.setUint32(4, 36 + frames * channels * 2, true);
  text(8, "WAVEfmt ");
  bytes.setUint32(16, 16, true);
  bytes.setUint16(20, 1, true); // PCM
  bytes.setUint16(22, channels, true);
  bytes.setUint32(24, buffer.sampleRate, true);
  bytes.setUint32(28, buffer.sampleRate * channels * 2, true);
  bytes.setUint16(32, channels * 2, true);
  bytes.setUint16(34, 16, true);
  text(36, "data");
  bytes.setUint32(40, frames * channels * 2, true);
  const data = [...Array(channels).keys()].map((c) => buffer.getChannelData(c));
  let offset = 44;
  for (let i = 0; i < frames; i++) {
    for (let c = 0; c < channels; c++) {
      const sample = Math.max(-1, Math.min(1, data[c][i]));
      bytes.setInt16(offset, sample < 0 ? sample * 0x8000 : sample * 0x7fff, true);
      offset += 2;
    }
  }
  return new Blob([bytes], { type: "audio/wav" });
}

async function toggleRecording() {
  if (recorder) {
    recorder.stop();
    return;
  }
  let stream;
  try {
    stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  } catch (error) {
    showError(`No microphone: ${error.message}. Choose a file instead.`);
    return;
  }
  const chunks = [];
  recorder = new MediaRecorder(stream);
  recorder.ondataavailable = (event) => chunks.push(event.data);
  recorder.onstop = async () => {
    stream.getTracks().forEach((track) => track.stop());
    recorder = null;
    $("record").textContent = "\u25cf Record";
    $("record").classList.remove("recording");
    try {
      const context = new AudioContext();
      const decoded = await context.decodeAudioData(await new Blob(chunks).arrayBuffer());
      await context.close();
      choose(encodeWav(decoded), "recording.wav");
      $("record-status").textContent = `Recorded ${decoded.duration.toFixed(1)} s.`;
    } catch (error) {
      showError(`Could not read the recording: ${error.message}`);
    }
  };
  recorder.start();
  $("record").textContent = "\u25a0 Stop";
  $("record").classList.add("recording");
  $("record-status").textContent = "Recording\u2026";
}

// The song plays as soon as it is written; the picture follows when the job is done.
async function poll(id) {
  const response = await fetch(`/api/jobs/${id}`);
  const job = await response.json();
  if (!response.ok) throw new Error(job.error);
  $("progress").value = job.progress;
  $("status").textContent = `${job.state} (${Math.round(job.progress * 100)}%)`;
  if (job.state === "failed") throw new Error(job.error);
  if (job.ready.includes("song.wav") && $("result").hidden) {
    $("song").src = `/api/jobs/${id}/song.wav`;
    $("download").href = `/api/jobs/${id}/song.wav`;
    $("picture").hidden = true;
    $("result").hidden = false;
    if (job.tracks.length > 1) await buildMixer(job.tracks);
  }
  if (job.state !== "done") {
    await new Promise((resolve) => setTimeout(resolve, job.ready.length ? 200 : 500));
    return poll(id);
  }
  const minutes = Math.round(job.expires_in_seconds / 60);
  $("status").textContent = `Done: ${job.seconds.toFixed(1)} s of song (kept about ${minutes} min).`;
  $("picture").src = `/api/jobs/${id}/song.png`;
  $("picture").hidden = false;
  if (job.ready.includes("song.mid")) {
    $("midi").href = `/api/jobs/${id}/song.mid`;
    $("midi-line").hidden = false;
  }
  if (job.played.said) {
    $("changes-line").textContent = `The chords change ${job.played.said}.`;
    $("changes-line").hidden = false;
  }
  if (job.ready.includes("song.txt")) {
    const sheet = await fetch(`/api/jobs/${id}/song.txt`);
    if (sheet.ok) {
      $("chart").value = await sheet.text();
      $("chart-download").href = `/api/jobs/${id}/song.txt`;
      $("chart-box").hidden = false;
    }
  }
}

// The mixer: each track (a generated stem, or the vocal as it sits in the song) through its own
// gain into one Web Audio graph, so muting or turning one down changes what plays at once.
async function buildMixer(tracks) {
  stopMix();
  if (mixer) await mixer.context.close();
  const context = new AudioContext();
  const decoded = await Promise.all(
    tracks.map(async (track) => {
      const response = await fetch(track.url);
      if (!response.ok) throw new Error(`track ${track.name}: ${response.status}`);
      const buffer = await context.decodeAudioData(await response.arrayBuffer());
      const gain = context.createGain();
      gain.connect(context.destination);
      return { name: track.name, url: track.url, buffer, gain, muted: false, volume: 1 };
    }),
  );
  mixer = { context, tracks: decoded, sources: [] };
  $("tracks").replaceChildren(...decoded.map(trackRow));
  $("mixer").hidden = false;
}

function trackRow(track) {
  const row = document.createElement("div");
  row.className = "track";
  row.dataset.track = track.name;
  const name = document.createElement("span");
  name.textContent = track.name;
  const mute = document.createElement("button");
  mute.type = "button";
  mute.className = "mute";
  mute.textContent = "Mute";
  mute.setAttribute("aria-pressed", "false");
  mute.addEventListener("click", () => {
    track.muted = !track.muted;
    mute.setAttribute("aria-pressed", String(track.muted));
    applyGain(track);
  });
  const volume = document.createElement("input");
  Object.assign(volume, { type: "range", min: "0", max: "1", step: "0.01", value: "1", className: "volume" });
  volume.setAttribute("aria-label", `${track.name} volume`);
  volume.addEventListener("input", () => {
    track.volume = Number(volume.value);
    applyGain(track);
  });
  const download = document.createElement("a");
  Object.assign(download, { href: track.url, download: `${track.name}.wav`, textContent: "Download", className: "download" });
  row.append(name, mute, volume, download);
  return row;
}

function applyGain(track) {
  track.gain.gain.value = track.muted ? 0 : track.volume;
}

function stopMix() {
  if (!mixer) return;
  mixer.sources.forEach((source) => source.stop());
  mixer.sources = [];
}

async function playMix() {
  stopMix();
  await mixer.context.resume();
  const at = mixer.context.currentTime + 0.05; // every track starts on the same sample
  mixer.sources = mixer.tracks.map((track) => {
    const source = mixer.context.createBufferSource();
    source.buffer = track.buffer;
    source.connect(track.gain);
    source.start(at);
    return source;
  });
}

// The mix as set (mutes and volumes), rendered offline and saved as 16-bit WAV.
async function downloadMix() {
  const first = mixer.tracks[0].buffer;
  const channels = Math.max(...mixer.tracks.map((track) => track.buffer.numberOfChannels));
  const offline = new OfflineAudioContext(channels, first.length, first.sampleRate);
  for (const track of mixer.tracks) {
    const source = offline.createBufferSource();
    const gain = offline.createGain();
    source.buffer = track.buffer;
    gain.gain.value = track.muted ? 0 : track.volume;
    source.connect(gain).connect(offline.destination);
    source.start();
  }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(encodeWav(await offline.startRendering()));
  link.download = "mix.wav";
  link.click();
}

// A chart (the lead sheet as the listener edited it) plays its chords under the same take.
async function generate(chart) {
  showError("");
  $("result").hidden = true;
  $("mixer").hidden = true;
  $("midi-line").hidden = true;
  $("changes-line").hidden = true;
  $("chart-box").hidden = true;
  $("generate").disabled = true;
  $("play-chart").disabled = true;
  $("progress").hidden = false;
  $("progress").value = 0;
  $("status").textContent = "Uploading\u2026";
  const form = new FormData();
  form.append("audio", vocal.blob, vocal.name);
  form.append("phase", $("phase").value);
  form.append("vocals", $("vocals").checked ? "true" : "false");
  if (!$("chord-options").hidden) {
    for (const name of chordChoices) form.append(name, $(name).value);
    if (typeof chart === "string") form.append("chart", chart);
  }
  try {
    const response = await fetch("/api/jobs", { method: "POST", body: form });
    const job = await response.json();
    if (!response.ok) throw new Error(job.error);
    await poll(job.id);
  } catch (error) {
    showError(error.message);
    $("status").textContent = "";
  } finally {
    $("generate").disabled = false;
    $("play-chart").disabled = false;
    $("progress").hidden = true;
  }
}

async function start() {
  const config = await (await fetch("/api/config")).json();
  const phases = config.choices.phase;
  for (const phase of phases) $("phase").add(new Option(phase, phase));
  if (phases.includes("source")) {
    $("phase-hint").textContent = "source: the stems keep the mixture's phase (a separator); griffinlim: rebuilt.";
  } else if (!phases.includes("predicted")) {
    $("phase-hint").textContent = "This model makes magnitudes only: the phase is rebuilt (Griffin-Lim).";
  }
  $("vocals").disabled = !config.can_drop_vocals;
  chordChoices = config.playing;
  for (const name of chordChoices) {
    for (const choice of config.choices[name]) $(name).add(new Option(choice, choice));
    $(name).value = config.defaults[name];
  }
  $("chord-options").hidden = !config.plays_chords;
  $("limits").textContent =
    `Up to ${config.max_upload_mb} MB, ${config.max_seconds} s, ${config.max_channels} channels and ` +
    `${config.max_sample_rate / 1000} kHz; WAV, FLAC, OGG or MP3.`;
  $("record").addEventListener("click", toggleRecording);
  $("file").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (file) choose(file, file.name);
  });
  $("generate").addEventListener("click", () => generate());
  $("play-chart").addEventListener("click", () => generate($("chart").value));
  $("mix-play").addEventListener("click", playMix);
  $("mix-stop").addEventListener("click", stopMix);
  $("mix-download").addEventListener("click", downloadMix);
}

start();
