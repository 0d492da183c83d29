#!/usr/bin/env python3
"""Print the PromQL of a Grafana dashboard (contrib/grafana/rcfs.json) as a
Prometheus rules file, for `promtool check rules`; with --names, print the
rcfs_/process_ metric names the queries use, one a line (t/http/dashboard.sh)."""
import json
import re
import sys


def exprs(o, out):
    if isinstance(o, dict):
        for k, v in o.items():
            if k == "expr" and isinstance(v, str):
                out.append(v)
            else:
                exprs(v, out)
    elif isinstance(o, list):
        for v in o:
            exprs(v, out)
    return out


def main():
    names = sys.argv[1] == "--names"
    dash = json.load(open(sys.argv[-1]))
    found = exprs(dash, [])
    if names:
        seen = set()
        for e in found:
            for m in re.findall(r"\b((?:rcfs|process)_[a-z_]+)", e):
                m = re.sub(r"_bucket$", "", m)
                seen.add(m)
        print("\n".join(sorted(seen)))
        return
    print("groups:\n- name: grafana\n  rules:")
    for i, e in enumerate(found):
        e = e.replace("$__rate_interval", "1m").replace("$job", ".*").replace("$instance", ".*")
        print("  - record: grafana:expr_%d\n    expr: %s" % (i, json.dumps(e)))


main()
