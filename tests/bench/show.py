#!/usr/bin/env python3
"""Print the figures of ../shared/bench result files (JSON), one block per
file: the same scenario definitions OpenDHT and serf were measured with."""
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


def fmt(v):
    if isinstance(v, dict):
        return " ".join("%s %s" % (k, v[k]) for k in ("median", "p95", "p99")
                        if k in v)
    return str(v)


for path in sys.argv[1:]:
    try:
        r = json.load(open(path))
    except (OSError, ValueError) as e:
        print("%s: %s" % (path, e))
        continue
    for run in r.get("runs", [r]):
        print("## %s N=%s" % (r.get("label", path), run.get("N", "?")))
        for k, name in KEYS:
            if k in run:
                print("  %-30s %s" % (name, fmt(run[k])))
        for k, v in sorted(run.items()):
            if k.startswith("get") and k not in dict(KEYS) and \
                    isinstance(v, (int, float)) and "after" in k:
                print("  %-30s %s" % (k, v))
