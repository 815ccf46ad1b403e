"""Find secrets and personal data in log lines: phone numbers, keys, URLs, voiceprints.

A :class:`LeakScanner` is told what must never be written (:meth:`~LeakScanner.secret`,
:meth:`~LeakScanner.phone`, :meth:`~LeakScanner.blob`, :meth:`~LeakScanner.embedding`) and
returns every line that holds one, each occurrence replaced by ``<kind>``, so a failing test never
prints the secret it caught. It also flags any long run of floats, the shape of a logged
embedding, whatever its values. JSON lines are read twice: raw, and with their strings decoded
(a ``\\u002b`` or ``\\/`` escape hides nothing).
"""

from __future__ import annotations

import base64
import json
import re
import urllib.parse
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field

__all__ = ["Finding", "LeakScanner"]

# What people and libraries put between a phone number's digits.
_PHONE_SEPARATORS = r"[\s\-.()/]*"
# A float as Python, numpy or JSON writes one (``np.float32(0.12)`` too).
_NUMBER = r"(?:np\.)?(?:float(?:16|32|64)\()?[-+]?(?:\d+\.\d*|\.\d+)(?:[eE][-+]?\d+)?"
_FLOAT = re.compile(r"(?<![\w.])[-+]?(\d*)\.(\d+)(?:[eE]([-+]?\d+))?(?![\w.])")
_MATCHED_VALUES = 4  # this many of a voiceprint's values in one line is no coincidence
_MIN_DIGITS = 5  # each written with at least this many significant digits


@dataclass(frozen=True, slots=True)
class Finding:
    """A line that leaks: its number (from 1), what it leaks, and the line with that redacted."""

    line_number: int
    kinds: tuple[str, ...]
    redacted: str

    def __str__(self) -> str:
        return f"line {self.line_number} leaks {', '.join(self.kinds)}: {self.redacted[:600]}"


@dataclass(slots=True)
class LeakScanner:
    """What must never appear in a log, and the search for it.

    Args:
        float_run: Flag this many floats in a row, separated only by list punctuation (numpy
            prints six of an embedding's values to a line).
    """

    float_run: int = 6
    _patterns: list[tuple[str, re.Pattern[str]]] = field(default_factory=list, init=False)
    _vectors: list[tuple[str, Sequence[float]]] = field(default_factory=list, init=False)
    _run: re.Pattern[str] = field(init=False)

    def __post_init__(self) -> None:
        self._run = re.compile(rf"{_NUMBER}(?:[\s,;\[\]()]+{_NUMBER}){{{self.float_run - 1},}}")

    def secret(self, kind: str, value: str) -> None:
        """Never ``value`` (in any case), nor its URL-encoded forms."""
        if len(value) < 6:
            raise ValueError(f"{kind}: a secret this short would match by chance")
        quote = urllib.parse.quote
        forms = {value, quote(value), quote(value, safe=""), urllib.parse.quote_plus(value)}
        alternatives = "|".join(re.escape(form) for form in sorted(forms, key=len, reverse=True))
        self._patterns.append((kind, re.compile(alternatives, re.IGNORECASE)))

    def phone(self, e164: str) -> None:
        """Never the number in any form: E.164, digits only, national, with separators."""
        digits = re.sub(r"\D", "", e164)
        # The last ten digits (the whole national number in most plans) identify the line; the
        # country code before them may or may not be written.
        country, national = digits[:-10], digits[-10:]
        prefix = rf"(?:\+?{_spaced(country)}{_PHONE_SEPARATORS})?" if country else ""
        pattern = rf"(?<!\d){prefix}{_spaced(national)}(?!\d)"
        self._patterns.append(("phone number", re.compile(pattern)))

    def blob(self, kind: str, data: bytes) -> None:
        """Never ``data``'s leading bytes as hex or base64 (a stored column dumped raw)."""
        head = data[:18]
        self._patterns.append((kind, re.compile(re.escape(head.hex()), re.IGNORECASE)))
        self._patterns.append((kind, re.compile(re.escape(base64.b64encode(head).decode()))))

    def embedding(self, kind: str, values: Sequence[float]) -> None:
        """Never four of ``values`` in one line, each written with five significant digits."""
        self._vectors.append((kind, list(values)))

    def scan(self, lines: Iterable[str]) -> list[Finding]:
        """Every line that leaks something."""
        found = (self.check(number, line) for number, line in enumerate(lines, start=1))
        return [finding for finding in found if finding is not None]

    def check(self, number: int, line: str) -> Finding | None:
        """The finding for one line, or None when it is clean."""
        kinds, redacted = self._search(line)
        decoded = _decoded(line)
        if decoded is not None:
            hidden = [kind for kind in self._search(decoded)[0] if kind not in kinds]
            if hidden:
                # Escaped in the raw line: nothing there to replace, so show none of it.
                kinds.extend(hidden)
                redacted = "<line withheld: the leak is escaped in it>"
        if not kinds:
            return None
        return Finding(number, tuple(dict.fromkeys(kinds)), redacted)

    def _search(self, text: str) -> tuple[list[str], str]:
        kinds: list[str] = []
        redacted = text
        for kind, pattern in self._patterns:
            if pattern.search(text):
                kinds.append(kind)
                redacted = pattern.sub(f"<{kind}>", redacted)
        for kind in self._vectors_in(text):
            kinds.append(kind)
            redacted = _FLOAT.sub("<float>", redacted)
        if self._run.search(text):
            kinds.append(f"a run of {self.float_run}+ floats (an embedding?)")
            redacted = self._run.sub("<floats>", redacted)
        return kinds, redacted

    def _vectors_in(self, text: str) -> Iterator[str]:
        precise = [written for written in map(_written, _FLOAT.finditer(text)) if written]
        if len(precise) < _MATCHED_VALUES:
            return
        for kind, values in self._vectors:
            matched: set[int] = set()
            for shown, tolerance in precise:
                for index, value in enumerate(values):
                    if index not in matched and abs(value - shown) <= tolerance:
                        matched.add(index)
                        break
            if len(matched) >= _MATCHED_VALUES:
                yield kind


def _written(match: re.Match[str]) -> tuple[float, float] | None:
    """A float as written and half its last digit's unit; None when it has too few digits."""
    whole, decimals, exponent = match.group(1), match.group(2), match.group(3)
    if len((whole + decimals).lstrip("0")) < _MIN_DIGITS:
        return None
    return float(match.group()), 0.51 * 10.0 ** (int(exponent or 0) - len(decimals))


def _spaced(digits: str) -> str:
    return _PHONE_SEPARATORS.join(re.escape(digit) for digit in digits)


def _decoded(line: str) -> str | None:
    """A JSON line's keys and values, unescaped, joined by spaces; None for other lines."""
    try:
        parsed = json.loads(line)
    except ValueError:
        return None
    return " ".join(_strings(parsed))


def _strings(value: object) -> Iterator[str]:
    if isinstance(value, dict):
        for key, item in value.items():
            yield str(key)
            yield from _strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from _strings(item)
    else:
        yield str(value)
