"""Dependency arrows flow one way: connector -> identity, policy, mpc, audit, p2p; audit and
p2p -> identity; identity depends on none of ours; policy and mpc do not depend on each other
(DESIGN.md)."""
import json
import sys

FORBIDDEN = {
    "symbolon-identity": {"symbolon-policy", "symbolon-mpc", "symbolon-audit", "symbolon-p2p",
                          "symbolon-connector", "symbolon"},
    "symbolon-policy": {"symbolon-identity", "symbolon-mpc", "symbolon-audit", "symbolon-p2p",
                        "symbolon-connector", "symbolon"},
    "symbolon-mpc": {"symbolon-identity", "symbolon-policy", "symbolon-audit", "symbolon-p2p",
                     "symbolon-connector", "symbolon"},
    "symbolon-audit": {"symbolon-policy", "symbolon-mpc", "symbolon-p2p", "symbolon-connector",
                       "symbolon"},
    "symbolon-p2p": {"symbolon-policy", "symbolon-mpc", "symbolon-audit", "symbolon-connector",
                     "symbolon"},
    "symbolon-connector": {"symbolon"},
}

metadata = json.load(sys.stdin)
bad = []
for package in metadata["packages"]:
    for dependency in package["dependencies"]:
        if dependency["name"] in FORBIDDEN.get(package["name"], set()):
            bad.append(f'{package["name"]} must not depend on {dependency["name"]}')
for line in bad:
    print(f"dependency arrow broken: {line}", file=sys.stderr)
sys.exit(1 if bad else 0)
