#!/usr/bin/python3
"""Plots calls per second over time from `npm run fleet-sim -- --json FILE`.

usage: /usr/bin/python3 scripts/fleet-sim/plot.py RESULTS.json OUT.png [SCENARIO ...]

One panel per scenario (default: deploy and deploy-gated, whichever the file has): the
change (Register/DeregisterTargets) and Describe calls let through and throttled per
second, per time bucket, against the account's refill rates. Needs Debian's python3-matplotlib
Not needed by CI.
"""
import json
import sys

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def main() -> None:
    if len(sys.argv) < 3:
        sys.exit(__doc__)
    path, out, wanted = sys.argv[1], sys.argv[2], sys.argv[3:] or ["deploy", "deploy-gated"]
    with open(path) as f:
        data = json.load(f)
    results = [r for name in wanted for r in data["results"] if r["scenario"] == name]
    if not results:
        sys.exit(f"no results for {', '.join(wanted)} in {path}")
    fig, axes = plt.subplots(len(results), 1, figsize=(14, 3.8 * len(results)), sharex=False, squeeze=False)
    for ax, r in zip(axes[:, 0], results):
        s = r["series"]
        step = s["bucketMs"] / 1000
        t0 = r["event"]["fromMs"] / 1000
        t = [(i * step - t0) / 60 for i in range(len(s["change"]))]
        budget = r["accountLimits"]
        ax.plot(t, s["change"], color="tab:blue", lw=0.9, label="Register/DeregisterTargets let through")
        ax.plot(t, s["changeThrottled"], color="tab:red", lw=0.9, label="Register/DeregisterTargets throttled")
        ax.plot(t, s["describe"], color="tab:green", lw=0.9, alpha=0.8, label="DescribeTargetHealth and other Describe* let through")
        if any(s["describeThrottled"]):
            ax.plot(t, s["describeThrottled"], color="tab:orange", lw=0.9, label="Describe* throttled")
        ax.axhline(budget["change"]["perSecond"], color="tab:blue", ls="--", lw=0.8, label=f"change refill {budget['change']['perSecond']}/s")
        ax.axhline(budget["describe"]["perSecond"], color="tab:green", ls="--", lw=0.8, label=f"Describe refill {budget['describe']['perSecond']}/s")
        ax.axvline(0, color="grey", lw=0.6)
        done = r["allExactAfterMs"]
        if done is not None:
            ax.axvline((r["event"]["fromMs"] + done) / 60000 - t0 / 60, color="black", ls=":", lw=0.9, label="every host exact again")
        throttled = 100 * r["event"]["change"]["throttledFraction"]
        read_throttled = 100 * r["event"]["describe"]["throttledFraction"]
        ax.set_title(
            f"{r['scenario']}: {r['hosts']:,} hosts x {r['groups']} groups, policy {r['policy']}: "
            f"{r['event']['change']['allowed']:,} change calls let through, {throttled:.1f}% of change and {read_throttled:.1f}% of Describe calls throttled",
            fontsize=10,
        )
        ax.set_ylabel(f"calls/s ({step:g} s buckets)")
        ax.set_xlim(min(t), max(t))
        top = max(max(s["change"]), max(s["changeThrottled"]), max(s["describe"]), max(s["describeThrottled"]), budget["describe"]["perSecond"])
        ax.set_ylim(0, top * 1.1)
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8, loc="upper left", bbox_to_anchor=(1.01, 1.0), borderaxespad=0)
    axes[-1, 0].set_xlabel("minutes after ECS started the deployment")
    fig.suptitle(data.get("command", ""), fontsize=8, y=0.995)
    fig.tight_layout()
    fig.savefig(out, dpi=110)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
