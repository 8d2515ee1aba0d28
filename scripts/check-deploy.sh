#!/usr/bin/env bash
# check-deploy.sh: the CI check of the deployment files (issue 7).
#
#   1. docker-compose.yml: `docker-compose config -q` (Debian's docker-compose; no Docker engine
#      needed) with throwaway env files (the default profile, the offline profile, and
#      .env.example as committed), that missing secrets are refused, and structural rules
#      (no container_name or fixed host port on scaled services, depends_on waits for health).
#   2. k8s/: every overlay rendered with `kubectl kustomize` (on a temporary copy whose
#      secrets.env files are made from the committed *.env.example, so no real secret is ever
#      read), core objects validated with `kubernetes-validate --strict` against the oldest and
#      newest Kubernetes versions we support; KEDA objects (not in the core schemas) validated
#      against deploy/schemas/keda-v1alpha1.schema.json; plus the issue's rules (probes,
#      securityContext, grace period, PDBs, NetworkPolicies, CronJob Forbid, KEDA wiring).
#   3. Copies kept in sync (scrape configs, Mongo init script) and a static look at Dockerfile.
#   4. Secret scan over `git ls-files`: passwords, tokens, private keys and credentialed URLs.
#
# Installs what it lacks: docker-compose (apt-get) and kubernetes-validate (pip, into the
# git-ignored .venv). Idempotent; quiet on success except a summary; non-zero on any failure.
# Env: K8S_VERSIONS (default "1.31.0 1.37.0"), CHECK_DEPLOY_VERBOSE=1 to print every step's log.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
K8S_VERSIONS="${K8S_VERSIONS:-1.31.0 1.37.0}"
KUBERNETES_VALIDATE_SPEC='kubernetes-validate>=1.31,<2'
TMP="$(mktemp -d)"
trap 'rm -rf "$TMP"' EXIT
START=$SECONDS
FAILED=0
SUMMARY=()
PY="$ROOT/.venv/bin/python"

# run_step NAME FUNCTION: runs FUNCTION with its output captured; prints the log only on failure.
run_step() {
  local name="$1" fn="$2" log="$TMP/step.log" t0=$SECONDS
  : >"$TMP/summary"
  local rc=0
  # Not `if "$fn"`: bash ignores `set -e` inside a function called as an if-condition, which
  # would let a failing command in the middle of a step pass unnoticed.
  set +e
  (set -e; "$fn") >"$log" 2>&1
  rc=$?
  set -e
  if [[ $rc == 0 ]]; then
    SUMMARY+=("  ok    ${name}: $(cat "$TMP/summary") ($((SECONDS - t0))s)")
    [[ "${CHECK_DEPLOY_VERBOSE:-0}" == 1 ]] && sed 's/^/        /' "$log"
  else
    FAILED=1
    SUMMARY+=("  FAIL  ${name} ($((SECONDS - t0))s)")
    echo "check-deploy: ${name} FAILED:" >&2
    sed 's/^/    /' "$log" >&2
  fi
  return 0
}
note() { printf '%s' "$*" >"$TMP/summary"; }

as_root() { if [[ $(id -u) == 0 ]]; then "$@"; else sudo -n "$@"; fi; }

# --- tools -------------------------------------------------------------------------------------
ensure_tools() {
  local installed=()
  if ! command -v docker-compose >/dev/null 2>&1; then
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends docker-compose >/dev/null
    installed+=(docker-compose)
  fi
  command -v kubectl >/dev/null 2>&1 || { echo "kubectl not found (it is preinstalled on the project's machines)"; return 1; }
  if [[ ! -x "$PY" ]]; then
    python3 -m venv "$ROOT/.venv"
    installed+=(.venv)
  fi
  if [[ ! -x "$ROOT/.venv/bin/kubernetes-validate" ]] || ! "$PY" -c 'import yaml, jsonschema' 2>/dev/null; then
    "$PY" -m pip install -q --disable-pip-version-check "$KUBERNETES_VALIDATE_SPEC"
    installed+=(kubernetes-validate)
  fi
  note "docker-compose $(docker-compose version --short 2>/dev/null), kubectl kustomize, $("$ROOT/.venv/bin/kubernetes-validate" --version 2>&1 | tail -n1)${installed:+; installed: ${installed[*]}}"
}

