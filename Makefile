# Every target creates the virtual environment first, so a fresh clone needs
# nothing but `make demo` or `make test`.
PYTHON ?= python3
VENV ?= .venv
BIN := $(VENV)/bin
RUNNER ?= DirectRunner
MUSDB ?= data/musdb18hq
DATA ?= data/dataset
BEAM_ARGS ?=
MODEL ?= data/model
TRAIN_ARGS ?=
VOCALS ?=
SONG ?= data/song.wav
DEMO ?= data/demo
# pytest-xdist workers for `make test` and `make test-fast` (0: one process). Two on CI's two cores:
# the suite took 16.8 min in one process here and 8.5-13.4 min on two workers (README, "The two commands").
TEST_WORKERS ?= 2
PYTEST = $(BIN)/python -m pytest -q -n $(TEST_WORKERS) --dist worksteal
DEMO_SCORES ?= 0:60
DEV_SOUNDFONT ?= /usr/share/sounds/sf2/TimGM6mb.sf2
RELEASE ?= data/release
DEMO_STEMS ?= data/demo-stems
# The released model's recipe (docs/model-notes.md, run M2: the pix2pix U-Net on the hybrid axis of a
# 4096-point data set with timbre jitter, the compressed L2 term, the pitch context, the chroma term on
# the song, a light loudness term and the transposable harmony head, trained 1,500 steps),
# and the demo's: the same network on the
# linear axis of the default 1024-point data set with shorter crops and fewer steps, small enough to
# train in minutes on 2 CPU cores (the README's demo numbers were measured with it). 300 steps of a GAN
# can end on a spike, so the demo exports the step with the lowest validation L1 (docs/model-notes.md,
# "The demo's spread").
RELEASE_DATASET_ARGS ?= --n_fft 4096 --hop_length 1024
RELEASE_TRAIN_ARGS ?= --target accompaniment --features logmag --frequency hybrid --log_bins 192 --bins 1024 \
	--bins_per_octave 36 --fmin 41.2 --filters 16 --depth 6 --disc_filters 16 --crop_frames 256 --batch_size 8 \
	--steps 1500 --learning_rate 1e-3 --timbre_jitter 1.0 --reconstruction compressed_l2 --pitch_context \
	--chroma_weight 20 --chroma_of song --harmony --harmony_transposable --harmony_channels 16 \
	--loudness_weight 3 --encode_on step \
	--log_every 25 --checkpoint_every 100 --summary_every 250 --eval_every 250
# The demo's harmoniser: the released recipe on its 54 training chorales, a quarter of the steps (~2 min).
DEMO_HARMONISER_ARGS ?= --steps 1500
DEMO_TRAIN_ARGS ?= --target accompaniment --features logmag --filters 16 --depth 6 --disc_filters 16 \
	--crop_frames 128 --batch_size 8 --steps 300 --learning_rate 1e-3 --log_every 25 \
	--checkpoint_every 100 --summary_every 100 --eval_every 100 --export_step best_valid

.PHONY: install test test-fast lint dataset inspect synth train generate evaluate demo demo-stems model ceiling chart-oracle lead-sheets hymn-or-song listening-test serve dataset-dataflow train-vertex bench soak bench-scale clean

$(BIN)/vocals2song: setup.py
	test -x $(BIN)/python || $(PYTHON) -m venv $(VENV)
	$(BIN)/pip install --upgrade pip
	$(BIN)/pip install -e '.[dev]'
	touch $@

install: $(BIN)/vocals2song

# The browser and render tests need Debian packages (chromium, fluidsynth, soundfonts);
# infra/install_debian.sh installs them when it can
# (they are skipped, saying why, when it cannot). Screenshots land in test-artifacts/.
test: install
	bash infra/install_debian.sh
	$(PYTEST) --durations=40 tests

# The quick part of the suite for working on the code: everything but the slow, browser, gcs and
# packaging groups (pyproject.toml). `make test` (what CI runs) still runs them all.
test-fast: install
	$(PYTEST) tests \
		-m "not slow and not browser and not gcs and not packaging and not notebook"

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .
	$(BIN)/python infra/check_notebooks.py

synth: install
	$(BIN)/vocals2song synth-musdb $(MUSDB) --tracks 12 --seconds 30

dataset: install
	$(BIN)/vocals2song dataset --musdb_root $(MUSDB) --output_dir $(DATA) --runner $(RUNNER) $(BEAM_ARGS)

