"""Reusing work between the checks of one growing capture, measured against the exact path.

``Verify`` scores a live capture every second of new audio, and each check embeds the whole
speech heard so far: an 8 s decision embeds 1 + 2 + ... + 8 = 36 s of speech. This script
measures, on real speech, what keeping earlier work instead does to the embeddings, the
calibrated scores and the decisions, and what it saves:

- ``features``: SpeechBrain's filterbanks of earlier audio kept, only the new frames computed
  (the log floor ``top_db`` and the sentence mean applied over all frames again): exact;
- ``chunk-alone``: each new second through the frame-level network on its own (its own feature
  mean, its own squeeze-excitation means, reflect padding at its edges), the frame-level
  outputs of all chunks kept, then one attentive pooling over every frame;
- ``running-N``: the same with the feature mean and the squeeze-excitation means running over
  everything heard so far, N frames of left context, and the last N frames of the previous
  chunk computed again now that their right context is known (N = 16, 64);
- ``chunk-mean``: each second embedded on its own, the embeddings averaged;
- ``stats-merged``: each second through the network on its own, its attention-weighted
  statistics kept (sums under a chunk-local softmax) and merged: constant work per check.

Each method is also tried as a guard (``--guard``, widths in log-odds): a check whose
approximate score lies that far inside the band where no early decision is taken keeps
listening without the exact embedding; any other check decides on the exact embedding.

The exact path is the service's own (``OnnxEcapa``, fp32): the embedding of the whole prefix.
The variants run in torch on the same checkpoint (same folded pooling as the export; torch and
onnxruntime agree to a cosine of 0.9999999), one thread, CPU time by ``process_time``; the
exact path is also timed in torch so that the ratio compares like with like.

Trials: ``--speakers`` held-out LibriSpeech speakers (id ending in 7-9, the evaluation split;
the longest utterances), each utterance's speech (Silero, as the service finds it) split into
an enrolment (all but the last 8 s, with its G.711 twin, as ``Enroll`` keeps it) and a probe
(the last 8 s), heard clean and through the G.711 line; every probe against every enrolment.
The probe grows 1..8 s in 1 s steps. Scores are the service's calibrated policy (AS-norm with
the shipped cohort and calibration) at ``VOICE_THRESHOLD`` 0.82.

    PYTHONPATH=. python benchmarks/incremental_embedding.py [CORPUS] [--speakers 20] [--save F]
"""

from __future__ import annotations

import argparse
import pickle
import sys
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import soundfile as sf
import torch
from speechbrain.lobes.features import Fbank

sys.path.insert(0, str(Path(__file__).resolve().parent))

from embed import DEFAULT_CORPUS, verified_model_dir

from voiceauth_adapters.audio.telephone import phone_channel
from voiceauth_adapters.cohort import load_calibrated_policy
from voiceauth_adapters.onnx import OnnxEcapa, export_dir_for
from voiceauth_adapters.onnx.ecapa import _network
from voiceauth_adapters.onnx.folding import fold_pooling
from voiceauth_adapters.vad import SileroSpeechDetector
from voiceauth_core.attempt import Decision
from voiceauth_core.audio import Audio
from voiceauth_core.calibration import logit
from voiceauth_core.embedding import Embedding
from voiceauth_core.enrollment import Enrollment, EnrollmentSample
from voiceauth_core.identity import UserId

RATE = 16_000
HOP = 160  # samples per feature frame
STEP_S = 1
STEPS = 8
METHODS = ("features", "chunk-alone", "running-16", "running-64", "chunk-mean", "stats-merged")


# -- the network in pieces (torch) -----------------------------------------------------------


