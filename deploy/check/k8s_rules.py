"""Validates rendered kustomize overlays (called by scripts/check-deploy.sh).

For each NAME=FILE argument: core objects go to `kubernetes-validate --strict` for every
Kubernetes version given; custom resources of a group with a project schema (KEDA's keda.sh,
the Prometheus Operator's monitoring.coreos.com) are validated against it; any other custom
resource fails (no schema to check it against). Then the deployment rules of issues 7 and 13
are checked on the objects. Prints a one-line summary on success; errors on stderr and exit 1
otherwise.
"""

import argparse
import json
import os
import re
import subprocess
import sys
import tempfile

import jsonschema
import yaml

KEDA_GROUP = "keda.sh/"
MONITORING_GROUP = "monitoring.coreos.com/"
WORKERS = ("crawler-worker", "updater-worker")
# Native sidecars (init containers with restartPolicy: Always) are on by default from 1.29.
NATIVE_SIDECAR_MIN = "1.29"
SECRET_DIR = "/run/secrets/electrokerot/"
SECRET_VARS = {"REDIS_PASSWORD", "TOR_CONTROL_PASSWORD", "MONGODB_URI", "REDIS_URL", "EK_TOR_PASSWORD"}
SHUTDOWN_GRACE_S = 30
VAR_REF = re.compile(r"\$\(([A-Za-z_][A-Za-z0-9_]*)\)")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--schema", required=True)
    ap.add_argument("--monitoring-schema", required=True)
    ap.add_argument("--validator", required=True)
    ap.add_argument("--versions", required=True)
    ap.add_argument("--tmp", required=True)
    ap.add_argument("rendered", nargs="+")
    args = ap.parse_args()

    keda_schema = json.load(open(args.schema))
    jsonschema.Draft202012Validator.check_schema(keda_schema)
    monitoring_schema = json.load(open(args.monitoring_schema))
    jsonschema.Draft202012Validator.check_schema(monitoring_schema)
    versions = args.versions.split()
    errors, parts = [], []
    for item in args.rendered:
        name, path = item.split("=", 1)
        docs = [d for d in yaml.safe_load_all(open(path)) if d]
        custom = (KEDA_GROUP, MONITORING_GROUP)
        core = [d for d in docs if not d["apiVersion"].startswith(custom)]
        keda = [d for d in docs if d["apiVersion"].startswith(KEDA_GROUP)]
        monitoring = [d for d in docs if d["apiVersion"].startswith(MONITORING_GROUP)]
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
        for d in monitoring:
            errors += [f"[{name}] {e}" for e in validate_keda(d, monitoring_schema)]
        errors += [f"[{name}] {e}" for e in rules(docs, versions)]
        parts.append(f"{name}: {len(core)} objects strict-valid for k8s {'/'.join(versions)}"
                     + (f" + {len(keda)} KEDA" if keda else "")
                     + (f" + {len(monitoring)} Prometheus Operator" if monitoring else ""))
    # dev with KEDA must be an overlay of its own that CI renders (adding the component to dev
    # breaks: dev's `replicas:` and the ScaledObjects' namespace placeholder).
    names = {item.split("=", 1)[0] for item in args.rendered}
    for want in ("dev", "dev-keda", "prod"):
        if want not in names:
            errors.append(f"overlay {want} missing (rendered: {sorted(names)})")
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        sys.exit(1)
    print("; ".join(parts) + "; deployment rules hold")


def validate_keda(doc, schema):
    """Validates a custom resource against the $defs entry of its kind in `schema`."""
    kind = doc.get("kind")
    if kind not in schema["$defs"]:
        return [f"{kind} {doc['apiVersion']}: no schema for this kind in {schema.get('$id')}"]
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


def rules(docs, versions):
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
    env = next((c.get("data") or {} for n, c in by_kind.get("ConfigMap", {}).items()
                if n.rsplit("-", 1)[0] == "electrokerot-env"), {})
    # Sentinel and Cluster modes run Redis from a chart (components/redis-sentinel, -cluster).
    if env.get("REDIS_MODE", "single") == "single" and "redis" not in by_kind.get("StatefulSet", {}):
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
    errors += secret_rules(docs)
    errors += redis_rules(by_kind.get("StatefulSet", {}).get("redis"))
    errors += serve_rules(deployments, netpols)
    errors += monitoring_rules(by_kind, docs)
    sidecars = any(c.get("restartPolicy") == "Always" for d in docs if pod_spec(d)
                   for c in pod_spec(d).get("initContainers", []))
    if sidecars and not any(v.startswith(NATIVE_SIDECAR_MIN + ".") for v in versions):
        errors.append(f"native sidecars need Kubernetes >= {NATIVE_SIDECAR_MIN}: validate against it "
                      f"(K8S_VERSIONS has {versions})")
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