inspect: install
	$(BIN)/vocals2song inspect $(DATA)

train: install
	$(BIN)/vocals2song train --data_dir $(DATA) --model_dir $(MODEL) $(TRAIN_ARGS)

generate: install
	$(BIN)/vocals2song generate --model $(MODEL) --vocals "$(VOCALS)" --output $(SONG)

evaluate: install
	$(BIN)/vocals2song evaluate --model $(MODEL) --data_dir $(DATA)

# Rendered chorales (music21's Bach corpus, FluidSynth) in MUSDB18-HQ layout -> Beam job ->
# short training, and a harmoniser on the same scores -> evaluation on held-out chorales rendered
# with another soundfont -> a song from a held-out vocal, with its chords as MIDI and a lead sheet.
# The whole pipeline in about a quarter of an hour on 2 cores.
demo: install
	bash infra/install_debian.sh --require render
	rm -rf $(DEMO)
	$(BIN)/vocals2song render --output_dir $(DEMO)/musdb --bach $(DEMO_SCORES) --except_every 10:5 --max_seconds 45 \
		--direct_running_mode=multi_processing --direct_num_workers=2
	$(BIN)/vocals2song render --output_dir $(DEMO)/musdb --bach $(DEMO_SCORES) --every 10:5 --split test \
		--soundfont $(DEV_SOUNDFONT) --seed 1 --max_seconds 45
	$(BIN)/vocals2song dataset --musdb_root $(DEMO)/musdb --output_dir $(DEMO)/dataset --runner DirectRunner
	$(BIN)/vocals2song train --data_dir $(DEMO)/dataset --model_dir $(DEMO)/model $(DEMO_TRAIN_ARGS)
	$(BIN)/vocals2song harmoniser --bach $(DEMO_SCORES) --except_every 10:5 --output_dir $(DEMO)/model $(DEMO_HARMONISER_ARGS)
	$(BIN)/vocals2song evaluate --model $(DEMO)/model --data_dir $(DEMO)/dataset --output_dir $(DEMO) --segments_per_track 1
	$(BIN)/vocals2song generate --model $(DEMO)/model --output $(DEMO)/song.wav \
		--vocals "$$(ls -d $(DEMO)/musdb/test/*/ | head -n 1)vocals.wav"
	@echo
	@echo "demo done:"
	@echo "  song:        $(DEMO)/song.wav"
	@echo "  picture:     $(DEMO)/song.png"
	@echo "  chords:      $(DEMO)/song.mid (MIDI), $(DEMO)/song.txt (lead sheet)"
	@echo "  metrics:     $(DEMO)/metrics.json ($(DEMO)/metrics.md)"
	@echo "  TensorBoard: $(BIN)/tensorboard --logdir $(DEMO)/model/summaries"

# Stems both ways on the synthetic songs (drums, bass, chords, a sung-like vocal; `synth-musdb`):
# a data set storing every stem with 4096-point frames (bass notes 11 Hz apart, not 43) -> one
# model writing drums, bass and other as separate stems (the hybrid log axis and the pitch
# context) -> per-stem evaluation -> stems of a test vocal; then the same job backwards on the
# default 1024-point frames (sharper in time; 4096 gave the separator +0.5 dB, not +4), a
# separator (mixture -> vocals) scored by SDR. Both weight the reconstruction term 10x the default
# (`--l1_weight 1000`): the GAN's sharp but wrong partials cost bass and other their LSD against
# the average, and the separator ~0.6 dB SDR (docs/model-notes.md, "Stems"). About 6-17 minutes
# on 2 cores, by machine (README, "Stems").
DEMO_STEMS_DATASET_ARGS ?= --stems vocals,drums,bass,other,mixture
DEMO_STEMS_TRAIN_ARGS ?= --target drums,bass,other --steps 800 --l1_weight 1000 --features logmag --frequency hybrid --log_bins 192 \
	--bins 1024 --bins_per_octave 36 --fmin 41.2 --pitch_context --filters 16 --depth 6 --disc_filters 16 \
	--crop_frames 128 --batch_size 4 --learning_rate 1e-3 --log_every 50 --checkpoint_every 200 --summary_every 200 \
	--eval_every 200
DEMO_SEPARATOR_TRAIN_ARGS ?= --source mixture --target vocals --steps 400 --l1_weight 1000 --features logmag --filters 16 --depth 6 \
	--disc_filters 16 --crop_frames 128 --batch_size 4 --learning_rate 1e-3 --log_every 50 --checkpoint_every 100 \
	--summary_every 100 --eval_every 100