class Pieces:
    """The folded ECAPA network and SpeechBrain's features, run piece by piece."""

    def __init__(self, model_dir: Path) -> None:
        self.net = fold_pooling(_network(model_dir))
        self.fbank = Fbank(n_mels=80).eval()
        # The unclipped log-mels: the 80 dB floor is applied by hand over all frames.
        self.fbank_raw = Fbank(n_mels=80).eval()
        self.fbank_raw.compute_fbanks.top_db = float("inf")

    # features
    def features(self, samples: np.ndarray) -> torch.Tensor:
        """SpeechBrain's features of a whole recording, exactly as the service computes them."""
        with torch.inference_mode():
            x: torch.Tensor = self.fbank(torch.from_numpy(samples.copy())[None])
            return x - x.mean(dim=1, keepdim=True)

    def raw_frames(self, samples: np.ndarray, first: int) -> torch.Tensor:
        """Unclipped log-mels of frames ``first..`` of ``samples``: each frame's 25 ms window
        reaches 200 samples either side of its centre, so two frames of the audio before
        ``first`` are enough to compute them as on the whole recording."""
        start = max(0, (first - 2) * HOP)
        with torch.inference_mode():
            x: torch.Tensor = self.fbank_raw(torch.from_numpy(samples[start:].copy())[None])
        return x[:, first - start // HOP :]

    @staticmethod
    def finish(raw: torch.Tensor) -> torch.Tensor:
        """The 80 dB floor under the loudest bin, then the sentence mean: the service's features."""
        floored = torch.maximum(raw, raw.amax() - 80.0)
        return floored - floored.mean(dim=1, keepdim=True)

    # frame level
    def frame_level(
        self, feats: torch.Tensor, se: list[tuple[torch.Tensor, int]] | None, keep: slice
    ) -> tuple[torch.Tensor, list[torch.Tensor]]:
        """The multi-layer aggregation's output of ``feats`` ``[1, T, 80]``.

        ``se``: per block the sum of earlier frames' pre-SE activations and their count, added
        to the mean the block's squeeze-excitation takes (None: this window's own mean).
        ``keep``: the frames that count (the rest is context): their outputs, and their per-frame
        pre-SE activations per block, are returned.
        """
        net = self.net
        with torch.inference_mode():
            x = net.blocks[0](feats.transpose(1, 2))
            outs, sums = [], []
            for index, block in enumerate(net.blocks[1:]):
                t2 = block.tdnn2(block.res2net_block(block.tdnn1(x)))
                kept = t2[:, :, keep]
                if se is None:
                    mean = kept.mean(dim=2, keepdim=True)
                else:
                    total, count = se[index]
                    mean = (total[None, :, None] + kept.sum(dim=2, keepdim=True)) / (
                        count + kept.shape[2]
                    )
                sb = block.se_block
                scale = sb.sigmoid(sb.conv2(sb.relu(sb.conv1(mean))))
                x = scale * t2 + x
                outs.append(x)
                sums.append(kept[0].T.clone())  # [frames, 1024]
            mfa = net.mfa(torch.cat(outs, dim=1))
        return mfa[:, :, keep], sums

    def pool(self, mfa: torch.Tensor) -> np.ndarray:
        """Attentive pooling, its normalisation and the last layer over ``[1, 3072, T]``."""
        net = self.net
        with torch.inference_mode():
            return _unit(net.fc(net.asp_bn(net.asp(mfa)))[0, :, 0].numpy())

    def embed(self, samples: np.ndarray) -> np.ndarray:
        """The exact embedding (torch), for the like-for-like timing."""
        with torch.inference_mode():
            return _unit(self.net(self.features(samples))[0, 0].numpy())

    def local_stats(self, mfa: torch.Tensor) -> tuple[np.ndarray, ...]:
        """A chunk's attention-weighted sums under its own softmax (log-sum-exp kept)."""
        pooling = self.net.asp
        with torch.inference_mode():
            x = mfa
            mean = x.mean(dim=2)
            std = torch.sqrt((x - mean.unsqueeze(2)).pow(2).mean(dim=2).clamp(pooling.eps))
            context = (
                torch.nn.functional.linear(mean, pooling.w_mean)
                + torch.nn.functional.linear(std, pooling.w_std)
                + pooling.bias
            )
            hidden = torch.nn.functional.conv1d(x, pooling.w_frames) + context.unsqueeze(2)
            tdnn = pooling.pooling.tdnn
            hidden = tdnn.norm(tdnn.activation(hidden))
            logits = pooling.pooling.conv(pooling.pooling.tanh(hidden))[0]  # [C, T]
            peak = logits.amax(dim=1, keepdim=True)
            weights = torch.exp(logits - peak)
            xs = x[0]
            return (
                peak[:, 0].numpy(),
                weights.sum(dim=1).numpy(),
                (weights * xs).sum(dim=1).numpy(),
                (weights * xs * xs).sum(dim=1).numpy(),
            )

    def merged(self, stats: list[tuple[np.ndarray, ...]]) -> np.ndarray:
        """Pool merged chunk statistics, then the pooling's normalisation and the last layer."""
        peak = np.max([s[0] for s in stats], axis=0)
        z = sum(s[1] * np.exp(s[0] - peak) for s in stats)
        s1 = sum(s[2] * np.exp(s[0] - peak) for s in stats)
        s2 = sum(s[3] * np.exp(s[0] - peak) for s in stats)
        mean = s1 / z
        std = np.sqrt(np.clip(s2 / z - mean**2, self.net.asp.eps, None))
        pooled = torch.from_numpy(np.concatenate([mean, std]).astype(np.float32))[None, :, None]
        net = self.net
        with torch.inference_mode():
            return _unit(net.fc(net.asp_bn(pooled))[0, :, 0].numpy())


def _unit(vector: np.ndarray) -> np.ndarray:
    vector = np.asarray(vector, np.float64).reshape(-1)
    return vector / np.linalg.norm(vector)


# -- the incremental states, one per method --------------------------------------------------


@dataclass
class Features:
    """Filterbanks of earlier audio kept; the network runs on the whole prefix (exact)."""

    pieces: Pieces
    raw: torch.Tensor | None = None

    def check(self, samples: np.ndarray) -> np.ndarray:
        frames = 1 + len(samples) // HOP
        if self.raw is None:
            self.raw = self.pieces.raw_frames(samples, 0)
        else:
            # Frames whose window reached past the old end are computed again (zero padding).
            redo = self.raw.shape[1] - 3
            self.raw = torch.cat([self.raw[:, :redo], self.pieces.raw_frames(samples, redo)], 1)
        assert self.raw.shape[1] == frames, (self.raw.shape, frames)
        with torch.inference_mode():
            return _unit(self.pieces.net(self.pieces.finish(self.raw))[0, 0].numpy())


@dataclass
class ChunkFrames:
    """Frame-level outputs of earlier chunks kept; one pooling over all frames per check."""

    pieces: Pieces
    running: bool
    context: int
    raw: torch.Tensor | None = None  # unclipped log-mels of all frames so far
    mfa: torch.Tensor | None = None  # [1, 3072, frames] kept outputs
    pre_se: list[torch.Tensor] = field(default_factory=list)  # per block [frames, 1024]

    def _grow(self, samples: np.ndarray) -> tuple[int, int]:
        """Extend the raw features; returns (first new frame, frames in all)."""
        if self.raw is None:
            self.raw = self.pieces.raw_frames(samples, 0)
            return 0, self.raw.shape[1]
        old = self.raw.shape[1]
        redo = old - 3
        self.raw = torch.cat([self.raw[:, :redo], self.pieces.raw_frames(samples, redo)], 1)
        return old, self.raw.shape[1]

    def check(self, samples: np.ndarray) -> np.ndarray:
        old, total = self._grow(samples)
        assert self.raw is not None
        if not self.running:
            # The frames from the old end on, alone: their own 80 dB floor, feature mean and
            # SE means, reflect padding at both edges.
            feats = Pieces.finish(self.raw[:, old:total])
            mfa, _ = self.pieces.frame_level(feats, None, slice(0, total - old))
            self.mfa = mfa if self.mfa is None else torch.cat([self.mfa, mfa], 2)
            return self.pieces.pool(self.mfa)
        # Running: features finished over everything so far; left context; the old tail redone.
        feats_all = Pieces.finish(self.raw)
        redo = min(self.context, old)
        begin = max(0, old - redo - self.context)
        keep = slice(old - redo - begin, total - begin)
        if self.pre_se:
            se = [(p[: old - redo].sum(dim=0), old - redo) for p in self.pre_se]
        else:
            se = [(torch.zeros(1024), 0)] * 3
        mfa, sums = self.pieces.frame_level(feats_all[:, begin:total], se, keep)
        if self.mfa is None:
            self.mfa = mfa
            self.pre_se = sums
        else:
            self.mfa = torch.cat([self.mfa[:, :, : old - redo], mfa], 2)
            self.pre_se = [
                torch.cat([p[: old - redo], s], 0) for p, s in zip(self.pre_se, sums, strict=True)
            ]
        return self.pieces.pool(self.mfa)


@dataclass
class ChunkMean:
    """Each chunk embedded on its own; the embeddings averaged."""

    pieces: Pieces
    done: int = 0
    vectors: list[np.ndarray] = field(default_factory=list)

    def check(self, samples: np.ndarray) -> np.ndarray:
        self.vectors.append(self.pieces.embed(samples[self.done :]))
        self.done = len(samples)
        return _unit(np.mean(self.vectors, axis=0))


@dataclass
class StatsMerged:
    """Each chunk through the network on its own; attention statistics merged."""

    pieces: Pieces
    done: int = 0
    stats: list[tuple[np.ndarray, ...]] = field(default_factory=list)

    def check(self, samples: np.ndarray) -> np.ndarray:
        feats = self.pieces.features(samples[self.done :])
        mfa, _ = self.pieces.frame_level(feats, None, slice(0, feats.shape[1]))
        self.stats.append(self.pieces.local_stats(mfa))
        self.done = len(samples)
        return self.pieces.merged(self.stats)


def make_state(method: str, pieces: Pieces) -> Any:
    if method == "features":
        return Features(pieces)
    if method == "chunk-alone":
        return ChunkFrames(pieces, running=False, context=0)
    if method.startswith("running-"):
        return ChunkFrames(pieces, running=True, context=int(method.split("-")[1]))
    if method == "chunk-mean":
        return ChunkMean(pieces)
    if method == "stats-merged":
        return StatsMerged(pieces)
    raise ValueError(method)


# -- the trials ------------------------------------------------------------------------------


@dataclass
class Probe:
    speaker: str
    channel: str
    samples: np.ndarray
    exact: list[np.ndarray] = field(default_factory=list)  # the service's (onnx), per step
    exact_cpu: list[float] = field(default_factory=list)  # torch, per step
    onnx_cpu: list[float] = field(default_factory=list)
    vectors: dict[str, list[np.ndarray]] = field(default_factory=dict)
    cpu: dict[str, list[float]] = field(default_factory=dict)


def timed(compute: Callable[[], np.ndarray]) -> tuple[np.ndarray, float]:
    start = time.process_time()
    value = compute()
    return value, time.process_time() - start


def speakers_of(corpus: Path) -> list[Path]:
    """The utterances of evaluation speakers (id ending in 7-9), longest first."""
    files = [f for f in corpus.glob("*.flac") if f.name.split("-")[0][-1] in "789"]
    files.sort(key=lambda f: (-sf.info(f).duration, f.name))
    return files


def first_row(onnx: OnnxEcapa, samples: np.ndarray) -> np.ndarray:
    """The service's exact embedding of ``samples``."""
    vector: np.ndarray = onnx.embed_batch([samples])[0]
    return vector


def run_probe(probe: Probe, onnx: OnnxEcapa, pieces: Pieces, methods: list[str]) -> None:
    states = {m: make_state(m, pieces) for m in methods}
    for step in range(1, STEPS + 1):
        prefix = probe.samples[: step * STEP_S * RATE]
        vector, cpu = timed(partial(first_row, onnx, prefix))
        probe.exact.append(vector)
        probe.onnx_cpu.append(cpu)
        _, cpu = timed(partial(pieces.embed, prefix))
        probe.exact_cpu.append(cpu)
        for method, state in states.items():
            vector, cpu = timed(partial(state.check, prefix))
            probe.vectors.setdefault(method, []).append(vector)
            probe.cpu.setdefault(method, []).append(cpu)


def capture(
    policy: Any, enrollment: Enrollment, vectors: list[np.ndarray], model_id: str
) -> tuple[list[Any], Decision, int]:
    """Scores per step, and the decision ``Verify`` reaches on this growing capture."""
    scores = [
        policy.score(enrollment, Embedding.from_vector(v, model_id), speech_seconds=float(k + 1))
        for k, v in enumerate(vectors)
    ]
    for k, score in enumerate(scores[:-1]):
        early = policy.early_decision(score, speech_seconds=float(k + 1))
        if early is not None:
            return scores, early, k + 1
    return scores, policy.decide(scores[-1]), len(scores)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("corpus", nargs="?", type=Path, default=DEFAULT_CORPUS)
    parser.add_argument("--speakers", type=int, default=20)
    parser.add_argument("--methods", default=",".join(METHODS))
    parser.add_argument("--threshold", type=float, default=0.82)
    parser.add_argument("--guard", default="0.5,1", help="guard widths in log-odds")
    parser.add_argument("--save", type=Path, help="keep the measurements here (pickle)")
    parser.add_argument("--load", type=Path, help="report measurements kept by --save")
    args = parser.parse_args()
    methods = args.methods.split(",")
    guard = [float(d) for d in args.guard.split(",") if d]
    if args.load is not None:
        with args.load.open("rb") as handle:
            kept = pickle.load(handle)  # our own file, written by --save
        report(
            kept["probes"],
            kept["enrolments"],
            load_calibrated_policy(threshold=args.threshold),
            kept["model_id"],
            kept["methods"],
            guard,
        )
        return
    torch.set_num_threads(1)
    model_dir = verified_model_dir()
    onnx = OnnxEcapa.load(
        model_dir,
        export_dir=export_dir_for(model_dir, Path.home() / ".cache" / "voiceauth"),
        threads=1,
    )
    pieces = Pieces(model_dir)
    policy = load_calibrated_policy(threshold=args.threshold, model_id=onnx.model_id)
    detector = SileroSpeechDetector()
    now = datetime.now(UTC)
    enrolments: dict[str, Enrollment] = {}
    probes: list[Probe] = []
    probe_s = STEPS * STEP_S
    for path in speakers_of(args.corpus):
        if len(enrolments) == args.speakers:
            break
        samples, rate = sf.read(path, dtype="float32")
        assert rate == RATE
        speech = detector.speech_sync(Audio(samples=samples, sample_rate=RATE))
        if speech.duration < probe_s + 3.0:
            print(f"skip {path.name}: {speech.duration:.1f} s of speech")
            continue
        speaker = path.name.split("-")[0]
        cut = len(speech.samples) - probe_s * RATE
        enrol = speech.samples[:cut]
        line = phone_channel(Audio(samples=enrol, sample_rate=RATE)).samples
        sample = EnrollmentSample(
            embedding=Embedding.from_vector(onnx.embed_batch([enrol])[0], onnx.model_id),
            speech_seconds=cut / RATE,
            phone_band=Embedding.from_vector(onnx.embed_batch([line])[0], onnx.model_id),
        )
        enrolments[speaker] = Enrollment.start(
            user_id=UserId(value=uuid.uuid4()), phone=None, sample=sample, now=now
        )
        clean = np.array(speech.samples[cut:])
        probes.append(Probe(speaker, "clean", clean))
        phone = phone_channel(Audio(samples=clean, sample_rate=RATE)).samples
        probes.append(Probe(speaker, "phone", np.array(phone)))
    enrol_s = [e.speech_seconds for e in enrolments.values()]
    print(
        f"{len(enrolments)} speakers, enrolment speech {min(enrol_s):.1f}-{max(enrol_s):.1f} s "
        f"(median {np.median(enrol_s):.1f}), probes {probe_s} s, {len(probes)} probes"
    )
    started = time.process_time()
    for index, probe in enumerate(probes):
        run_probe(probe, onnx, pieces, methods)
        print(
            f"  probe {index + 1}/{len(probes)} ({time.process_time() - started:.0f} CPU-s)",
            end="\r",
        )
    print()
    if args.save is not None:
        with args.save.open("wb") as handle:
            kept = {"probes": probes, "enrolments": enrolments, "model_id": onnx.model_id}
            pickle.dump({**kept, "methods": methods}, handle)
    report(probes, enrolments, policy, onnx.model_id, methods, guard)


def log_odds(score: Any) -> float:
    return float(logit(min(1.0 - 1e-12, max(1e-12, score.calibrated))))


def guarded(
    policy: Any, enrollment: Enrollment, probe: Probe, method: str, delta: float, model_id: str
) -> tuple[Decision, int, float]:
    """The capture when ``method``'s score only decides when the exact one is not needed.

    A check whose approximate log-odds lie more than ``delta`` inside the band where no early
    decision is taken keeps listening without the exact embedding; any other check, and the
    last, computes the exact embedding and decides on it as ``Verify`` does. Returns the
    decision, the step it was taken at and the CPU seconds spent (approximate state at every
    check, exact embeddings where computed, torch timings).
    """
    point = logit(policy.threshold)
    low, high = point - policy.reject_margin + delta, point + policy.accept_margin - delta
    cpu = 0.0
    for k, vector in enumerate(probe.vectors[method]):
        cpu += probe.cpu[method][k]
        seconds = float(k + 1)
        last = k == len(probe.vectors[method]) - 1
        approx = policy.score(
            enrollment, Embedding.from_vector(vector, model_id), speech_seconds=seconds
        )
        if not last and low < log_odds(approx) < high:
            continue
        if k > 0:  # every method's first check is the exact embedding of the first chunk
            cpu += probe.exact_cpu[k]
        exact = policy.score(
            enrollment, Embedding.from_vector(probe.exact[k], model_id), speech_seconds=seconds
        )
        if last:
            return policy.decide(exact), k + 1, cpu
        early = policy.early_decision(exact, speech_seconds=seconds)
        if early is not None:
            return early, k + 1, cpu
    raise AssertionError("unreachable")


def report(
    probes: list[Probe],
    enrolments: dict[str, Enrollment],
    policy: Any,
    model_id: str,
    methods: list[str],
    deltas_guard: list[float],
) -> None:
    for channel in ("clean", "phone"):
        group = [p for p in probes if p.channel == channel]
        exact_runs = {
            (p.speaker, s): capture(policy, e, p.exact, model_id)
            for p in group
            for s, e in enrolments.items()
        }
        genuine = sum(1 for p in group for s in enrolments if s == p.speaker)
        impostor = len(exact_runs) - genuine
        exact_errors = sum(
            1 for (ps, es), (_, d, _) in exact_runs.items() if (d is Decision.ACCEPT) != (ps == es)
        )
        # CPU until the decision: the checks each trial's exact capture ran.
        by_speaker = {p.speaker: p for p in group}
        until = {
            key: sum(by_speaker[key[0]].exact_cpu[:stop])
            for key, (_, _, stop) in exact_runs.items()
        }
        stops = [stop for (_, _, stop) in exact_runs.values()]
        print(
            f"\n== {channel} probes: {genuine} genuine + {impostor} impostor trials, "
            f"{STEPS} steps each; exact path: {exact_errors} wrong decisions, decided after "
            f"{np.median(stops):.0f} s of speech (median; genuine "
            f"{np.median([st for (a, b), (_, _, st) in exact_runs.items() if a == b]):.0f} s)"
        )
        print(
            "method | cos min / median (steps 2-8) | |d score| median / p99 / max | "
            "|d log-odds| p99 / max | decide() / early_decision() differs / trial-steps | "
            "capture decision differs | its step differs | CPU-s per check | "
            "CPU-s per 8 s capture (ratio) | CPU-s until the exact decision, summed (ratio)"
        )
        exact_capture = float(np.median([sum(p.exact_cpu) for p in group]))
        exact_until = sum(until.values())
        exact_genuine = sum(cpu for (a, b), cpu in until.items() if a == b)
        onnx_until = sum(
            sum(by_speaker[a].onnx_cpu[:st]) for (a, _), (_, _, st) in exact_runs.items()
        )
        print(
            f"exact (onnx, the service) | | | | | | | "
            f"{np.median([c for p in group for c in p.onnx_cpu]):.4f} | "
            f"{np.median([sum(p.onnx_cpu) for p in group]):.3f} | {onnx_until:.1f}"
        )
        print(
            f"exact (torch) | 1 | 0 | 0 | 0 | 0 | 0 | "
            f"{np.median([c for p in group for c in p.exact_cpu]):.4f} | "
            f"{exact_capture:.3f} (1.00) | {exact_until:.1f} (1.00)"
        )
        for method in methods:
            cosines = [
                float(np.dot(v, x))
                for p in group
                for v, x in zip(p.vectors[method][1:], p.exact[1:], strict=True)
            ]
            deltas, odds, flips, early, differs, moved = [], [], 0, 0, 0, 0
            spent, spent_genuine = 0.0, 0.0
            for p in group:
                for s, e in enrolments.items():
                    scores, decision, stop = capture(policy, e, p.vectors[method], model_id)
                    exact_scores, exact_decision, exact_stop = exact_runs[(p.speaker, s)]
                    for k, (a, b) in enumerate(zip(scores, exact_scores, strict=True)):
                        deltas.append(abs(a.calibrated - b.calibrated))
                        odds.append(abs(log_odds(a) - log_odds(b)))
                        flips += policy.decide(a) is not policy.decide(b)
                        seconds = float(k + 1)
                        early += policy.early_decision(
                            a, speech_seconds=seconds
                        ) is not policy.early_decision(b, speech_seconds=seconds)
                    differs += decision is not exact_decision
                    moved += stop != exact_stop
                    cost = sum(p.cpu[method][:exact_stop])
                    spent += cost
                    spent_genuine += cost if s == p.speaker else 0.0
            capture_cpu = float(np.median([sum(p.cpu[method]) for p in group]))
            print(
                f"{method} | {min(cosines):.6f} / {np.median(cosines):.6f} | "
                f"{np.median(deltas):.4f} / {np.percentile(deltas, 99):.4f} / {max(deltas):.4f} | "
                f"{np.percentile(odds, 99):.3f} / {max(odds):.3f} | "
                f"{flips} / {early} / {len(deltas)} | {differs} / {len(exact_runs)} | {moved} | "
                f"{np.median([c for p in group for c in p.cpu[method]]):.4f} | "
                f"{capture_cpu:.3f} ({capture_cpu / exact_capture:.2f}) | "
                f"{spent:.1f} ({spent / exact_until:.2f}; genuine "
                f"{spent_genuine / exact_genuine:.2f})"
            )
        for method in [m for m in methods if m != "features"]:
            for delta in deltas_guard:
                differs, moved, spent = 0, 0, 0.0
                for p in group:
                    for s, e in enrolments.items():
                        decision, stop, cpu = guarded(policy, e, p, method, delta, model_id)
                        _, exact_decision, exact_stop = exact_runs[(p.speaker, s)]
                        differs += decision is not exact_decision
                        moved += stop != exact_stop
                        spent += cpu
                print(
                    f"guarded by {method}, delta {delta:g} log-odds: capture decision differs "
                    f"{differs} / {len(exact_runs)}, stop differs {moved}, CPU-s until the "
                    f"decision {spent:.1f} ({spent / exact_until:.2f})"
                )


if __name__ == "__main__":
    main()