# --- 1. compose --------------------------------------------------------------------------------
check_compose() {
  local env="$TMP/compose.env" offline="$TMP/compose-offline.env" nosecret="$TMP/compose-nosecret.env"
  # Dummy values only: nothing here is a real secret.
  printf 'REDIS_PASSWORD=dummy-redis-password\nTOR_CONTROL_PASSWORD=dummy-tor-password\n' >"$env"
  { cat "$env"; printf 'EK_ENV=development\nEK_PROXY=\nEK_SCRAPE_CONFIG=./deploy/scrapConfig.offline.json\nTOR_EXTRA_CONFIG=DisableNetwork 1\n'; } >"$offline"
  printf 'TOR_CONTROL_PASSWORD=dummy-tor-password\n' >"$nosecret"

  docker-compose --env-file "$env" -f docker-compose.yml config -q
  docker-compose --env-file "$ROOT/.env.example" -f docker-compose.yml config -q
  docker-compose --env-file "$offline" -f docker-compose.yml --profile offline config -q
  if docker-compose --env-file "$nosecret" -f docker-compose.yml config -q >/dev/null 2>&1; then
    echo "docker-compose.yml accepts a missing REDIS_PASSWORD: it must be required (\${REDIS_PASSWORD:?...})"
    return 1
  fi
  docker-compose --env-file "$offline" -f docker-compose.yml --profile offline config >"$TMP/compose-offline.yml"
  "$PY" - "$TMP/compose-offline.yml" >"$TMP/summary" <<'PY'
import sys, yaml
errors = []
offline = yaml.safe_load(open(sys.argv[1]))["services"]
want = {"redis", "mongo", "tor", "producer", "crawler-worker", "updater-worker", "danawa-sim"}
if set(offline) != want:
    errors.append(f"services {sorted(offline)} != {sorted(want)}")
for name, svc in offline.items():
    profiles = svc.get("profiles") or []
    if (name == "danawa-sim") != (profiles == ["offline"]):
        errors.append(f"{name}: profiles {profiles}: only danawa-sim belongs to (only) the offline profile")
for name, svc in offline.items():
    if "container_name" in svc:
        errors.append(f"{name}: container_name breaks --scale")
    for p in svc.get("ports", []) or []:
        published = p.get("published") if isinstance(p, dict) else (str(p).count(":") >= 1)
        if published:
            errors.append(f"{name}: fixed host port {p} breaks --scale")
    for dep, cond in (svc.get("depends_on") or {}).items():
        c = cond.get("condition") if isinstance(cond, dict) else None
        if c not in ("service_healthy", "service_completed_successfully"):
            errors.append(f"{name}: depends_on {dep} must wait with condition: service_healthy")
    hc = svc.get("healthcheck")
    if name != "producer" and (not hc or hc.get("disable")) and "build" not in svc:
        errors.append(f"{name}: no healthcheck")
    if name in ("crawler-worker", "updater-worker"):
        grace = str(svc.get("stop_grace_period", "10s"))
        if not grace.endswith("s") or int(grace[:-1].replace("m", "")) <= 30:
            errors.append(f"{name}: stop_grace_period {grace} must exceed the 30s shutdown grace")
        if not svc.get("read_only"):
            errors.append(f"{name}: read_only root filesystem expected")
redis_cmd = " ".join(offline["redis"].get("command") or [])
if "--requirepass" not in redis_cmd or "--appendonly yes" not in redis_cmd:
    errors.append("redis: --requirepass and --appendonly yes expected")
if "dummy-redis-password" in redis_cmd:
    errors.append("redis: the password is interpolated into the command; read it in the container ($$REDIS_PASSWORD)")
for e in errors:
    print(e, file=sys.stderr)
if errors:
    sys.exit(1)
print(f"config -q ok (default, --profile offline, .env.example); missing secret refused; {len(offline)} services scale-safe")
PY
}

