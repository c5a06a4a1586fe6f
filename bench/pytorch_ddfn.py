#!/usr/bin/env python3
"""PyTorch mirror of the registry's `ddfn` (shared/models/ddfn.ts) for the `training` benchmark.

Same layers and parameter count: per modality a branch of 3x3 'same' conv + ReLU + 2x2 max-pool
per width, global average pooling; concatenation, a sigmoid gate (dense, width -> width)
multiplying the features, dense ReLU head, dropout, one sigmoid unit. Trains with Adam on
binary cross-entropy on random data and prints one JSON line:
{"params": N, "samples_per_s": X, "threads": T, "steps": S, "cpu_samples_per_s": samples per CPU-second
(all threads), "torch": "version", "mkldnn": bool,
"cpu_capability": "AVX2"} (the last two: how PyTorch's CPU convolutions run on this machine).
"""
import argparse
import json
import time

import torch
from torch import nn


class Branch(nn.Module):
    def __init__(self, channels, widths):
        super().__init__()
        layers = []
        c = channels
        for w in widths:
            layers += [nn.Conv2d(c, w, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2, 2)]
            c = w
        self.body = nn.Sequential(*layers)

    def forward(self, x):
        return self.body(x).mean(dim=(2, 3))


class DDFN(nn.Module):
    def __init__(self, modalities, channels, widths, head_units, dropout):
        super().__init__()
        self.branches = nn.ModuleList([Branch(channels, widths) for _ in range(modalities)])
        width = widths[-1] * modalities
        self.gate = nn.Linear(width, width)
        self.hidden = nn.Linear(width, head_units)
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(head_units, 1)

    def forward(self, xs):
        f = torch.cat([b(x) for b, x in zip(self.branches, xs)], dim=1)
        f = f * torch.sigmoid(self.gate(f))
        h = self.dropout(torch.relu(self.hidden(f)))
        return torch.sigmoid(self.out(h))


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--size", type=int, default=128)
    p.add_argument("--channels", type=int, default=1)
    p.add_argument("--modalities", type=int, default=2)
    p.add_argument("--widths", default="8,16,32,48")
    p.add_argument("--head-units", type=int, default=16)
    p.add_argument("--dropout", type=float, default=0.2)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--threads", type=int, default=2)
    p.add_argument("--seconds", type=float, default=8.0)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    torch.manual_seed(0)
    widths = [int(w) for w in a.widths.split(",")]
    model = DDFN(a.modalities, a.channels, widths, a.head_units, a.dropout)
    params = sum(t.numel() for t in model.parameters())
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loss_fn = nn.BCELoss()
    xs = [torch.rand(a.batch, a.channels, a.size, a.size) for _ in range(a.modalities)]
    y = (torch.arange(a.batch) % 2).float().unsqueeze(1)

    def step():
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xs), y)
        loss.backward()
        opt.step()
        return loss.item()

    model.train()
    for _ in range(3):
        step()
    steps = 0
    t0 = time.perf_counter()
    c0 = time.process_time()
    while True:
        step()
        steps += 1
        elapsed = time.perf_counter() - t0
        if steps >= 5 and elapsed >= a.seconds:
            break
    cpu = time.process_time() - c0
    capability = next((line.split(":", 1)[1].strip() for line in torch.__config__.show().splitlines()
                       if "CPU capability usage" in line), "unknown")
    print(json.dumps({"params": params, "samples_per_s": steps * a.batch / elapsed, "threads": a.threads,
                      "steps": steps, "cpu_samples_per_s": steps * a.batch / cpu, "torch": torch.__version__, "mkldnn": torch.backends.mkldnn.is_available(),
                      "cpu_capability": capability}))


if __name__ == "__main__":
    main()
