"""Rules for deploy/monitoring (called by scripts/check-deploy.sh after promtool): every alert
has a `promtool test rules` case that expects it to fire, a runbook_url naming a section of
docs/OPERATING.md that exists, a severity; the Grafana dashboard is valid JSON with unique panel
ids, a Prometheus datasource and an expression in every target. (That every queried metric is
exported is checked against real processes by producer/tests/metrics_contract.rs.)
Prints a one-line summary; errors on stderr and exit 1.
"""

import argparse
import json
import re
import sys

import yaml


def anchors(markdown):
    """GitHub's heading anchors: lower case, punctuation dropped, spaces to hyphens."""
    out = set()
    for line in open(markdown):
        m = re.match(r"#+\s+(.*)", line)
        if m:
            out.add(re.sub(r"[^\w\- ]", "", m.group(1).strip().lower()).replace(" ", "-"))
    return out


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rules", required=True)
    ap.add_argument("--tests", required=True)
    ap.add_argument("--dashboard", required=True)
    ap.add_argument("--runbook", required=True)
    args = ap.parse_args()
    errors = []
    rules = [r for g in yaml.safe_load(open(args.rules))["groups"] for r in g["rules"] if "alert" in r]
    tests = yaml.safe_load(open(args.tests))
    fired = {c["alertname"] for t in tests["tests"] for c in t.get("alert_rule_test", []) if c.get("exp_alerts")}
    sections = anchors(args.runbook)
    for r in rules:
        name = r["alert"]
        if name not in fired:
            errors.append(f"alert {name}: no promtool test case expects it to fire ({args.tests})")
        if r.get("labels", {}).get("severity") not in ("warning", "critical"):
            errors.append(f"alert {name}: labels.severity must be warning or critical")
        url = r.get("annotations", {}).get("runbook_url", "")
        if not url.startswith(args.runbook + "#") or url.split("#", 1)[1] not in sections:
            errors.append(f"alert {name}: runbook_url {url!r} must name a section of {args.runbook}")
        if url.split("#", 1)[-1] != name.lower():
            errors.append(f"alert {name}: its runbook section must be titled after it (#{name.lower()})")
    dash = json.load(open(args.dashboard))
    ids = [p["id"] for p in dash["panels"]]
    if len(ids) != len(set(ids)):
        errors.append(f"{args.dashboard}: duplicate panel ids")
    if not dash.get("uid") or not dash.get("title"):
        errors.append(f"{args.dashboard}: uid and title required (provisioning keys on the uid)")
    targets = 0
    for p in dash["panels"]:
        if (p.get("datasource") or {}).get("type") != "prometheus":
            errors.append(f"{args.dashboard}: panel {p.get('title')!r}: datasource must be prometheus")
        for t in p.get("targets", []):
            targets += 1
            if not t.get("expr"):
                errors.append(f"{args.dashboard}: panel {p.get('title')!r}: a target without expr")
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        sys.exit(1)
    print(f"{len(rules)} alerts each with a firing test case and a runbook section; "
          f"dashboard {len(ids)} panels, {targets} queries")


if __name__ == "__main__":
    main()
