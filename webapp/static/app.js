// Vocals2Song page: record or choose a vocal, queue a job, poll it, show the song.
// Recordings are decoded by the browser and sent as 16-bit WAV, so the server reads them
// with the same decoder as any uploaded file (browsers record WebM/Opus, which it does not).
"use strict";

const $ = (id) => document.getElementById(id);
let vocal = null; // {blob, name}
let recorder = null;

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
  }
  if (job.state !== "done") {
    await new Promise((resolve) => setTimeout(resolve, job.ready.length ? 200 : 500));
    return poll(id);
  }
  const minutes = Math.round(job.expires_in_seconds / 60);
  $("status").textContent = `Done: ${job.seconds.toFixed(1)} s of song (kept about ${minutes} min).`;
  $("picture").src = `/api/jobs/${id}/song.png`;
  $("picture").hidden = false;
}

async function generate() {
  showError("");
  $("result").hidden = true;
  $("generate").disabled = true;
  $("progress").hidden = false;
  $("progress").value = 0;
  $("status").textContent = "Uploading\u2026";
  const form = new FormData();
  form.append("audio", vocal.blob, vocal.name);
  form.append("phase", $("phase").value);
  form.append("vocals", $("vocals").checked ? "true" : "false");
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
    $("progress").hidden = true;
  }
}

async function start() {
  const config = await (await fetch("/api/config")).json();
  for (const phase of config.phases) $("phase").add(new Option(phase, phase));
  if (!config.phases.includes("predicted")) {
    $("phase-hint").textContent = "This model makes magnitudes only: the phase is rebuilt (Griffin-Lim).";
  }
  $("vocals").disabled = !config.can_drop_vocals;
  $("limits").textContent =
    `Up to ${config.max_upload_mb} MB, ${config.max_seconds} s, ${config.max_channels} channels and ` +
    `${config.max_sample_rate / 1000} kHz; WAV, FLAC, OGG or MP3.`;
  $("record").addEventListener("click", toggleRecording);
  $("file").addEventListener("change", (event) => {
    const file = event.target.files[0];
    if (file) choose(file, file.name);
  });
  $("generate").addEventListener("click", generate);
}

start();
