"""Rules for docker-compose.yml (called by scripts/check-deploy.sh with the file rendered by
`docker-compose config` for every profile, the raw file and the documents with compose commands).

Checks: the services and their profiles (the producer only in `run`, so no `up` starts a crawl);
no documented `docker compose up` (start, scale, rotate, upgrade, offline, monitoring) starts a
service that runs `producer run`; a memory limit on every service, Redis --maxmemory at most
60% of its limit (room for the AOF-rewrite fork); secrets only as files under ./secrets/,
mounted where a `*_FILE` variable points, never a value in the environment or a Redis URL with
a password; health checks, grace periods, read-only roots; no fixed host port except Prometheus,
Grafana and serve (the monitoring page) on loopback; Prometheus scrapes serve and every worker on a network they share.
Prints a one-line summary; errors on stderr and exit 1.
"""

import argparse
import re
import shlex
import sys

import yaml

PROFILES = {"danawa-sim": ["offline"], "producer": ["run"], "prometheus": ["monitoring"], "grafana": ["monitoring"]}
SERVICES = {"redis", "mongo", "tor", "producer", "serve", "crawler-worker", "updater-worker", "danawa-sim",
            "prometheus", "grafana"}
SCALED = {"crawler-worker", "updater-worker"}
# `serve` publishes the monitoring page (tokens required, loopback only).
PUBLISHING = {"prometheus", "grafana", "serve"}
SECRET_KEY = re.compile(r"PASSWORD|SECRET|TOKEN|_AUTH$", re.I)
UNITS = {"b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}
COMMAND = re.compile(r"docker[ -]compose\b[^\n`|;&]*")


def size(text):
    m = re.fullmatch(r"(\d+)\s*([bkmg])?b?", str(text).strip().lower())
    if not m:
        raise ValueError(f"size {text!r}")
    return int(m.group(1)) * UNITS[m.group(2) or "b"]


def mem_limit(svc):
    if "mem_limit" in svc:
        return size(svc["mem_limit"])
    limit = (((svc.get("deploy") or {}).get("resources") or {}).get("limits") or {}).get("memory")
    return size(limit) if limit else None


def command_of(svc):
    cmd = svc.get("command") or []
    return shlex.split(cmd) if isinstance(cmd, str) else list(cmd)


def starts_crawl(svc):
    cmd = command_of(svc)
    return len(cmd) >= 2 and cmd[0] == "producer" and cmd[1] == "run"


def env_of(svc):
    env = svc.get("environment") or {}
    if isinstance(env, list):
        env = dict(e.split("=", 1) if "=" in e else (e, "") for e in env)
    return {k: ("" if v is None else str(v)) for k, v in env.items()}


def service_rules(services, secrets):
    errors = []
    if set(services) != SERVICES:
        errors.append(f"services {sorted(services)} != {sorted(SERVICES)}")
    for name, svc in services.items():
        where = f"service {name}"
        if (svc.get("profiles") or []) != PROFILES.get(name, []):
            errors.append(f"{where}: profiles {svc.get('profiles')} (expected {PROFILES.get(name, [])})")
        if "container_name" in svc:
            errors.append(f"{where}: container_name breaks --scale")
        for p in svc.get("ports", []) or []:
            host_ip = p.get("host_ip") if isinstance(p, dict) else (str(p).split(":")[0] if str(p).count(":") >= 2 else None)
            published = p.get("published") if isinstance(p, dict) else str(p).count(":") >= 1
            if published and (name not in PUBLISHING or host_ip != "127.0.0.1"):
                errors.append(f"{where}: published port {p}: only Prometheus, Grafana and serve publish, on 127.0.0.1")
        for dep, cond in (svc.get("depends_on") or {}).items():
            c = cond.get("condition") if isinstance(cond, dict) else None
            if c not in ("service_healthy", "service_completed_successfully"):
                errors.append(f"{where}: depends_on {dep} must wait with condition: service_healthy")
        hc = svc.get("healthcheck")
        if name != "producer" and (not hc or hc.get("disable")) and "build" not in svc:
            errors.append(f"{where}: no healthcheck")
        limit = mem_limit(svc)
        if not limit:
            errors.append(f"{where}: no memory limit (mem_limit)")
        if name in SCALED:
            grace = str(svc.get("stop_grace_period", "10s"))
            if not grace.endswith("s") or int(grace[:-1].replace("m", "")) <= 30:
                errors.append(f"{where}: stop_grace_period {grace} must exceed the 30s shutdown grace")
            if not svc.get("read_only"):
                errors.append(f"{where}: read_only root filesystem expected")
        if starts_crawl(svc) and svc.get("restart", "no") != "no":
            errors.append(f"{where}: runs `producer run` and restarts: every restart could begin a new run")
        # Secrets: files only, mounted where the *_FILE variables point.
        env = env_of(svc)
        mounted = {s if isinstance(s, str) else s.get("source") for s in svc.get("secrets", []) or []}
        for key, value in env.items():
            if key.endswith("_FILE") and value.startswith("/run/secrets/"):
                if value.split("/")[-1] not in mounted:
                    errors.append(f"{where}: {key} points at {value}, a secret the service does not mount")
            elif SECRET_KEY.search(key) and value:
                errors.append(f"{where}: {key} holds a value; give secrets as files ({key}_FILE)")
            if re.search(r"redis://[^@/\s]*:[^@/\s]+@", value):
                errors.append(f"{where}: {key} is a Redis URL with a password; use REDIS_PASSWORD_FILE")
        if name == "redis":
            cmd = " ".join(command_of(svc))
            if "--requirepass" not in cmd or "--appendonly yes" not in cmd or "/run/secrets/" not in cmd:
                errors.append(f"{where}: --requirepass from /run/secrets and --appendonly yes expected")
            m = re.search(r"--maxmemory (\S+)", cmd)
            if not m:
                errors.append(f"{where}: --maxmemory missing (noeviction without it grows until the OOM killer)")
            elif limit and size(m.group(1)) > 0.6 * limit:
                errors.append(f"{where}: --maxmemory {m.group(1)} above 60% of mem_limit: an AOF rewrite forks "
                              "and its copy-on-write pages need the rest")
    for sname, spec in (secrets or {}).items():
        if not str((spec or {}).get("file", "")).rstrip("/").split("/")[-2:-1] == ["secrets"]:
            errors.append(f"secret {sname}: expected a file under ./secrets/ (git-ignored), got {spec}")
    return errors


def started_by(argv, services):
    """The services `docker compose ARGV` starts (for `up`), or None for other subcommands."""
    profiles, i = [], 0
    while i < len(argv) and argv[i].startswith("-"):
        if argv[i] == "--profile":
            profiles.append(argv[i + 1])
            i += 2
        elif argv[i] in ("-f", "--file", "--env-file", "-p", "--project-name", "--project-directory"):
            i += 2
        else:
            i += 1
    if i >= len(argv) or argv[i] != "up":
        return None
    named, rest = [], argv[i + 1:]
    j = 0
    while j < len(rest):
        if rest[j] in ("--scale", "-t", "--timeout", "--wait-timeout"):
            j += 2
        elif rest[j].startswith("-"):
            j += 1
        else:
            named.append(rest[j])
            j += 1
    if named:
        todo, out = list(named), set()
        while todo:
            s = todo.pop()
            if s in out or s not in services:
                continue
            out.add(s)
            todo += list((services[s].get("depends_on") or {}))
        return out
    return {n for n, s in services.items() if not s.get("profiles") or set(s["profiles"]) & set(profiles)}


def command_rules(services, docs):
    errors, checked = [], 0
    for path in docs:
        for n, line in enumerate(open(path), 1):
            for m in COMMAND.finditer(line):
                text = m.group(0).split(" #")[0].strip()
                try:
                    argv = shlex.split(text)[2 if text.startswith("docker compose") else 1:]
                except ValueError:
                    continue
                started = started_by(argv, services)
                if started is None:
                    continue
                checked += 1
                crawl = sorted(s for s in started if starts_crawl(services[s]))
                if crawl:
                    errors.append(f"{path}:{n}: `{text}` starts {crawl}, which runs `producer run` (a crawl)")
    if checked < 5:
        errors.append(f"only {checked} documented `docker compose up` commands found; the check reads too little")
    return errors, checked


def monitoring_rules(services, prometheus_config):
    errors = []
    if "prometheus" not in services or "grafana" not in services:
        return ["no prometheus and grafana services (the monitoring profile)"]
    prom = yaml.safe_load(open(prometheus_config))
    targets = set()
    for job in prom.get("scrape_configs", []):
        for sc in job.get("static_configs", []):
            targets.update(sc.get("targets", []))
        for dns in job.get("dns_sd_configs", []):
            targets.update(f"{name}:{dns.get('port')}" for name in dns.get("names", []))
    prom_nets = set(services["prometheus"].get("networks") or [])
    for name, svc in services.items():
        addr = env_of(svc).get("EK_HTTP_ADDR")
        if not addr or name in ("producer",):
            continue
        port = addr.rsplit(":", 1)[1]
        if f"{name}:{port}" not in targets:
            errors.append(f"{prometheus_config}: no scrape target {name}:{port} (its /metrics)")
        if not set(svc.get("networks") or []) & prom_nets:
            errors.append(f"service {name}: shares no network with prometheus, which cannot scrape it")
    mounts = " ".join(str(v) for v in services["grafana"].get("volumes", []))
    if "grafana/dashboards" not in mounts or "grafana/provisioning" not in mounts:
        errors.append("service grafana: the dashboards and provisioning directories must be mounted")
    return errors


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--all-profiles", required=True, help="docker-compose config output with every profile")
    ap.add_argument("--prometheus", required=True)
    ap.add_argument("docs", nargs="+")
    args = ap.parse_args()
    rendered = yaml.safe_load(open(args.all_profiles))
    services = rendered["services"]
    errors = service_rules(services, rendered.get("secrets"))
    cmd_errors, checked = command_rules(services, args.docs)
    errors += cmd_errors
    errors += monitoring_rules(services, args.prometheus)
    for e in errors:
        print(e, file=sys.stderr)
    if errors:
        sys.exit(1)
    print(f"{len(services)} services: profiles, memory limits, secrets as files, health checks ok; "
          f"{checked} documented `up` commands start no crawl; Prometheus scrapes serve and every worker")


if __name__ == "__main__":
    main()
