"""A plain-PyTorch reference loop: what a user would write instead of a grokscope cohort.

The recipe of danielmamay/grokking at its defaults (Power et al. 2022's setting): x / y mod 97
(y != 0), 50% train, batches of 512, a 2-layer decoder (d_model 128, 4 heads, LayerNorm,
4 tokens `x op y =`), AdamW lr 1e-3, weight decay 1, betas (0.9, 0.98), 10 warm-up steps.
Written the way the field's repositories write it: one `nn.Module`, `torch.optim.AdamW`, a
Python loop, evaluation of the whole validation set every `--eval-every` steps, nothing
vectorized across seeds. Every throughput number of grokscope can be read beside this one,
measured on the same machine in the same run.

It also measures the machine's achievable fp32 GEMM rate (a large square matmul, same
threads) and each step's FLOPs (torch's FLOP counter), and prints the achieved share.

    python benchmarks/reference_loop.py                 # 300 timed steps, median of 3
    python benchmarks/reference_loop.py --to-accuracy 0.99 --max-steps 20000
    python benchmarks/reference_loop.py --quick         # tiny: checks the script runs
"""

from __future__ import annotations

import argparse
import json
import statistics
import time

import torch
from torch import nn
from torch.utils.flop_counter import FlopCounterMode


class Decoder(nn.Module):
    """Token + position embeddings, pre-norm causal blocks, LayerNorm, a linear read-out."""

    def __init__(self, vocab: int, n_classes: int, d_model: int, n_heads: int, n_layers: int,
                 n_tokens: int) -> None:
        super().__init__()
        self.tok = nn.Embedding(vocab, d_model)
        self.pos = nn.Embedding(n_tokens, d_model)
        layer = nn.TransformerEncoderLayer(d_model, n_heads, 4 * d_model, dropout=0.0,
                                           batch_first=True, norm_first=True)
        self.blocks = nn.TransformerEncoder(layer, n_layers, enable_nested_tensor=False)
        self.norm = nn.LayerNorm(d_model)
        self.out = nn.Linear(d_model, n_classes)
        self.register_buffer("mask", nn.Transformer.generate_square_subsequent_mask(n_tokens))

    def forward(self, tokens: torch.Tensor) -> torch.Tensor:
        x = self.tok(tokens) + self.pos(torch.arange(tokens.shape[1], device=tokens.device))
        x = self.blocks(x, mask=self.mask, is_causal=True)
        return self.out(self.norm(x[:, -1]))


