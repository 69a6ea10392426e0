"""Codec fidelity and size: SNR of decode(encode(x)) and bytes per audio second.

On generated music (mono mixtures of synthetic tracks): float16 complex (ours), float32
complex, the seed's 8-bit BMP (linear magnitude, clipped at the segment's peak), and 8-bit
with log magnitude (80 dB range).
"""

from __future__ import annotations

import io
import sys

import numpy as np
from PIL import Image

from vocals2song import codec, synth
from vocals2song.config import SpectralConfig


def _eight_bit_log(mono: np.ndarray, config: SpectralConfig) -> np.ndarray:
    spectrum = codec.stft(mono, config)[0]
    peak = float(np.abs(spectrum).max())
    decibels = np.clip(20 * np.log10(np.abs(spectrum) / peak + 1e-12), -80, 0)
    quantised = np.round((decibels + 80) / 80 * 255) / 255 * 80 - 80
    magnitude = peak * 10 ** (quantised / 20)
    phase = np.round((np.angle(spectrum) + np.pi) / (2 * np.pi) * 255) / 255 * 2 * np.pi - np.pi
    return codec.istft((magnitude * np.exp(1j * phase))[np.newaxis], config, mono.shape[1])


def measure(tracks: int = 4) -> dict[str, dict[str, float]]:
    config = SpectralConfig()
    results: dict[str, list[float]] = {name: [] for name in ("float16", "float32", "8-bit BMP (seed)", "8-bit log")}
    sizes: dict[str, float] = {}
    for index in range(tracks):
        _, stems = synth.synth_track(config.segment_seconds, np.random.default_rng([99, index]))
        mono = synth.quantise_mix(stems)["mixture"].mean(axis=0, keepdims=True)
        length = mono.shape[1]
        stored = codec.encode(mono, config)
        results["float16"].append(codec.snr_db(mono, codec.decode(stored, config, length)))
        spectrum = codec.stft(mono, config)
        results["float32"].append(codec.snr_db(mono, codec.istft(spectrum, config, length)))
        peak = float(np.abs(spectrum).max())
        image = codec.encode_8bit(mono, config, peak)
        results["8-bit BMP (seed)"].append(codec.snr_db(mono, codec.decode_8bit(image, config, peak, length)))
        results["8-bit log"].append(codec.snr_db(mono, _eight_bit_log(mono, config)))
        buffer = io.BytesIO()
        Image.fromarray(image).save(buffer, format="BMP")
        seconds = length / config.sample_rate
        sizes = {
            "float16": stored.nbytes / seconds,
            "float32": spectrum.astype(np.complex64).nbytes / seconds,
            "8-bit BMP (seed)": len(buffer.getvalue()) / seconds,
            "8-bit log": 2 * image.shape[0] * image.shape[1] / seconds,
        }
    return {
        name: {"snr_db": float(np.mean(values)), "bytes_per_second": sizes[name]} for name, values in results.items()
    }


def main(quick: bool = False) -> str:
    results = measure(2 if quick else 4)
    lines = [
        "## Codec fidelity and size (`bench_codec`)",
        "",
        "Mean SNR of decode(encode(x)) over generated 15 s mono mixtures; size of one mono stem per audio second.",
        "",
        "| codec | SNR (dB) | bytes per audio second |",
        "|---|---|---|",
    ]
    for name, values in results.items():
        lines.append(f"| {name} | {values['snr_db']:.1f} | {values['bytes_per_second']:,.0f} |")
    target = results["float16"]["snr_db"] >= 75
    lines += ["", f"Target float16 >= 75 dB: {'met' if target else 'MISSED'}."]
    return "\n".join(lines)


if __name__ == "__main__":
    print(main(quick="--quick" in sys.argv))
