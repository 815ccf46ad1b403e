#!/bin/sh
# Install the voiceauth service into a virtual environment.
#
# The one install recipe: the Containerfile runs it, and tests/integration/test_container_recipe.py
# runs it in a fresh virtual environment on every `make test`, so the recipe cannot rot unseen.
#
#   deploy/install.sh VENV            pinned by constraints.txt, from PyPI
#   TORCH_INDEX_URL=... install.sh V  CPU-only torch/torchaudio from that index first (the
#                                     container uses https://download.pytorch.org/whl/cpu), then the
#                                     rest pinned, without PyPI's CUDA libraries
# VOICEAUTH_EXTRAS picks the extras (default: model,postgres,web). Run from the source folder.
set -eu
venv=${1:?usage: deploy/install.sh VENV}
extras=${VOICEAUTH_EXTRAS:-model,postgres,web}
python=${PYTHON:-python3}

pin() { sed -n "s/^$1==//p" constraints.txt; }

"$python" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip
if [ -n "${TORCH_INDEX_URL:-}" ]; then
    "$venv/bin/python" -m pip install --quiet --index-url "$TORCH_INDEX_URL" \
        "torch==$(pin torch)" "torchaudio==$(pin torchaudio)"
    cpu_constraints=$(mktemp)
    grep -v -E '^(nvidia-|triton==|torch==|torchaudio==)' constraints.txt > "$cpu_constraints"
    "$venv/bin/python" -m pip install --quiet -c "$cpu_constraints" ".[$extras]"
    rm -f "$cpu_constraints"
else
    "$venv/bin/python" -m pip install --quiet -c constraints.txt ".[$extras]"
fi
"$venv/bin/voiceauth" --help > /dev/null
