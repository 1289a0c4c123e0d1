"""Reference for build/bench/train_throughput: the same work in PyTorch from Python.

Same LibTorch version (Debian's python3-torch 1.13.1), same ResNet-18 (1-channel stem, 2
classes), same batch, threads and pipeline: decode the 1024x1024 PNGs (Pillow), resize to 224
(area average), random resized crop + small rotation + brightness/contrast jitter, standardise,
prepared one batch ahead by a DataLoader worker, then forward, backward, SGD step.

    apt-get install python3-torch python3-pil
    python3 bench/reference/train_throughput.py --manifest ../shared/data/nih-chestxray8-pneumonia-subset/labels.csv

The last line is one JSON object.
"""
import argparse
import csv
import json
import math
import os
import random
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F
from PIL import Image


class BasicBlock(nn.Module):
    def __init__(self, cin, cout, stride):
        super().__init__()
        self.conv1 = nn.Conv2d(cin, cout, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(cout)
        self.conv2 = nn.Conv2d(cout, cout, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(cout)
        self.downsample = None
        if stride != 1 or cin != cout:
            self.downsample = nn.Sequential(nn.Conv2d(cin, cout, 1, stride, bias=False), nn.BatchNorm2d(cout))

    def forward(self, x):
        y = F.relu(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return F.relu(y + (self.downsample(x) if self.downsample is not None else x))


class ResNet18(nn.Module):
    def __init__(self, classes=2):
        super().__init__()
        self.conv1 = nn.Conv2d(1, 64, 7, 2, 3, bias=False)
        self.bn1 = nn.BatchNorm2d(64)
        layers, cin = [], 64
        for width in (64, 128, 256, 512):
            stride = 1 if width == 64 else 2
            layers += [BasicBlock(cin, width, stride), BasicBlock(width, width, 1)]
            cin = width
        self.layers = nn.Sequential(*layers)
        self.fc = nn.Linear(512, classes)

    def forward(self, x):
        x = F.max_pool2d(F.relu(self.bn1(self.conv1(x))), 3, 2, 1)
        x = self.layers(x)
        return self.fc(torch.flatten(F.adaptive_avg_pool2d(x, 1), 1))


def augment(img, size, rng):
    """Random resized crop (75-100% area), rotation up to 7 degrees, intensity jitter."""
    area = 0.75 + 0.25 * rng.random()
    lo, hi = math.log(max(0.75, area)), math.log(min(4 / 3, 1 / area))
    aspect = math.exp(lo + (hi - lo) * rng.random())
    cw, ch = math.sqrt(area * aspect), math.sqrt(area / aspect)
    cx, cy = (1 - cw) * rng.random() + cw / 2, (1 - ch) * rng.random() + ch / 2
    angle = math.radians((2 * rng.random() - 1) * 7)
    c, s = math.cos(angle), math.sin(angle)
    # PIL's affine maps output (x, y) to input; same geometry as the C++ pipeline.
    a, b = c * cw, -s * ch
    d, e = s * cw, c * ch
    cx_px, cy_px = cx * size, cy * size
    coeffs = (a, b, cx_px - a * size / 2 - b * size / 2, d, e, cy_px - d * size / 2 - e * size / 2)
    out = np.asarray(img.transform((size, size), Image.AFFINE, coeffs, resample=Image.BILINEAR),
                     dtype=np.float32) / 255.0
    mean = out.mean()
    out = (out - mean) * (1 + (2 * rng.random() - 1) * 0.15) + mean + (2 * rng.random() - 1) * 0.1
    return (out - out.mean()) / max(out.std(), 1e-3)


class Radiographs(torch.utils.data.Dataset):
    def __init__(self, rows, size):
        self.rows, self.size = rows, size

    def __len__(self):
        return len(self.rows)

    def __getitem__(self, i):
        path, label = self.rows[i]
        img = Image.open(path).convert("L").resize((self.size, self.size), Image.BOX)
        x = augment(img, self.size, random.Random(i))
        return torch.from_numpy(np.ascontiguousarray(x)).unsqueeze(0), label


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--manifest", default="../shared/data/nih-chestxray8-pneumonia-subset/labels.csv")
    p.add_argument("--image-size", type=int, default=224)
    p.add_argument("--batch", type=int, default=16)
    p.add_argument("--batches", type=int, default=8)
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args()
    torch.set_num_threads(a.threads)
    base = os.path.dirname(a.manifest)
    with open(a.manifest) as f:
        rows = [(os.path.join(base, r["filename"]), int(r["label_id"])) for r in csv.DictReader(f)]
    data = Radiographs(rows, a.image_size)
    model = ResNet18(2).train()
    opt = torch.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)

    def step(x, y):
        opt.zero_grad()
        F.cross_entropy(model(x), y).backward()
        opt.step()

    t = time.perf_counter()
    warm = torch.utils.data.default_collate([data[i] for i in range(a.batch)])
    prepare_s = time.perf_counter() - t
    t = time.perf_counter()
    step(*warm)
    step(*warm)
    compute_s = (time.perf_counter() - t) / 2

    loader = torch.utils.data.DataLoader(data, batch_size=a.batch, shuffle=False, num_workers=1,
                                         prefetch_factor=1, persistent_workers=False)
    it = iter(loader)
    t = time.perf_counter()
    for _ in range(a.batches):
        x, y = next(it)
        step(x, y)
    total = time.perf_counter() - t
    ips = a.batch * a.batches / total
    print(f"resnet18 {a.image_size}px batch {a.batch}: {ips:.2f} images/s with the full pipeline; per batch: "
          f"decode+resize+augment {prepare_s:.3f} s (1 process), forward+backward+step {compute_s:.3f} s "
          f"({a.threads} threads)")
    print(json.dumps({"bench": "train_throughput", "implementation": "PyTorch from Python",
                      "model": "resnet18", "image_size": a.image_size, "batch": a.batch,
                      "images_per_s": ips, "prepare_batch_s": prepare_s, "compute_batch_s": compute_s,
                      "torch": torch.__version__}))


if __name__ == "__main__":
    main()
