"""Validates rendered kustomize overlays (called by scripts/check-deploy.sh).

For each NAME=FILE argument: core objects go to `kubernetes-validate --strict` for every
Kubernetes version given; KEDA objects (keda.sh/*, not in the core schemas) are validated
against the project's JSON schema; any other custom resource fails (no schema to check it
against). Then the deployment rules of issue 7 are checked on the objects. Prints a one-line
summary on success; errors on stderr and exit 1 otherwise.
"""

import argparse
import json
import re
import subprocess
import sys

import jsonschema
import yaml

KEDA_GROUP = "keda.sh/"
WORKERS = ("crawler-worker", "updater-worker")
SHUTDOWN_GRACE_S = 30
VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--schema", required=True)
    ap.add_argument("--validator", required=True)
    ap.add_argument("--versions", required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("rendered", nargs="+")
    args = ap.parse_args()

    keda_schema = json.load(open(args.schema))
    jsonschema.Draft202012Validator.check_schema(keda_schema)
    errors, parts = [], []
    for item in args.rendered:
        name, path = item.split("=", 1)
        docs = [d for d in yaml.safe_load_all(open(path)) if d]
        core = [d for d in docs if not d["apiVersion"].startswith(KEDA_GROUP)]
        keda = [d for d in docs if d["apiVersion"].startswith(KEDA_GROUP)]
        core_path = f"{args.tmp}/core-{name}.yaml"
        with open(core_path, "w") as f:
            yaml.safe_dump_all(core, f)
        for version in args.versions.split():
            run = subprocess.run(
                [args.validator, "--strict", "--quiet", "-k", version, core_path],
                capture_output=True,
                text=True,
            )
            out = (run.stdout + run.stderr).strip()
            # --quiet prints only warnings and failures; a missing schema is only a warning
            # there, but here it means an unknown custom resource: fail it too.
            if run.returncode != 0 or out:
                errors.append(f"[{name}] kubernetes-validate --strict -k {version}:\n{out}")
        for d in keda:
            errors += [f"[{name}] {e}" for e in validate_keda(d, keda_schema)]
        errors += [f"[{name}] {e}" for e in rules(docs)]
        parts.append(f"{name}: {len(core)} objects strict-valid for k8s {'/'.join(args.versions.split())}"
                     + (f" + {len(keda)} KEDA objects against {args.schema.rsplit('/', 1)[-1]}" if keda else ""))
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        sys.exit(1)
    print("; ".join(parts) + "; deployment rules hold")


def validate_keda(doc, schema):
    kind = doc.get("kind")
    if kind not in schema["$defs"]:
        return [f"{kind} {doc['apiVersion']}: no schema for this KEDA kind in the project's schema file"]
    sub = {"$schema": schema["$schema"], "$defs": schema["$defs"], "$ref": f"#/$defs/{kind}"}
    v = jsonschema.Draft202012Validator(sub)
    return [
        f"{kind}/{doc['metadata'].get('name')}: {'.'.join(map(str, e.absolute_path)) or '<root>'}: {e.message}"
        for e in v.iter_errors(doc)
    ]


def pod_spec(obj):
    kind = obj["kind"]
    if kind in ("Deployment", "StatefulSet", "DaemonSet", "Job"):
        return obj["spec"]["template"]["spec"]
    if kind == "CronJob":
        return obj["spec"]["jobTemplate"]["spec"]["template"]["spec"]
    return None


def rules(docs):
    errors = []
    by_kind = {}
    for d in docs:
        by_kind.setdefault(d["kind"], {})[d["metadata"]["name"]] = d
    namespaces = list(by_kind.get("Namespace", {}))
    if len(namespaces) != 1:
        errors.append(f"expected exactly one Namespace, found {namespaces}")
    ns = namespaces[0] if namespaces else None
    for d in docs:
        if d["kind"] != "Namespace" and d["metadata"].get("namespace") != ns:
            errors.append(f"{d['kind']}/{d['metadata']['name']}: namespace {d['metadata'].get('namespace')} != {ns}")

    for kind in ("Deployment", "StatefulSet", "CronJob"):
        for name, obj in by_kind.get(kind, {}).items():
            errors += [f"{kind}/{name}: {e}" for e in pod_rules(pod_spec(obj))]

    deployments = by_kind.get("Deployment", {})
    for w in WORKERS:
        dep = deployments.get(w)
        if not dep:
            errors.append(f"Deployment/{w} missing")
            continue
        spec = pod_spec(dep)
        if spec.get("terminationGracePeriodSeconds", 30) <= SHUTDOWN_GRACE_S:
            errors.append(f"Deployment/{w}: terminationGracePeriodSeconds must exceed {SHUTDOWN_GRACE_S}s")
        main = next(c for c in spec["containers"] if c["name"] == w)
        for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
            get = (main.get(probe) or {}).get("httpGet") or {}
            port = get.get("port")
            if port == "http":
                port = next((p["containerPort"] for p in main.get("ports", []) if p.get("name") == "http"), None)
            if get.get("path") != path or port != 9100:
                errors.append(f"Deployment/{w}: {probe} must GET {path} on port 9100")
        if not any(p.get("minAvailable") is not None or p.get("maxUnavailable") is not None
                   for p in (x["spec"] for x in by_kind.get("PodDisruptionBudget", {}).values()
                             if x["spec"]["selector"].get("matchLabels", {}).get("app.kubernetes.io/name") == w)):
            errors.append(f"Deployment/{w}: no PodDisruptionBudget")
    crawler = deployments.get("crawler-worker")
    if crawler and not any(c["name"] == "tor" for c in pod_spec(crawler).get("initContainers", []) + pod_spec(crawler)["containers"]):
        errors.append("Deployment/crawler-worker: no Tor sidecar")

    cron = by_kind.get("CronJob", {}).get("producer")
    if not cron or cron["spec"].get("concurrencyPolicy") != "Forbid":
        errors.append("CronJob/producer with concurrencyPolicy: Forbid missing")
    if "redis" not in by_kind.get("StatefulSet", {}):
        errors.append("StatefulSet/redis missing")
    if "scrape-config" not in {n.rsplit("-", 1)[0] for n in by_kind.get("ConfigMap", {})}:
        errors.append("ConfigMap scrape-config missing")
    netpols = by_kind.get("NetworkPolicy", {})
    deny = [p for p in netpols.values() if p["spec"].get("podSelector") == {} and not p["spec"].get("ingress")
            and not p["spec"].get("egress") and set(p["spec"].get("policyTypes", [])) == {"Ingress", "Egress"}]
    if not deny:
        errors.append("no default-deny NetworkPolicy")
    errors += internet_rules(netpols, docs)
    errors += keda_rules(by_kind, ns)
    return errors


def pod_rules(spec):
    errors = []
    psc = spec.get("securityContext", {})
    if spec.get("automountServiceAccountToken") is not False:
        errors.append("automountServiceAccountToken should be false")
    for c in spec.get("initContainers", []) + spec["containers"]:
        sc = c.get("securityContext", {})
        where = f"container {c['name']}"
        if not (sc.get("runAsNonRoot", psc.get("runAsNonRoot")) and sc.get("runAsUser", psc.get("runAsUser", 0)) != 0):
            errors.append(f"{where}: must run as non-root")
        if sc.get("readOnlyRootFilesystem") is not True:
            errors.append(f"{where}: readOnlyRootFilesystem: true expected")
        if sc.get("allowPrivilegeEscalation") is not False:
            errors.append(f"{where}: allowPrivilegeEscalation: false expected")
        if "ALL" not in (sc.get("capabilities") or {}).get("drop", []):
            errors.append(f"{where}: capabilities must drop ALL")
        res = c.get("resources", {})
        for k in ("requests", "limits"):
            if "memory" not in res.get(k, {}):
                errors.append(f"{where}: resources.{k}.memory missing")
        defined = set()
        for e in c.get("env", []):
            for ref in VAR_REF.findall(e.get("value", "")):
                if ref not in defined:
                    errors.append(f"{where}: env {e['name']} uses $({ref}) before it is defined")
            defined.add(e["name"])
    return errors


def internet_rules(netpols, docs):
    """Only crawler pods may have an egress rule to addresses outside the cluster on any port."""
    errors = []
    for name, p in netpols.items():
        sel = p["spec"].get("podSelector", {}).get("matchLabels", {})
        for rule in p["spec"].get("egress", []) or []:
            wide = any("ipBlock" in t for t in rule.get("to", [])) or not rule.get("to")
            any_port = not rule.get("ports")
            if wide and any_port and sel.get("app.kubernetes.io/name") != "crawler-worker":
                errors.append(f"NetworkPolicy/{name}: only crawlers may reach the internet on any port")
    return errors


def keda_rules(by_kind, ns):
    errors = []
    auths = by_kind.get("TriggerAuthentication", {})
    secrets = by_kind.get("Secret", {})
    for name, so in by_kind.get("ScaledObject", {}).items():
        target = so["spec"]["scaleTargetRef"]["name"]
        if target not in by_kind.get("Deployment", {}):
            errors.append(f"ScaledObject/{name}: target Deployment/{target} not found")
        elif "replicas" in by_kind["Deployment"][target]["spec"]:
            errors.append(f"ScaledObject/{name}: Deployment/{target} still sets replicas (KEDA's HPA owns it)")
        for t in so["spec"]["triggers"]:
            m = t["metadata"]
            if t["type"] == "redis-streams":
                for key in ("consumerGroup", "lagCount", "activationLagCount"):
                    if key not in m:
                        errors.append(f"ScaledObject/{name}: redis-streams trigger needs {key}")
                addr = m.get("address", "")
                if not addr.startswith(f"redis.{ns}.svc"):
                    errors.append(f"ScaledObject/{name}: address {addr} must be redis.{ns}.svc.cluster.local:6379 "
                                  "(add the replacements block from components/keda to the overlay)")
            ref = (t.get("authenticationRef") or {}).get("name")
            if ref not in auths:
                errors.append(f"ScaledObject/{name}: authenticationRef {ref} not found")
    for name, ta in auths.items():
        for s in ta["spec"].get("secretTargetRef", []):
            if s["name"] not in secrets or s["key"] not in (secrets[s["name"]].get("data") or {}):
                errors.append(f"TriggerAuthentication/{name}: Secret {s['name']} key {s['key']} not found")
    return errors


if __name__ == "__main__":
    main()