demo-stems: install
	bash infra/install_debian.sh --require separation
	rm -rf $(DEMO_STEMS)
	$(BIN)/vocals2song synth-musdb $(DEMO_STEMS)/musdb --tracks 12 --seconds 30
	$(BIN)/vocals2song dataset --musdb_root $(DEMO_STEMS)/musdb --output_dir $(DEMO_STEMS)/dataset4k --runner DirectRunner \
		--n_fft 4096 --hop_length 1024 $(DEMO_STEMS_DATASET_ARGS)
	$(BIN)/vocals2song train --data_dir $(DEMO_STEMS)/dataset4k --model_dir $(DEMO_STEMS)/model $(DEMO_STEMS_TRAIN_ARGS)
	$(BIN)/vocals2song evaluate --model $(DEMO_STEMS)/model --data_dir $(DEMO_STEMS)/dataset4k --output_dir $(DEMO_STEMS)/eval
	$(BIN)/vocals2song generate --model $(DEMO_STEMS)/model --output $(DEMO_STEMS)/song.wav --stems $(DEMO_STEMS)/stems \
		--vocals "$$(ls -d $(DEMO_STEMS)/musdb/test/*/ | head -n 1)vocals.wav"
	$(BIN)/vocals2song dataset --musdb_root $(DEMO_STEMS)/musdb --output_dir $(DEMO_STEMS)/dataset --runner DirectRunner \
		$(DEMO_STEMS_DATASET_ARGS)
	$(BIN)/vocals2song train --data_dir $(DEMO_STEMS)/dataset --model_dir $(DEMO_STEMS)/separator $(DEMO_SEPARATOR_TRAIN_ARGS)
	$(BIN)/vocals2song evaluate --model $(DEMO_STEMS)/separator --data_dir $(DEMO_STEMS)/dataset \
		--output_dir $(DEMO_STEMS)/separation
	$(BIN)/vocals2song generate --model $(DEMO_STEMS)/separator --output $(DEMO_STEMS)/separated-vocals.wav \
		--vocals "$$(ls -d $(DEMO_STEMS)/musdb/test/*/ | head -n 1)mixture.wav"
	@echo
	@echo "demo-stems done:"
	@echo "  stems:       $(DEMO_STEMS)/stems/{drums,bass,other,song}.wav (picture: $(DEMO_STEMS)/song.png)"
	@echo "  per stem:    $(DEMO_STEMS)/eval/metrics.md"
	@echo "  separation:  $(DEMO_STEMS)/separation/metrics.md, $(DEMO_STEMS)/separated-vocals.wav"

