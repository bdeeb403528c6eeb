"""The PT2E probe's verdicts: which inductor calls count as int8/float layers, and the oneDNN verbose census."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

BENCH = Path(__file__).resolve().parents[1] / "bench"


def _load(name: str):
    sys.path.insert(0, str(BENCH))
    try:
        spec = importlib.util.spec_from_file_location(f"bench_{name}", BENCH / f"{name}.py")
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        return module
    finally:
        sys.path.remove(str(BENCH))


CODE = """
buf1 = torch.ops.onednn.qconv_pointwise.tensor(buf0, x_scale, x_zp, w, ws, wz, b, [1, 1], [1, 1], [1, 1], 1)
buf2 = torch.ops.onednn.qconv2d_pointwise.binary_tensor(buf1, s, z, w2, ws2, wz2, buf0, b2, [1, 1])
    # Source Nodes: torch.ops.onednn.qconv_pointwise.tensor( in a comment is not a call
buf3 = torch.ops.mkldnn._convolution_pointwise.default(buf2, w3, None, [1, 1], [1, 1], [1, 1], 1, 'none')
buf4 = torch.ops.mkl._mkl_linear.default(buf3, w4, w5, None, 64)
buf5 = torch.ops.onednn.qlinear_pointwise.tensor(buf4, s, z, w6, ws6, wz6, b6, 1.0, 0, torch.float32)
cpp_fused_quantize_per_tensor_0(arg0, buf0)
"""


def test_kernels_counts_int8_and_float_layer_calls():
    kernels = _load("pt2e_probe").kernels
    counts = kernels(CODE)
    assert counts["int8_calls"] == 3  # the comment line is not counted
    assert counts["float_calls"] == 2
    assert counts["qconv_pointwise"] == 1 and counts["qconv2d_pointwise"] == 1 and counts["qlinear_pointwise"] == 1
    assert counts["torch.ops.mkl._mkl_linear.default"] == 1
    assert kernels("buf = cpp_fused_relu_1(buf0)")["int8_calls"] == 0  # generated loops are no library calls


def _exec(impl: str, src: str, wei: str, desc: str, ms: float) -> str:
    """One oneDNN v3 verbose line of an executed convolution primitive."""
    return (f"onednn_verbose,v1,primitive,exec,cpu,convolution,{impl},forward_inference,"
            f"src:{src}::blocked:acdb::f0 wei:{wei}:a:blocked:Abcde8a::f0 dst:{src}::blocked:acdb::f0,"
            f"attr-scales:src0:0+wei:1,alg:convolution_direct,{desc},{ms}")


DEPTHWISE = "mb64_g96ic96oc96_ih8oh8kh3sh1dh0ph1_iw8ow8kw3sw1dw0pw1"
VERBOSE = "\n".join([
    "@@ compiled pass_ms 12.5",
    "@@ pt2e_int8 pass_ms 9.0",
    "@@ compiled",
    _exec("brgconv_1x1:avx2", "f32", "f32", "mb64_ic16oc96_ih8oh8kh1sh1dh0ph0_iw8ow8kw1sw1dw0pw0", 0.5),
    _exec("brdgmm_dw:avx2", "f32", "f32", DEPTHWISE, 0.25),
    "@@ pt2e_int8",
    _exec("jit_uni_int8:avx2", "u8", "s8", DEPTHWISE, 0.3),
    "onednn_verbose,v1,primitive,create:cache_hit,cpu,convolution,jit_uni_int8:avx2,forward_inference,src:u8,0.01",
])


def test_onednn_census_splits_runtimes_kinds_and_dtypes():
    census = _load("pt2e_onednn").parse(VERBOSE, calls=1)
    assert census["compiled"][("conv 1x1", "src:f32 wei:f32 dst:f32", "brgconv_1x1:avx2")] == [1.0, 0.5]
    assert census["compiled"][("conv depthwise", "src:f32 wei:f32 dst:f32", "brdgmm_dw:avx2")] == [1.0, 0.25]
    int8 = census["pt2e_int8"]
    assert int8[("conv depthwise", "src:u8 wei:s8 dst:u8", "jit_uni_int8:avx2")] == [1.0, 0.3]
    assert len(int8) == 2  # the depthwise exec + the whole-pass time; "create" lines are not executions
    assert int8[("whole pass (no verbose)", "", "")] == [1.0, 9.0]
