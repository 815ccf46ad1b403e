"""Which CPUs run the int8 model: x86-64 only with VNNI, read from Linux's cpuinfo flags."""

from __future__ import annotations

import pytest

from voiceauth_adapters.onnx.quantized import int8_supported

pytestmark = pytest.mark.unit

EPYC = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512_vnni avx512_bf16\n"
ALDER_LAKE = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx_vnni\n"
SKYLAKE = "processor\t: 0\nflags\t\t: fpu sse2 avx2 avx512f avx512bw\nbugs\t\t: avx_vnni_x\n"


@pytest.mark.parametrize("cpuinfo", [EPYC, ALDER_LAKE])
def test_x86_with_vnni_runs_it(cpuinfo: str) -> None:
    assert int8_supported("x86_64", cpuinfo)
    assert int8_supported("AMD64", cpuinfo)


def test_x86_without_vnni_is_refused_even_with_avx512() -> None:
    # The flag must be on a "flags" line and whole: "avx_vnni_x" on a bugs line is not VNNI.
    assert not int8_supported("x86_64", SKYLAKE)


def test_other_architectures_and_unreadable_flags_are_not_refused() -> None:
    assert int8_supported("aarch64", "Features\t: fp asimd asimddp\n")
    assert int8_supported("x86_64", None)