# KEDA's Redis stream triggers, one per Redis mode, and the metadata key of their address.
REDIS_TRIGGERS = {"redis-streams": "address", "redis-sentinel-streams": "addresses",
                  "redis-cluster-streams": "addresses"}


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
            if t["type"] in REDIS_TRIGGERS:
                # XLEN (streamLength, no consumerGroup) counts undelivered + pending entries;
                # a group's lag reads nil once acked entries are deleted, and KEDA takes it as 0.
                if "streamLength" not in m or "consumerGroup" in m:
                    errors.append(f"ScaledObject/{name}: {t['type']} trigger must scale on streamLength "
                                  "without consumerGroup (lag reads nil after XDEL; see components/keda)")
                addr = m.get(REDIS_TRIGGERS[t["type"]], "")
                if not addr.startswith(f"redis.{ns}.svc"):
                    errors.append(f"ScaledObject/{name}: address {addr} must be redis.{ns}.svc.cluster.local:PORT "
                                  "(add the replacements block from components/keda to the overlay)")
                if t["type"] == "redis-sentinel-streams" and "sentinelMaster" not in m:
                    errors.append(f"ScaledObject/{name}: redis-sentinel-streams needs sentinelMaster")
            ref = (t.get("authenticationRef") or {}).get("name")
            if ref not in auths:
                errors.append(f"ScaledObject/{name}: authenticationRef {ref} not found")
    if "crawler-worker" in {so["spec"]["scaleTargetRef"]["name"] for so in by_kind.get("ScaledObject", {}).values()}:
        env = next((c.get("data") or {} for n, c in by_kind.get("ConfigMap", {}).items()
                    if n.rsplit("-", 1)[0] == "electrokerot-env"), {})
        if not env.get("EK_GLOBAL_RPS"):
            errors.append("crawlers autoscale (KEDA) but electrokerot-env sets no EK_GLOBAL_RPS: "
                          "the fleet's request rate would grow with the replica count")
    for name, ta in auths.items():
        for s in ta["spec"].get("secretTargetRef", []):
            if s["name"] not in secrets or s["key"] not in (secrets[s["name"]].get("data") or {}):
                errors.append(f"TriggerAuthentication/{name}: Secret {s['name']} key {s['key']} not found")
    return errors


def containers(spec):
    return spec.get("initContainers", []) + spec["containers"]


def secret_rules(docs):
    """Secrets come from the secret volume (*_FILE variables), never as env values."""
    errors = []
    for d in docs:
        spec = pod_spec(d)
        if not spec:
            continue
        mounts_ok = {v["name"] for v in spec.get("volumes", []) if "secret" in v}
        for c in containers(spec):
            where = f"{d['kind']}/{d['metadata']['name']} container {c['name']}"
            mounted = {m["mountPath"].rstrip("/") + "/" for m in c.get("volumeMounts", []) if m["name"] in mounts_ok}
            for e in c.get("env", []):
                ref = (e.get("valueFrom") or {}).get("secretKeyRef")
                if ref and e["name"] in SECRET_VARS:
                    errors.append(f"{where}: {e['name']} from secretKeyRef; mount the secret and set {e['name']}_FILE")
                if e["name"] == "REDIS_URL" and "@" in e.get("value", ""):
                    errors.append(f"{where}: REDIS_URL carries the password; use REDIS_PASSWORD_FILE")
                if e["name"].endswith("_FILE") and e.get("value", "").startswith("/run/secrets/"):
                    if not any(e["value"].startswith(m) for m in mounted):
                        errors.append(f"{where}: {e['name']} points at {e['value']}, which no secret volume mounts")
    return errors


def run_probe(command, answer):
    """Runs an exec probe's command with a stand-in `redis-cli` that prints `answer`."""
    with tempfile.TemporaryDirectory() as bin_dir:
        fake = os.path.join(bin_dir, "redis-cli")
        with open(fake, "w") as f:
            f.write(f"#!/bin/sh\necho '{answer}'\n")
        os.chmod(fake, 0o755)
        env = {"PATH": f"{bin_dir}:/usr/bin:/bin"}
        return subprocess.run(command, env=env, capture_output=True, timeout=10).returncode


