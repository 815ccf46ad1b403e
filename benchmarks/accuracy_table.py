"""Print the Markdown table of docs/accuracy.md from the JSON reports of benchmarks/accuracy.sh.

~/.cache/voiceauth/venv/bin/python benchmarks/accuracy_table.py docs/accuracy
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

ROWS = (
    ("LibriSpeech, enrol clean, verify clean", "librispeech-clean-clean.json"),
    ("LibriSpeech, enrol clean, verify phone", "librispeech-clean-phone.json"),
    ("LibriSpeech, enrol phone, verify phone", "librispeech-phone-phone.json"),
    ("FSDD digits (8 kHz), ~2 s per test", "fsdd-phone.json"),
)


def _pct(part: int, whole: int) -> str:
    return f"{100 * part / whole:.2f} % ({part}/{whole})" if whole else "-"


def main() -> None:
    folder = Path(sys.argv[1] if len(sys.argv) > 1 else "docs/accuracy")
    print(
        "| condition | EER raw cosine | EER calibrated | minDCF raw / calibrated "
        "| genuine rejected at 0.82 (service) | impostors accepted at 0.82 (service) "
        "| raw cosine at 0.82: rejected / accepted | median speech per decision (genuine) |"
    )
    print("|---|---|---|---|---|---|---|---|")
    for name, file in ROWS:
        path = folder / file
        if not path.exists():
            continue
        report = json.loads(path.read_text())
        full = report["full_length"]
        cal, raw = full["calibrated"], full["raw_cosine"]
        service = report["service"]
        raw_at = raw["at_threshold"]
        print(
            f"| {name} | {100 * raw['eer']:.2f} % | {100 * cal['eer']:.2f} % "
            f"| {raw['min_dcf']:.3f} / {cal['min_dcf']:.3f} "
            f"| {_pct(service['false_rejects'], service['genuine'])} "
            f"| {_pct(service['false_accepts'], service['impostor'])} "
            f"| {_pct(raw_at['false_rejects'], raw_at['genuine'])} / "
            f"{_pct(raw_at['false_accepts'], raw_at['impostor'])} "
            f"| {service['speech_s_median']:.2f} s ({service['speech_s_median_genuine']:.2f} s) |"
        )


if __name__ == "__main__":
    main()
