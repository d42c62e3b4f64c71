#!/usr/bin/env python3
"""Writes baseline.json with every resilience component on, as benches/event_loop.rs and
examples/profile.rs build it: the policies of benches/all-on-policies.json, and a gateway
token bucket that never bites. For timing the CLI on the same mesh as the benchmark:

    python3 benches/all_on_scenario.py /tmp/all-on.json
    meshsim run /tmp/all-on.json --duration 600s --out /tmp/all-on-out
"""
import json
import os
import sys

here = os.path.dirname(os.path.abspath(__file__))
out = sys.argv[1] if len(sys.argv) > 1 else "/tmp/all-on.json"
with open(os.path.join(here, "..", "scenarios", "baseline.json")) as f:
    sc = json.load(f)
with open(os.path.join(here, "all-on-policies.json")) as f:
    sc["policies"] = json.load(f)
sc["gateway"]["rateLimit"] = {"type": "token-bucket", "capacity": 10000, "refillPerSecond": 100000}
with open(out, "w") as f:
    json.dump(sc, f, indent=2)
    f.write("\n")
