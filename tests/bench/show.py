#!/usr/bin/env python3
"""Print the figures of ../shared/bench result files (JSON), one block per
file: the same scenario definitions OpenDHT and serf were measured with.
Membership (C) and lossy (D) results are printed beside serf's figures from
../shared/bench/RESULTS.md."""
import json
import sys

KEYS = [
    ("formed_s", "network formed (s)"),
    ("cold_first_get_s", "cold start -> first get (s)"),
    ("put_success_rate", "put success"),
    ("put_latency_ms", "put latency ms"),
    ("get_success_rate", "get success"),
    ("get_latency_ms", "get latency ms"),
    ("put_phase_wall_s", "put phase wall (s)"),
    ("get_phase_wall_s", "get phase wall (s)"),
    ("cpu_s_total_nodes", "CPU s, all nodes"),
    ("rss_mib_per_node", "RSS MiB per node"),
    ("killed", "nodes killed"),
]

# serf 0.9.4 (Debian 0.9.4~ds1-1+b13, lan profile), quoted from
# ../shared/bench/RESULTS.md tables C and D (2026-11-21, this machine): the
# median across runs. Not measured by `make bench`; rerun the baseline back
# to back (README.md there) for a fair comparison.
SERF_REF = "serf (RESULTS.md)"
SERF = {
    ("membership", 20, None): {
        "conv": 0.56, "conv_last": 0.39, "suspect1": 2.42, "det_med": 7.68,
        "det_max": 7.82, "detected": "19/19", "rss": 13.0, "cpu": 0.55},
    ("membership", 50, None): {
        "conv": 1.22, "conv_last": 0.77, "suspect1": 1.87, "det_med": 8.85,
        "det_max": 8.97, "detected": "49/49", "rss": 14.1, "cpu": 2.36},
    # serf has no suspect state: its polled transitions are all 'failed';
    # suspicions come from its logs ('Suspect .. no acks').
    ("lossy", 20, "10"): {
        "drop": 0.1002, "conv": 0.60, "window": 180, "ah": 1.000,
        "left_alive": 0, "down": 0, "fp_ah": 0.00, "susp": 0, "cpu": 18.01,
        "rss": 14.8},
    ("lossy", 20, "0"): {
        "drop": 0.0, "conv": 0.51, "window": 180, "ah": 1.000,
        "left_alive": 0, "down": 0, "fp_ah": 0.00, "susp": 0, "cpu": 15.10,
        "rss": 14.8},
    ("lossy", 50, "10"): {
        "drop": 0.0999, "conv": 69.94, "window": 180, "ah": 2.501,
        "left_alive": 0, "down": 0, "fp_ah": 0.00, "susp": 0, "cpu": 45.97,
        "rss": 15.1},
}


def fmt(v):
    if isinstance(v, dict):
        return " ".join("%s %s" % (k, v[k]) for k in ("median", "p95", "p99")
                        if k in v)
    return str(v)


def num(v, nd=2):
    if v is None:
        return "n/a"
    if isinstance(v, float):
        return "%.*f" % (nd, v)
    return str(v)


def sub(d, key, field):
    v = d.get(key)
    return v.get(field) if isinstance(v, dict) else None


def dht_block(path, r):
    for run in r.get("runs", [r]):
        print("## %s N=%s" % (r.get("label", path), run.get("N", "?")))
        for k, name in KEYS:
            if k in run:
                print("  %-30s %s" % (name, fmt(run[k])))
        for k, v in sorted(run.items()):
            if k.startswith("get") and k not in dict(KEYS) and \
                    isinstance(v, (int, float)) and "after" in k:
                print("  %-30s %s" % (k, v))


