"""Time the batched trainer against training the seeds one at a time.

Usage::

    python tools/benchmark_ensemble.py                  # k = 28, 50 ReLU units, 5 seeds, 500 epochs
    python tools/benchmark_ensemble.py --hidden 50 50   # two hidden layers
    python tools/benchmark_ensemble.py --epochs 200 --seeds 10 --threads 2

Both trainers follow the case study's protocol (chapter 9) on the real data: lag features
of the daily US COVID-19 cases, fitting and validation examples with target days before
Day 800, standardised with the fitting statistics, mini-batches of 128, SGD with learning
rate 0.001 on the mean absolute error. Patience is set larger than the number of epochs,
so every seed trains for exactly ``--epochs`` epochs and both trainers do the same work.
The reference is :func:`lr2dnn.ensemble.train_reference` (``nn.Linear`` layers, autograd,
``torch.optim.SGD``) called once per seed; the batched trainer is
:func:`lr2dnn.ensemble.train_ensemble` called once for all seeds. Each is timed
``--repeat`` times and the best time is kept.
"""

from __future__ import annotations

import argparse
import os
import platform
import time

import numpy as np
import torch

from lr2dnn.data import load_covid_cases
from lr2dnn.ensemble import train_ensemble, train_reference
from lr2dnn.timeseries import lagged_split


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--k", type=int, default=28, help="number of lags (features)")
    parser.add_argument("--hidden", type=int, nargs="*", default=[50], help="hidden widths")
    parser.add_argument("--activation", default="relu", choices=["relu", "sigmoid"])
    parser.add_argument("--seeds", type=int, default=5, help="number of seeds (0, 1, ...)")
    parser.add_argument("--epochs", type=int, default=500, help="epochs per seed")
    parser.add_argument("--threads", type=int, default=1, help="torch.set_num_threads")
    parser.add_argument("--repeat", type=int, default=1, help="timings of each; best is kept")
    args = parser.parse_args(argv)

    torch.set_num_threads(args.threads)
    split = lagged_split(load_covid_cases()["new_cases"].to_numpy(), args.k)
    data = (
        split.scale_X(split.X_fit), split.scale_y(split.y_fit),
        split.scale_X(split.X_val), split.scale_y(split.y_val),
    )
    seeds = list(range(args.seeds))
    protocol = dict(
        hidden=tuple(args.hidden), activation=args.activation, eta=0.001, batch_size=128,
        max_epochs=args.epochs, patience=args.epochs + 1, dtype=torch.float32,
    )

    def one_at_a_time():
        return [train_reference(*data, seed=seed, **protocol)[0] for seed in seeds]

    def batched():
        return train_ensemble(*data, seeds=seeds, **protocol).runs

    def best_time(function):
        times, result = [], None
        for _ in range(max(1, args.repeat)):
            start = time.perf_counter()
            result = function()
            times.append(time.perf_counter() - start)
        return min(times), result

    load = os.getloadavg()[0] if hasattr(os, "getloadavg") else float("nan")
    print(f"{platform.processor() or platform.machine()}, {os.cpu_count()} CPUs, "
          f"torch {torch.__version__}, {args.threads} thread(s), load average {load:.2f}")
    print(f"k = {args.k}, hidden = {tuple(args.hidden)} {args.activation}, "
          f"{args.seeds} seeds x {args.epochs} epochs, {len(data[0])} fitting examples")
    t_ref, ref_runs = best_time(one_at_a_time)
    print(f"one seed at a time (train_reference): {t_ref:8.2f} s", flush=True)
    t_bat, bat_runs = best_time(batched)
    print(f"all seeds batched  (train_ensemble):  {t_bat:8.2f} s")
    print(f"speed-up: {t_ref / t_bat:.1f}x")
    gap = max(np.abs(r.val_loss - b.val_loss).max() for r, b in zip(ref_runs, bat_runs))
    print(f"largest difference between the validation curves (float32): {gap:.1e}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