# The released model (models/chorales): the training corpus and the dev set rendered from the
# chorales outside the reserved tail, trained with RELEASE_TRAIN_ARGS, exported into models/,
# scored on the dev set (models/chorales/metrics.md). See docs/model-notes.md.
model: install
	bash infra/install_debian.sh --require render
	rm -rf $(RELEASE)
	$(BIN)/vocals2song render --output_dir $(RELEASE)/chorales --bach 0:373 --except_every 10:5 \
		--direct_running_mode=multi_processing --direct_num_workers=2
	$(BIN)/vocals2song render --output_dir $(RELEASE)/chorales --bach 0:373 --every 10:5 --split test \
		--soundfont $(DEV_SOUNDFONT) --seed 1
	$(BIN)/vocals2song dataset --musdb_root $(RELEASE)/chorales --output_dir $(RELEASE)/dataset $(RELEASE_DATASET_ARGS) \
		--direct_running_mode=multi_processing --direct_num_workers=2
	$(BIN)/vocals2song train --data_dir $(RELEASE)/dataset --model_dir $(RELEASE)/model $(RELEASE_TRAIN_ARGS)
	$(BIN)/vocals2song harmoniser --bach 0:373 --except_every 10:5 --output_dir $(RELEASE)/model
	rm -rf models/chorales && mkdir -p models/chorales && cp $(RELEASE)/model/export/* models/chorales/
	$(BIN)/vocals2song evaluate --model models/chorales --data_dir $(RELEASE)/dataset --output_dir models/chorales \
		--segments_per_track 1

# The web page: the `make demo` model when there is one, else the released model
# (models/chorales). Binds to 127.0.0.1; open http://127.0.0.1:$(PORT)/.
PORT ?= 8000
SERVE_MODEL ?= $(if $(wildcard $(DEMO)/model/export),$(DEMO)/model,models/chorales)
serve: install
	$(BIN)/vocals2song serve --model $(SERVE_MODEL) --port $(PORT)

# Cloud runs (README, "Running in the cloud"). The dataset job on Dataflow:
#   make dataset-dataflow PROJECT=my-project REGION=europe-west4 BUCKET=my-bucket [IMAGE=...]
dataset-dataflow: install
	PROJECT=$(PROJECT) REGION=$(REGION) BUCKET=$(BUCKET) VOCALS2SONG=$(BIN)/vocals2song infra/dataflow.sh $(BEAM_ARGS)

# Training on Vertex AI (SPEC=single: 1 machine x 4 GPUs; SPEC=multi: 2 machines x 4 GPUs):
#   make train-vertex PROJECT=... REGION=... BUCKET=... IMAGE=europe-docker.pkg.dev/.../vocals2song-train
SPEC ?= single
STEPS ?= 200000
DATASET ?= musdb18hq-v1
train-vertex:
	$(PYTHON) infra/vertex.py --spec $(SPEC) --project "$(PROJECT)" --region "$(REGION)" --bucket "$(BUCKET)" \
		--image "$(IMAGE)" --dataset $(DATASET) --steps $(STEPS) $(VERTEX_ARGS)

# Every benchmark (~17 min on 2 cores); rewrites benchmarks/RESULTS.md, including the last
# figures of `make bench-scale` (the dataset job on 3 h of audio, ~30 min, run separately).
bench: install
	$(BIN)/python -m benchmarks.run_all

# The chroma a melody-only accompanist can be expected to reach: Bach's other settings of the dev
# tunes played under the dev vocals, beside the released model (~2 min after `make model`;
# docs/model-notes.md, "The composer's alternative, reproducible").
ceiling: install
	bash infra/install_debian.sh --require render
	rm -rf $(RELEASE)/bach-songs
	$(BIN)/python -m benchmarks.ceiling --data_dir $(RELEASE)/dataset --songs_dir $(RELEASE)/bach-songs \
		> $(RELEASE)/ceiling.md
	cat $(RELEASE)/ceiling.md

# What a right chord chart is worth: each dev take played from triads read off its true
# accompaniment a bar, a half bar and a beat at a time, beside the released model (~12 min after
# `make model`; docs/model-notes.md, "Your own chords").
chart-oracle: install
	bash infra/install_debian.sh --require render
	$(BIN)/python -m benchmarks.chart_oracle --data_dir $(RELEASE)/dataset > $(RELEASE)/chart-oracle.md
	cat $(RELEASE)/chart-oracle.md

# Songs, not chorales: each --changes against the written chords of 21 songs' lead sheets
# (benchmarks/songs/songs.abc and music21's) and of the dev chorales, and the songs scored at song level
# against their written chords played (~3 min here after `make model`; docs/model-notes.md, "Songs").
lead-sheets: install
	bash infra/install_debian.sh --require render
	$(BIN)/python -m benchmarks.lead_sheets --chorales $(RELEASE)/chorales > $(RELEASE)/lead-sheets.md
	cat $(RELEASE)/lead-sheets.md

# Where `--changes auto` reads a take as a song (trainer/config.py SONG_STEP_SHARE): the share of
# moves by step on the training chorales' renders and on folk songs sung with the training soundfont.
hymn-or-song: install
	bash infra/install_debian.sh --require render
	$(BIN)/python -m benchmarks.hymn_or_song --chorales $(RELEASE)/chorales > $(RELEASE)/hymn-or-song.md
	cat $(RELEASE)/hymn-or-song.md

# A blind listening test of the released model against the originals, an anchor and Bach's other
# settings (README, "Generate and evaluate"); send $(RELEASE)/listening/listen/ to the listeners. A test
# already prepared there is never overwritten (its key unblinds the ratings): move it away first.
listening-test: ceiling
	$(BIN)/vocals2song listening-test --data_dir $(RELEASE)/dataset --output_dir $(RELEASE)/listening \
		--compare bach=$(RELEASE)/bach-songs

# 200 jobs from 8 clients against a real `vocals2song serve`; replaces the soak section of RESULTS.md.
soak: install
	$(BIN)/python -m benchmarks.run_all --only bench_soak

bench-scale: install
	$(BIN)/python -m benchmarks.bench_dataset_scale > benchmarks/RESULTS-dataset-scale.md
	cat benchmarks/RESULTS-dataset-scale.md

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
