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
# The demo model: small enough to train in minutes on 2 CPU cores.
DEMO_TRAIN_ARGS ?= --target accompaniment --features logmag --filters 16 --depth 6 --disc_filters 16 \
	--crop_frames 128 --batch_size 8 --steps 300 --learning_rate 1e-3 --log_every 25 --checkpoint_every 100 \
	--summary_every 100 --eval_every 100

.PHONY: install test lint dataset inspect synth train generate evaluate demo serve dataset-dataflow train-vertex bench bench-scale clean

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
	$(BIN)/python -m pytest -q tests

lint: install
	$(BIN)/ruff check .
	$(BIN)/ruff format --check .

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

# Fresh synthetic MUSDB18-HQ-layout data -> Beam job -> short training -> evaluation ->
# a song from a held-out (test split) vocal.
demo: install
	rm -rf $(DEMO)
	$(BIN)/vocals2song synth-musdb $(DEMO)/musdb --tracks 12 --seconds 30 --seed 0
	$(BIN)/vocals2song dataset --musdb_root $(DEMO)/musdb --output_dir $(DEMO)/dataset --runner DirectRunner
	$(BIN)/vocals2song train --data_dir $(DEMO)/dataset --model_dir $(DEMO)/model $(DEMO_TRAIN_ARGS)
	$(BIN)/vocals2song evaluate --model $(DEMO)/model --data_dir $(DEMO)/dataset --output_dir $(DEMO)
	$(BIN)/vocals2song generate --model $(DEMO)/model --output $(DEMO)/song.wav \
		--vocals "$$(ls -d $(DEMO)/musdb/test/*/ | head -n 1)vocals.wav"
	@echo
	@echo "demo done:"
	@echo "  song:        $(DEMO)/song.wav"
	@echo "  picture:     $(DEMO)/song.png"
	@echo "  metrics:     $(DEMO)/metrics.json ($(DEMO)/metrics.md)"
	@echo "  TensorBoard: $(BIN)/tensorboard --logdir $(DEMO)/model/summaries"

# The web page for a trained model (after `make demo`: MODEL=data/demo/model, the default here
# when it exists). Binds to 127.0.0.1; open http://127.0.0.1:$(PORT)/.
PORT ?= 8000
SERVE_MODEL ?= $(if $(wildcard $(DEMO)/model/export),$(DEMO)/model,$(MODEL))
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

bench-scale: install
	$(BIN)/python -m benchmarks.bench_dataset_scale > benchmarks/RESULTS-dataset-scale.md
	cat benchmarks/RESULTS-dataset-scale.md

clean:
	rm -rf $(VENV) build *.egg-info .pytest_cache