def division_data(p: int, fraction: float, seed: int, device: torch.device
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
    """All `x op y =` with y != 0, label x * y^-1 mod p; a random train/validation split."""
    x, y = torch.cartesian_prod(torch.arange(p), torch.arange(1, p)).T
    inverse = torch.tensor([pow(int(v), p - 2, p) for v in range(p)])
    labels = (x * inverse[y]) % p
    tokens = torch.stack([x, torch.full_like(x, p), y, torch.full_like(x, p + 1)], dim=1)
    order = torch.randperm(len(labels), generator=torch.Generator().manual_seed(seed))
    cut = int(fraction * len(labels))
    train, val = order[:cut], order[cut:]
    return (tokens[train].to(device), labels[train].to(device), tokens[val].to(device),
            labels[val].to(device))


def gemm_rate(device: torch.device, n: int = 2048, repeats: int = 5) -> float:
    """Achievable fp32 FLOP/s: the median time of an n x n x n matmul (2 n^3 FLOPs)."""
    a, b = torch.randn(n, n, device=device), torch.randn(n, n, device=device)
    a @ b
    times = []
    for _ in range(repeats):
        _sync(device)
        start = time.perf_counter()
        a @ b
        _sync(device)
        times.append(time.perf_counter() - start)
    return 2 * n**3 / statistics.median(times)


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize()


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--p", type=int, default=97)
    parser.add_argument("--fraction", type=float, default=0.5)
    parser.add_argument("--batch-size", type=int, default=512)
    parser.add_argument("--d-model", type=int, default=128)
    parser.add_argument("--layers", type=int, default=2)
    parser.add_argument("--eval-every", type=int, default=10)
    parser.add_argument("--steps", type=int, default=300, help="timed steps per repeat")
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--to-accuracy", type=float, default=None,
                        help="instead: train until validation accuracy reaches this")
    parser.add_argument("--max-steps", type=int, default=100_000)
    parser.add_argument("--device", default="cuda" if torch.cuda.is_available() else "cpu")
    parser.add_argument("--json", default=None, help="also write the results here")
    parser.add_argument("--eval-train", action="store_true",
                        help="also evaluate the whole train set (as a grokscope log does)")
    parser.add_argument("--quick", action="store_true", help="tiny sizes: checks it runs")
    args = parser.parse_args()
    if args.quick:
        args.p, args.d_model, args.steps, args.repeats, args.batch_size = 11, 32, 20, 1, 32
    device = torch.device(args.device)
    torch.manual_seed(args.seed)
    x_train, y_train, x_val, y_val = division_data(args.p, args.fraction, args.seed, device)
    model = Decoder(args.p + 2, args.p, args.d_model, 4, args.layers, 4).to(device)
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-3, weight_decay=1.0,
                                  betas=(0.9, 0.98))
    schedule = torch.optim.lr_scheduler.LambdaLR(optimizer, lambda s: min(1.0, (s + 1) / 10))
    generator = torch.Generator(device=device).manual_seed(args.seed)

    def train_step() -> None:
        rows = torch.randint(len(y_train), (args.batch_size,), device=device,
                             generator=generator)
        loss = nn.functional.cross_entropy(model(x_train[rows]), y_train[rows])
        optimizer.zero_grad(set_to_none=True)
        loss.backward()
        optimizer.step()
        schedule.step()

    @torch.no_grad()
    def val_accuracy() -> float:
        if args.eval_train:  # train accuracy over the whole train set, not the last batch
            float((model(x_train).argmax(-1) == y_train).float().mean())
        return float((model(x_val).argmax(-1) == y_val).float().mean())

    with FlopCounterMode(display=False) as counter:
        train_step()
    flops_step = counter.get_total_flops()
    with FlopCounterMode(display=False) as counter:
        val_accuracy()
    flops_eval = counter.get_total_flops()
    flops = flops_step + flops_eval / args.eval_every  # per step, evaluation amortized
    peak = gemm_rate(device)
    result = {"device": str(device), "threads": torch.get_num_threads(),
              "torch": torch.__version__, "p": args.p, "batch_size": args.batch_size,
              "d_model": args.d_model, "layers": args.layers, "eval_every": args.eval_every,
              "eval_train": args.eval_train,
              "flops_per_step": flops, "gemm_flops_per_s": peak}
    if args.to_accuracy is not None:
        _sync(device)
        start, step, accuracy = time.perf_counter(), 0, 0.0
        while step < args.max_steps:
            train_step()
            step += 1
            if step % args.eval_every == 0:
                accuracy = val_accuracy()
                if accuracy >= args.to_accuracy:
                    break
        _sync(device)
        result.update(steps_to_accuracy=step, reached=accuracy >= args.to_accuracy,
                      seconds_to_accuracy=time.perf_counter() - start)
    else:
        times = []
        for _ in range(args.repeats):
            _sync(device)
            start = time.perf_counter()
            for step in range(1, args.steps + 1):
                train_step()
                if step % args.eval_every == 0:
                    val_accuracy()
            _sync(device)
            times.append((time.perf_counter() - start) / args.steps)
        seconds = statistics.median(times)
        result.update(seconds_per_step=seconds, steps_per_s=1 / seconds,
                      gemm_share=flops / seconds / peak)
    print(f"device: {device}, {torch.get_num_threads()} threads, torch {torch.__version__}; "
          f"x/y mod {args.p}, {args.fraction:.0%} train, batch {args.batch_size}, "
          f"{args.layers}-layer d{args.d_model}, evaluation of the "
          f"{'train and validation sets' if args.eval_train else 'validation set'} every "
          f"{args.eval_every} steps")
    print(f"FLOPs per step (evaluation amortized): {flops / 1e9:.3f} GFLOP; "
          f"fp32 GEMM rate of this machine: {peak / 1e9:.1f} GFLOP/s")
    if "steps_per_s" in result:
        print(f"reference loop: {result['seconds_per_step'] * 1e3:.2f} ms/step, "
              f"{result['steps_per_s']:.1f} steps/s (median of {args.repeats} repeats of "
              f"{args.steps} steps), {result['gemm_share']:.1%} of the GEMM rate")
    else:
        print(f"reference loop: validation {'reached' if result['reached'] else 'did not reach'}"
              f" {args.to_accuracy} at step {result['steps_to_accuracy']} in "
              f"{result['seconds_to_accuracy']:.1f} s")
    if args.json:
        with open(args.json, "w") as handle:
            json.dump(result, handle, indent=2)


if __name__ == "__main__":
    main()
