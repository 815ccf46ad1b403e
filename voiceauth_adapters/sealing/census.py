"""How a store's voiceprints are kept (in the clear, or sealed under which keys), and resealing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from voiceauth_core.errors import TemplateProtectionError

if TYPE_CHECKING:
    from voiceauth_adapters.sealing.cipher import TemplateCipher

__all__ = ["ResealProgress", "TemplateCensus"]


@dataclass(frozen=True, slots=True, kw_only=True)
class TemplateCensus:
    """Counts of rows by how their vectors are stored (``users``, and with :meth:`plus` the
    watchlist entries and the attempts' probes).

    Args:
        clear: Rows holding a vector in the clear (a float array or float64 blob).
        sealed: Rows holding a sealed vector, by the hex id of the key that sealed it.
    """

    clear: int
    sealed: Mapping[str, int] = field(default_factory=dict)

    @classmethod
    def from_columns(cls, *, clear: int, by_column: Sequence[Mapping[str, int]]) -> TemplateCensus:
        """The census from each sealed column's rows per key (what the stores' indexes count).

        A row's vectors are sealed together, under one key, in one transaction, so each column
        counts the same rows (``phone_band_sum`` only those that have one); where they differ,
        the larger count is kept. Every key found in any column is listed, so
        :meth:`require_readable` refuses exactly as if every row had been read.
        """
        sealed: dict[str, int] = {}
        for counts in by_column:
            for key_id, count in counts.items():
                sealed[key_id] = max(sealed.get(key_id, 0), count)
        return cls(clear=clear, sealed=sealed)

    def plus(self, other: TemplateCensus) -> TemplateCensus:
        """This census and another table's together: rows counted in either, summed."""
        sealed = dict(self.sealed)
        for key_id, count in other.sealed.items():
            sealed[key_id] = sealed.get(key_id, 0) + count
        return TemplateCensus(clear=self.clear + other.clear, sealed=sealed)

    def require_readable(self, cipher: TemplateCipher | None) -> None:
        """Refuse to serve a store whose sealed voiceprints this configuration cannot open.

        Raises:
            TemplateProtectionError: Rows are sealed and no key is configured, or sealed under a
                key the configured keyring does not hold.
        """
        if not self.sealed:
            return
        rows = sum(self.sealed.values())
        if cipher is None:
            raise TemplateProtectionError(
                f"{rows} stored voiceprint(s) are encrypted but VOICEAUTH_TEMPLATE_KEY is not "
                f"set: set it to the key they were encrypted with (key id "
                f"{', '.join(sorted(self.sealed))})"
            )
        held = {key_id.hex() for key_id in cipher.key_ids}
        missing = sorted(set(self.sealed) - held)
        if missing:
            count = sum(self.sealed[key_id] for key_id in missing)
            raise TemplateProtectionError(
                f"{count} stored voiceprint(s) were encrypted with template key "
                f"{', '.join(missing)}, which VOICEAUTH_TEMPLATE_KEY does not hold: add it "
                "after the current key"
            )


@dataclass(frozen=True, slots=True, kw_only=True)
class ResealProgress:
    """Where a reseal (``voiceauth db rotate-key``) stands, after each committed batch.

    Args:
        total: Rows that needed resealing when it started.
        done: Rows resealed so far.
        from_clear: Of those, rows whose vectors were in the clear.
        from_older_keys: Of those, rows sealed under an older key.
    """

    total: int
    done: int = 0
    from_clear: int = 0
    from_older_keys: int = 0

    def after_batch(self, *, done: int, from_clear: int) -> ResealProgress:
        """The progress once a batch of ``done`` rows, ``from_clear`` of them clear, committed."""
        return replace(
            self,
            done=self.done + done,
            from_clear=self.from_clear + from_clear,
            from_older_keys=self.from_older_keys + done - from_clear,
        )
