"""Which oneDNN kernels the compiled float and PT2E int8 models execute, and how long each takes (docs/pt2e.md).

Runs one (model, seed) of ``bench/pt2e_probe.py`` (same weights, same PT2E flow), compiles the float model and
the int8 one with inductor (freezing), then executes ``--calls`` forward passes of each at ``--batch`` under
``ONEDNN_VERBOSE=profile_exec``: oneDNN prints one line per executed primitive with its implementation
(e.g. ``brg_conv_fwd:avx2``), data types (``src:u8`` ... ``wei:s8``) and time. The table sums them per kind
of convolution (depthwise = groups == channels, 1x1, other), data type and implementation.

    OMP_NUM_THREADS=1 python bench/pt2e_onednn.py --model mobilenetv2 --seed 0 --batch 64
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # run from a checkout without installing
sys.path.insert(0, str(Path(__file__).resolve().parent))

MARK = "@@ "  # printed before each phase so the verbose lines can be attributed to a runtime


def child(args) -> None:
    """Build, compile, warm up, then run ``args.calls`` passes per runtime with oneDNN verbose on."""
    import warnings

    import torch
    import torch._inductor.config as inductor_config
    from compress import MODELS
    from pt2e_probe import pt2e_int8

    from archfit.compress.spec import build_model, fill_args
    from archfit.io import load_tensors
    from archfit.quantize.ptq import calibration_inputs

    warnings.filterwarnings("ignore")
    torch.set_num_threads(1)
    inductor_config.freezing = True
    spec, margs = MODELS[args.model]
    net = build_model(spec, fill_args(spec, margs, (1, args.image_size, args.image_size), 10)).eval()
    net.load_state_dict(load_tensors(args.work / f"{args.model}-s{args.seed}" / "original.safetensors"))
    if args.calibration_random:
        calib = torch.randn(512, 1, args.image_size, args.image_size)
    else:
        from compress import load

        data = load(argparse.Namespace(image_size=args.image_size, train_subset=3000))
        calib = torch.from_numpy(calibration_inputs(data.train, 512, args.seed))
    x = torch.randn(args.batch, 1, args.image_size, args.image_size)
    fns = {"compiled": torch.compile(net, dynamic=False),
           "pt2e_int8": torch.compile(pt2e_int8(net, calib, torch.zeros(64, *x.shape[1:])), dynamic=False)}
    with torch.no_grad():
        for name, fn in fns.items():
            for _ in range(3):
                fn(x)
            start = time.thread_time()
            for _ in range(args.calls * 4):
                fn(x)
            print(f"{MARK}{name} pass_ms {(time.thread_time() - start) / (args.calls * 4) * 1e3:.4f}", flush=True)
        for name, fn in fns.items():
            print(MARK + name, flush=True)
            with torch.backends.mkldnn.verbose(torch.backends.mkldnn.VERBOSE_ON):
                for _ in range(args.calls):
                    fn(x)
            sys.stdout.flush()


def parse(text: str, calls: int) -> dict[str, dict[tuple[str, str, str], list[float]]]:
    """runtime -> (conv kind, src/wei dtypes, implementation) -> [count per pass, ms per pass]."""
    out: dict[str, dict] = defaultdict(lambda: defaultdict(lambda: [0.0, 0.0]))
    runtime = None
    for line in text.splitlines():
        if line.startswith(MARK):
            runtime, *rest = line[len(MARK):].split()
            if rest:  # "<runtime> pass_ms <ms>": whole forward pass without verbose, CPU clock
                out[runtime][("whole pass (no verbose)", "", "")] = [1.0, float(rest[1])]
                runtime = None
            continue
        if runtime is None or not line.startswith("onednn_verbose") or ",exec," not in line:
            continue
        fields = line.split(",")
        kind, impl = fields[fields.index("exec") + 2], fields[fields.index("exec") + 3]
        found: dict[str, str] = {}
        for m in re.finditer(r"\b(src|wei|dst)[:_](\w+?):", line):  # memory descriptors come before attributes
            found.setdefault(m.group(1), m.group(2))
        dtypes = " ".join(f"{k}:{v}" for k, v in found.items())
        desc = next((f for f in fields if re.search(r"(mb\d+_)?(g\d+)?ic\d+", f)), "")
        groups = re.search(r"g(\d+)", desc)
        kh = re.search(r"kh(\d+)", desc)
        if kind == "convolution":
            if groups and int(groups.group(1)) > 1:
                kind = "conv depthwise"
            elif kh and kh.group(1) == "1":
                kind = "conv 1x1"
            else:
                kind = "conv kxk"
        entry = out[runtime][(kind, dtypes, impl)]
        entry[0] += 1 / calls
        entry[1] += float(fields[-1]) / calls
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--model", default="mobilenetv2")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--calls", type=int, default=5)
    parser.add_argument("--image-size", type=int, default=16)
    parser.add_argument("--work", type=Path, default=Path("/work/scratch/compress_work"))
    parser.add_argument("--calibration-random", action="store_true", help="calibrate on noise (no data needed)")
    parser.add_argument("--child", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args)
        return
    env = dict(os.environ, ONEDNN_VERBOSE="profile_exec", OMP_NUM_THREADS="1")
    text = subprocess.run([sys.executable, __file__, "--child", *sys.argv[1:]], env=env, stdout=subprocess.PIPE,
                          text=True, check=True).stdout
    table = parse(text, args.calls)
    print(f"{args.model} seed {args.seed}, batch {args.batch}, oneDNN primitives per forward pass (mean of "
          f"{args.calls}; oneDNN's own ms per primitive):\n")
    print("| runtime | primitive | dtypes | implementation | calls | ms |\n|---|---|---|---|---|---|")
    for runtime, rows in table.items():
        whole = rows.pop(("whole pass (no verbose)", "", ""), None)
        for (kind, dtypes, impl), (count, ms) in sorted(rows.items(), key=lambda kv: -kv[1][1]):
            print(f"| {runtime} | {kind} | {dtypes} | {impl} | {count:.0f} | {ms:.3f} |")
        print(f"| {runtime} | **oneDNN total** | | | {sum(c for c, _ in rows.values()):.0f} | "
              f"{sum(ms for _, ms in rows.values()):.3f} |")
        if whole:
            print(f"| {runtime} | **whole forward pass** (CPU clock, verbose off) | | | | {whole[1]:.3f} |")


if __name__ == "__main__":
    main()
