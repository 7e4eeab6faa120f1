#!/usr/bin/python3
"""Draws the bench's latency distributions: agent and probe side by side.

usage: python3 scripts/bench/plot.py BENCH.json OUT.png

Left and middle: the cumulative distribution of Docker `start` -> RegisterTargets and `kill` ->
DeregisterTargets (ms, log scale) for the agent and the naive probe, from the one-at-a-time
rounds with no stopped containers. Right: p50 and p99 of both against the number of stopped
containers lying around (flat is the goal). Needs matplotlib (Debian's python3-matplotlib).
Run by `npm run bench` (full runs write docs/bench-latency.png).
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402

COLORS = {"agent": "tab:blue", "probe": "tab:orange"}
TITLES = {"start": "start event -> RegisterTargets", "kill": "kill event -> DeregisterTargets"}


def cdf(ax, values, label, color):
    xs = sorted(max(v, 0.1) for v in values)
    ys = [(i + 1) / len(xs) for i in range(len(xs))]
    ax.step(xs, ys, where="post", color=color, lw=1.3, label=label)


def main() -> None:
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    with open(sys.argv[1]) as f:
        r = json.load(f)
    fig, axes = plt.subplots(1, 3, figsize=(16, 4.6))
    base = r["levels"][0]
    for ax, direction in zip(axes[:2], ["start", "kill"]):
        for who in ["agent", "probe"]:
            s = base[direction][who]
            cdf(ax, r["samples"][direction][who], f"{who}: p50 {s['p50']:.1f} ms, p99 {s['p99']:.1f} ms (n={s['n']})", COLORS[who])
        ax.set_xscale("log")
        ax.set_xlabel("ms from Docker's event to the call reaching the endpoint")
        ax.set_ylabel("fraction of events")
        ax.set_title(TITLES[direction], fontsize=10)
        ax.grid(alpha=0.3, which="both")
        ax.legend(fontsize=8, loc="lower right")
    ax = axes[2]
    stopped = [lv["stopped"] for lv in r["levels"]]
    for who in ["agent", "probe"]:
        for direction, marker in [("start", "o"), ("kill", "s")]:
            ax.plot(stopped, [lv[direction][who]["p50"] for lv in r["levels"]], marker=marker, color=COLORS[who], lw=1.2, label=f"{who} {direction} p50")
            ax.plot(stopped, [lv[direction][who]["p99"] for lv in r["levels"]], marker=marker, color=COLORS[who], lw=0.8, ls="--", label=f"{who} {direction} p99")
    ax.set_yscale("log")
    ax.set_xlabel("stopped containers lying around")
    ax.set_ylabel("ms")
    ax.set_title("flatness: p50 (solid) and p99 (dashed)", fontsize=10)
    ax.grid(alpha=0.3, which="both")
    ax.legend(fontsize=7, ncol=2)
    kind = r["agent"]["kind"]
    fig.suptitle(f"ecs-anywhere-lb-agent ({kind}) vs the naive probe, same events, same endpoint, one run ({r['measuredAt'][:16]}Z)", fontsize=11)
    fig.tight_layout()
    fig.savefig(sys.argv[2], dpi=110)


if __name__ == "__main__":
    main()