# --- 2. kubernetes -----------------------------------------------------------------------------
check_k8s() {
  cp -r "$ROOT/k8s" "$TMP/k8s"
  find "$TMP/k8s" -name '*.env' -delete # never read a real secrets.env; use the templates
  local ex overlay name out rendered=()
  while IFS= read -r ex; do cp "$ex" "${ex%.example}"; done < <(find "$TMP/k8s" -name '*.env.example')
  for overlay in "$TMP"/k8s/overlays/*/; do
    name="$(basename "$overlay")"
    out="$TMP/render-$name.yaml"
    kubectl kustomize "$overlay" >"$out"
    rendered+=("$name=$out")
  done
  [[ ${#rendered[@]} -gt 0 ]] || { echo "no overlays under k8s/overlays"; return 1; }
  "$PY" "$ROOT/deploy/check/k8s_rules.py" --schema "$ROOT/deploy/schemas/keda-v1alpha1.schema.json" \
    --validator "$ROOT/.venv/bin/kubernetes-validate" --versions "$K8S_VERSIONS" \
    --tmp "$TMP" "${rendered[@]}" >"$TMP/summary"
}

# --- 3. copies and Dockerfile ------------------------------------------------------------------
check_files() {
  local errs=0
  same() { cmp -s "$1" "$2" || { echo "$2 differs from $1 (keep the copy in sync)"; errs=1; }; }
  same deploy/scrapConfig.json k8s/base/scrapConfig.json
  same deploy/scrapConfig.offline.json k8s/overlays/dev/scrapConfig.offline.json
  same deploy/mongo/init-replica-set.js k8s/components/mongodb/init-replica-set.js
  "$PY" - <<'PY' || errs=1
import json, sys
real = json.load(open("deploy/scrapConfig.json"))
off = json.load(open("deploy/scrapConfig.offline.json"))
diff = sorted(k for k in set(real) | set(off) if real.get(k) != off.get(k))
if diff != ["itemBaseUrl", "pageBaseUrl"] or not all("danawa-sim:8080" in off[k] for k in diff):
    sys.exit(f"scrapConfig.offline.json must differ from scrapConfig.json only in the two base URLs (pointing at danawa-sim): {diff}")
PY
  "$PY" - <<'PY' || errs=1
import re, sys
src = open("Dockerfile").read()
errors = []
bins = re.search(r'ARG BINS="([^"]+)"', src)
if not bins or set(bins.group(1).split()) != {"producer", "crawler-worker", "updater-worker", "danawa-sim"}:
    errors.append("Dockerfile: BINS must list producer crawler-worker updater-worker danawa-sim")
for stage in re.split(r"(?m)^FROM ", src)[1:]:
    head = stage.split("\n", 1)[0]
    if head.split()[0].endswith(":latest"):
        errors.append(f"Dockerfile: unpinned base image {head}")
    if " AS runtime" in head or " AS tor" in head:
        user = re.findall(r"(?m)^USER (\S+)", stage)
        if not user or user[-1].split(":")[0] in ("root", "0"):
            errors.append(f"Dockerfile stage {head}: must end as a non-root USER")
        if "HEALTHCHECK" not in stage:
            errors.append(f"Dockerfile stage {head}: no HEALTHCHECK")
if "cargo chef cook" not in src:
    errors.append("Dockerfile: dependency build (cargo chef cook) missing")
for e in errors:
    print(e)
sys.exit(1 if errors else 0)
PY
  bash -n deploy/healthcheck.sh deploy/tor/healthcheck.sh deploy/tor/entrypoint.sh || errs=1
  # With a producer binary at hand (after a cargo build), let it judge both scrape configs.
  local producer
  for producer in target/release/producer target/debug/producer; do
    if [[ -x "$producer" ]] && "$producer" --help 2>/dev/null | grep -q validate-config; then
      "$producer" validate-config deploy/scrapConfig.json >/dev/null || errs=1
      "$producer" validate-config deploy/scrapConfig.offline.json >/dev/null || errs=1
      note "copies in sync, Dockerfile ok, configs accepted by $producer"
      return "$errs"
    fi
  done
  note "copies in sync, Dockerfile ok (no producer binary with validate-config built: configs not run through it)"
  return "$errs"
}

# --- 4. secrets --------------------------------------------------------------------------------
check_secrets() {
  git ls-files -z >"$TMP/files"
  "$PY" "$ROOT/deploy/check/secret_scan.py" "$TMP/files" >"$TMP/summary"
}

run_step "tools" ensure_tools
if [[ $FAILED == 0 ]]; then
  run_step "compose" check_compose
  run_step "kubernetes" check_k8s
  run_step "files" check_files
  run_step "secrets" check_secrets
fi

if [[ $FAILED == 0 ]]; then
  echo "check-deploy: ok in $((SECONDS - START))s"
  printf '%s\n' "${SUMMARY[@]}"
else
  echo "check-deploy: FAILED in $((SECONDS - START))s" >&2
  printf '%s\n' "${SUMMARY[@]}" >&2
  exit 1
fi
