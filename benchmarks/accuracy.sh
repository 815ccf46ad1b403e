#!/usr/bin/env bash
# Rebuild the shipped cohort and calibration, then measure every condition of docs/accuracy.md.
#
#   benchmarks/accuracy.sh [CORPORA]        (default: ../shared/corpora)
#
# Speakers are split by a fixed rule on the LibriSpeech speaker id's last digit:
#   0-3 cohort (impostor embeddings shipped in the package), 4-6 calibration, 7-9 evaluation.
# FSDD is evaluation only. Embeddings are cached in $XDG_CACHE_HOME/voiceauth/eval-cache, so a
# rerun only recomputes what changed. Set STAGES="eval" to skip rebuilding cohort/calibration.
set -euo pipefail
CORPORA=${1:-../shared/corpora}
LIBRI="$CORPORA/librispeech-train-clean-100-sample"
FSDD="$CORPORA/fsdd"
BIN=${BIN:-$HOME/.cache/voiceauth/venv/bin}
VOICEAUTH=${VOICEAUTH:-$BIN/voiceauth}
EXTRA=${EXTRA:-}  # e.g. EXTRA="--threads 2 --quiet"
DATA=voiceauth_adapters/cohort/data
OUT=${OUT:-docs/accuracy}
STAGES=${STAGES:-"cohort calibrate eval"}
mkdir -p "$OUT"

if [[ " $STAGES " == *" cohort "* ]]; then
  $VOICEAUTH cohort build "$LIBRI" $EXTRA --speakers '.*[0-3]' --out "$DATA/cohort.npz"
fi
if [[ " $STAGES " == *" calibrate "* ]]; then
  $VOICEAUTH cohort calibrate "$LIBRI" $EXTRA --speakers '.*[4-6]' \
    --cohort "$DATA/cohort.npz" --out "$DATA/calibration.json"
fi
if [[ " $STAGES " == *" eval "* ]]; then
  for condition in clean/clean clean/phone phone/phone phone/clean; do
    enrol=${condition%/*}; test=${condition#*/}
    $VOICEAUTH eval "$LIBRI" $EXTRA --speakers '.*[7-9]' \
      --enroll-channel "$enrol" --test-channel "$test" \
      --out "$OUT/librispeech-$enrol-$test.json" --plot "$OUT/librispeech-$enrol-$test.png"
  done
  $VOICEAUTH eval "$FSDD" $EXTRA --pattern '_(?P<speaker>[a-z]+)_' --protocol groups \
    --enroll-files 10 --test-files 5 \
    --out "$OUT/fsdd-phone.json" --plot "$OUT/fsdd-phone.png"
  # A line the cohort and calibration never heard: a mobile leg (AMR-NB 12.2k, then G.711).
  for condition in clean/mobile mobile/mobile; do
    enrol=${condition%/*}; test=${condition#*/}
    $VOICEAUTH eval "$LIBRI" $EXTRA --speakers '.*[7-9]' \
      --enroll-channel "$enrol" --test-channel "$test" \
      --out "$OUT/librispeech-$enrol-$test.json" --plot "$OUT/librispeech-$enrol-$test.png"
  done
  # What the phone-band voiceprint brings: the wide-band enrolments without it.
  for test in phone mobile; do
    $VOICEAUTH eval "$LIBRI" $EXTRA --speakers '.*[7-9]' --enroll-channel clean \
      --test-channel "$test" --no-phone-band --out "$OUT/librispeech-clean-$test-no-phone-band.json"
  done
  # The original rule for comparison: raw cosine at 0.82.
  $VOICEAUTH eval "$LIBRI" $EXTRA --speakers '.*[7-9]' --enroll-channel clean --test-channel phone \
    --scoring cosine --out "$OUT/librispeech-clean-phone-cosine.json"
fi