def quantity(text):
    m = re.fullmatch(r"(\d+)(Ki|Mi|Gi|kb|mb|gb|k|m|g)?", str(text).strip(), re.I)
    if not m:
        raise ValueError(f"quantity {text!r}")
    unit = (m.group(2) or "").lower().rstrip("ib").rstrip("b")
    return int(m.group(1)) * {"": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}[unit]


def redis_rules(redis):
    """Probes that let a loading Redis live (LOADING), readiness only on PONG; maxmemory at most
    60% of the memory limit (an AOF rewrite forks; copy-on-write needs the rest)."""
    if not redis:
        return []
    errors = []
    c = next(c for c in pod_spec(redis)["containers"] if c["name"] == "redis")
    expect = {"startupProbe": {"PONG": 0, "LOADING": 0}, "livenessProbe": {"PONG": 0, "LOADING": 0},
              "readinessProbe": {"PONG": 0, "LOADING": 1}}
    answers = {"PONG": "PONG", "LOADING": "LOADING Redis is loading the dataset in memory"}
    for probe, cases in expect.items():
        cmd = ((c.get(probe) or {}).get("exec") or {}).get("command")
        if not cmd:
            errors.append(f"StatefulSet/redis: {probe} (exec) missing")
            continue
        for answer, want in cases.items():
            got = run_probe(cmd, answers[answer])
            if (got == 0) != (want == 0):
                errors.append(f"StatefulSet/redis: {probe} exits {got} when Redis answers {answer} "
                              f"({'must pass' if want == 0 else 'must fail'})")
        if run_probe(cmd, "Could not connect to Redis at 127.0.0.1:6379: Connection refused") == 0:
            errors.append(f"StatefulSet/redis: {probe} passes when Redis does not answer")
    text = " ".join(c.get("command", []) + c.get("args", []))
    m = re.search(r"--maxmemory (\S+)", text)
    limit = (c.get("resources", {}).get("limits") or {}).get("memory")
    if not m or not limit:
        errors.append("StatefulSet/redis: --maxmemory and a memory limit expected")
    elif quantity(m.group(1)) > 0.6 * quantity(limit):
        errors.append(f"StatefulSet/redis: --maxmemory {m.group(1)} above 60% of the {limit} limit")
    return errors


def serve_rules(deployments, netpols):
    dep = deployments.get("producer-serve")
    if not dep:
        return ["Deployment/producer-serve (the queue gauges) missing"]
    errors = []
    spec = pod_spec(dep)
    c = spec["containers"][0]
    if c.get("args", [])[:2] != ["producer", "serve"]:
        errors.append("Deployment/producer-serve: must run `producer serve`")
    port = next((p["containerPort"] for p in c.get("ports", []) if p.get("name") == "http"), None)
    for probe, path in (("livenessProbe", "/healthz"), ("readinessProbe", "/readyz")):
        get = (c.get(probe) or {}).get("httpGet") or {}
        if get.get("path") != path or get.get("port") not in ("http", port):
            errors.append(f"Deployment/producer-serve: {probe} must GET {path} on its http port")
    labels = dep["spec"]["template"]["metadata"]["labels"]
    if labels.get("electrokerot/metrics") != "true":
        errors.append("Deployment/producer-serve: label electrokerot/metrics=true (scraped like the workers)")
    open_ports = {p.get("port") for n in netpols.values() for r in n["spec"].get("ingress", []) or []
                  for p in r.get("ports", []) or []}
    if port not in open_ports:
        errors.append(f"Deployment/producer-serve: no NetworkPolicy admits its metrics port {port}")
    return errors


def monitoring_rules(by_kind, docs):
    """A PodMonitor must find a named port on every pod it selects."""
    errors = []
    for name, pm in by_kind.get("PodMonitor", {}).items():
        sel = pm["spec"]["selector"].get("matchLabels", {})
        ports = {e.get("port") for e in pm["spec"]["podMetricsEndpoints"]}
        selected = 0
        for d in docs:
            spec = pod_spec(d)
            if not spec or d["kind"] == "CronJob":
                continue
            labels = d["spec"]["template"]["metadata"].get("labels", {})
            if all(labels.get(k) == v for k, v in sel.items()):
                selected += 1
                named = {p.get("name") for c in spec["containers"] for p in c.get("ports", [])}
                if not ports & named:
                    errors.append(f"PodMonitor/{name}: {d['kind']}/{d['metadata']['name']} has no port named {sorted(ports)}")
        if selected < 3:
            errors.append(f"PodMonitor/{name}: selects {selected} workloads (crawler, updater, producer-serve expected)")
    return errors


if __name__ == "__main__":
    main()