def membership_rows(run):
    det = "%s/%s" % (run.get("detected_by"), run.get("observers")) \
        if "observers" in run else None
    return [
        ("converged (all N see N alive)", run.get("converged_all"), None),
        ("convergence from first launch (s)", run.get("convergence_s"),
         "conv"),
        ("  from last launch (s)", run.get("convergence_after_last_launch_s"),
         "conv_last"),
        ("first suspicion logged (s after kill)",
         run.get("first_suspect_log_s"), "suspect1"),
        ("detection: observers report down, median (s)",
         sub(run, "detect_poll_s", "median"), "det_med"),
        ("detection: max (s)", sub(run, "detect_poll_s", "max"), "det_max"),
        ("observers that detected", det, "detected"),
        ("RSS per node median (MiB)", sub(run, "rss_mib_per_agent", "median"),
         "rss", 1),
        ("RSS per node max (MiB)", sub(run, "rss_mib_per_agent", "max"),
         None, 1),
        ("CPU s all nodes, launch->converged+2 s",
         run.get("cpu_s_total_agents"), "cpu"),
    ]


def lossy_rows(doc, run):
    trans = run.get("poll_false_transitions")
    sample = run.get("poll_false_transitions_sample") or []
    # the harness records the state a pair left 'alive' for (the adapter
    # maps 'down' to 'failed') and keeps the first 20 only
    def entered(state):
        c = sum(1 for t in sample if len(t) > 3 and t[3] == state)
        if trans is None:
            return None
        return ">=%d (of %d kept)" % (c, len(sample)) \
            if trans > len(sample) else c
    return [
        ("measured drop fraction (nft counters)",
         doc.get("nft_drop_fraction"), "drop", 4),
        ("converged", run.get("converged_all"), None),
        ("convergence under loss (s)", run.get("convergence_s"), "conv"),
        ("window (s)", run.get("window_s"), "window"),
        ("agent-hours", run.get("agent_hours"), "ah", 3),
        ("pairs leaving alive (suspect or down)", trans, "left_alive"),
        ("  per agent-hour", run.get("poll_fp_per_agent_hour"), "fp_ah"),
        ("  of which to down (false down)", entered("failed"), "down"),
        ("  of which to suspect (serf: its logs)", entered("suspect"),
         "susp"),
        ("unanswered polls", run.get("poll_unanswered"), None),
        ("all nodes alive at end", run.get("all_alive_at_end"), None),
        ("CPU s all nodes in window", run.get("cpu_s_window_total_agents"),
         "cpu"),
        ("RSS per node median (MiB)", sub(run, "rss_mib_per_agent", "median"),
         "rss", 1),
    ]


def member_block(path, doc):
    scen, n = doc.get("scenario"), doc.get("N")
    loss = doc.get("loss_pct_configured") if scen == "lossy" else None
    serf = SERF.get((scen, n, loss))
    impl = doc.get("impl", "?")
    for run in doc.get("runs", []):
        print("## %s N=%s%s (%s, started %s, run %s)" % (
            scen, n, ", %s%% UDP loss" % loss if loss is not None else "",
            path, doc.get("started"), run.get("run")))
        if "error" in run:
            print("  run failed: %s" % run["error"])
            continue
        rows = membership_rows(run) if scen == "membership" else \
            lossy_rows(doc, run)
        print("  %-46s %-14s %s" % ("metric", impl,
                                   SERF_REF if serf else "(no serf figure)"))
        for row in rows:
            name, ours, key = row[:3]
            nd = row[3] if len(row) > 3 else 2
            ref = num(serf.get(key), nd) if serf and key else ""
            print("  %-46s %-14s %s" % (name, num(ours, nd), ref))
    if scen == "lossy":
        print("  (the harness counts a pair once, by the state it left alive "
              "for;\n   tests/netns/liveness.sh counts every entry into down)")


def main():
    for path in sys.argv[1:]:
        try:
            r = json.load(open(path))
        except (OSError, ValueError) as e:
            print("%s: %s" % (path, e))
            continue
        if r.get("scenario") in ("membership", "lossy"):
            member_block(path, r)
        else:
            dht_block(path, r)


if __name__ == "__main__":
    main()
