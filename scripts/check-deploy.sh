#!/usr/bin/env bash
# check-deploy.sh: the CI check of the deployment files (issues 7 and 13).
#
#   1. docker-compose.yml: `docker-compose config -q` (Debian's docker-compose v1; no Docker
#      engine needed) for the default, offline and monitoring profiles, .env.example and the
#      Redis Sentinel and Cluster override files (deploy/compose/redis-*.yml); the
#      compose-spec JSON schema (what Compose v2 reads); deploy/check/compose_rules.py: profiles
#      (no documented `docker compose up` starts a crawl), memory limits, Redis maxmemory under
#      its limit, secrets as files only, health checks, Prometheus scraping every worker.
#   1b. deploy/monitoring: `promtool check rules`, `promtool test rules` (a case per alert),
#      `promtool check config`; the dashboard's JSON, an OPERATING.md runbook entry per alert.
#   2. k8s/: every overlay rendered with `kubectl kustomize` (on a temporary copy whose
#      secrets.env files are made from the committed *.env.example, so no real secret is ever
#      read), plus prod with each optional component; core objects validated with
#      `kubernetes-validate --strict` against the oldest (1.29: native sidecars) and newest
#      Kubernetes versions we support; KEDA and Prometheus Operator objects against
#      deploy/schemas/*.schema.json; plus the rules of deploy/check/k8s_rules.py.
#   3. Copies kept in sync (scrape configs, Mongo init script, alert rules and dashboard in
#      k8s/components/monitoring) and a static look at the Dockerfile.
#   4. Secret scan over `git ls-files`: passwords, tokens, private keys and credentialed URLs.
#
# Installs what it lacks: docker-compose and prometheus (promtool) with apt-get,
# kubernetes-validate and check-jsonschema with pip into the git-ignored .venv. Idempotent;
# quiet on success except a summary; non-zero on any failure.
# Env: K8S_VERSIONS (default "1.29.0 1.31.0 1.37.0"), CHECK_DEPLOY_VERBOSE=1 to print every step's log.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
K8S_VERSIONS="${K8S_VERSIONS:-1.29.0 1.31.0 1.37.0}"
KUBERNETES_VALIDATE_SPEC='kubernetes-validate>=1.31,<2'
# Vendors the compose-spec JSON schema (--builtin-schema vendor.compose-spec), offline.
CHECK_JSONSCHEMA_SPEC='check-jsonschema>=0.29,<1'
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
  if ! command -v promtool >/dev/null 2>&1; then
    as_root apt-get update -qq
    DEBIAN_FRONTEND=noninteractive as_root apt-get install -y -qq --no-install-recommends prometheus >/dev/null
    installed+=(prometheus)
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
  if [[ ! -x "$ROOT/.venv/bin/check-jsonschema" ]]; then
    "$PY" -m pip install -q --disable-pip-version-check "$CHECK_JSONSCHEMA_SPEC"
    installed+=(check-jsonschema)
  fi
  note "docker-compose $(docker-compose version --short 2>/dev/null), promtool, check-jsonschema, kubectl kustomize, $("$ROOT/.venv/bin/kubernetes-validate" --version 2>&1 | tail -n1)${installed:+; installed: ${installed[*]}}"
}

# --- 1. compose --------------------------------------------------------------------------------
check_compose() {
  local env="$TMP/compose.env" offline="$TMP/compose-offline.env" all="$TMP/compose-all.yml"
  # Secrets are files under ./secrets/ (compose secrets); no env file holds one.
  printf 'EK_ENV=production\n' >"$env"
  printf 'EK_ENV=development\nEK_PROXY=\nEK_SCRAPE_CONFIG=./deploy/scrapConfig.offline.json\nTOR_EXTRA_CONFIG=DisableNetwork 1\n' >"$offline"

  docker-compose --env-file "$env" -f docker-compose.yml config -q
  docker-compose --env-file "$ROOT/.env.example" -f docker-compose.yml config -q
  # The Redis modes beyond one node (deploy/compose/redis-*.yml on top of the base file).
  local mode
  for mode in sentinel cluster; do
    docker-compose --env-file "$env" -f docker-compose.yml -f "deploy/compose/redis-$mode.yml" config -q
  done
  docker-compose --env-file "$offline" -f docker-compose.yml --profile offline config -q
  docker-compose --env-file "$env" -f docker-compose.yml --profile monitoring config -q
  docker-compose --env-file "$offline" -f docker-compose.yml --profile offline --profile monitoring --profile run config >"$all"
  # Compose v2 reads the file by the compose-spec; Debian's docker-compose is v1, so also the
  # spec's JSON schema (vendored by check-jsonschema: vendor.compose-spec). A broken copy must
  # fail, or the validator is not looking.
  "$ROOT/.venv/bin/check-jsonschema" -q --builtin-schema vendor.compose-spec docker-compose.yml
  sed 's/^  redis:$/  redis:\n    not_a_compose_key: 1/' docker-compose.yml >"$TMP/broken-compose.yml"
  if "$ROOT/.venv/bin/check-jsonschema" -q --builtin-schema vendor.compose-spec "$TMP/broken-compose.yml" >/dev/null 2>&1; then
    echo "check-jsonschema accepted an unknown service key: the compose-spec schema is not applied"
    return 1
  fi
  "$PY" "$ROOT/deploy/check/compose_rules.py" --all-profiles "$all" --prometheus deploy/monitoring/prometheus.yml \
    README.md docs/OPERATING.md docker-compose.yml .env.example >"$TMP/summary.rules"
  note "config -q ok (default, offline, monitoring, .env.example, redis-sentinel, redis-cluster); compose-spec schema ok; $(cat "$TMP/summary.rules")"
}

# --- 1b. monitoring: alert rules, their unit tests, the dashboard -------------------------------
check_monitoring() {
  local m="$ROOT/deploy/monitoring" out
  promtool check rules "$m/alerts.yml" >/dev/null
  promtool test rules "$m/alerts.test.yml"
  # The Prometheus config of the compose profile, with its rule file where the container has it.
  mkdir -p "$TMP/prom"
  cp "$m/alerts.yml" "$TMP/prom/alerts.yml"
  sed "s#/etc/prometheus/alerts.yml#$TMP/prom/alerts.yml#" "$m/prometheus.yml" >"$TMP/prom/prometheus.yml"
  promtool check config "$TMP/prom/prometheus.yml" >/dev/null
  out="$("$PY" "$ROOT/deploy/check/monitoring_rules.py" --rules "$m/alerts.yml" --tests "$m/alerts.test.yml" \
    --dashboard "$m/grafana/dashboards/electrokerot.json" --runbook docs/OPERATING.md)"
  note "promtool $(promtool --version 2>&1 | head -n1 | awk '{print $3}'): rules, unit tests and config ok; $out"
}

# --- 2. kubernetes -----------------------------------------------------------------------------
check_k8s() {
  cp -r "$ROOT/k8s" "$TMP/k8s"
  find "$TMP/k8s" -name '*.env' -delete # never read a real secrets.env; use the templates
  local ex overlay name out rendered=()
  while IFS= read -r ex; do cp "$ex" "${ex%.example}"; done < <(find "$TMP/k8s" -name '*.env.example')
  # Optional components, on top of prod (an overlay of their own would only be an example).
  mkdir -p "$TMP/k8s/overlays/prod+monitoring"
  printf 'apiVersion: kustomize.config.k8s.io/v1beta1\nkind: Kustomization\nnamespace: electrokerot\nresources: [../prod]\ncomponents: [../../components/monitoring]\n' \
    >"$TMP/k8s/overlays/prod+monitoring/kustomization.yaml"
  for overlay in "$TMP"/k8s/overlays/*/; do
    name="$(basename "$overlay")"
    out="$TMP/render-$name.yaml"
    kubectl kustomize "$overlay" >"$out"
    rendered+=("$name=$out")
  done
  [[ ${#rendered[@]} -gt 0 ]] || { echo "no overlays under k8s/overlays"; return 1; }
  "$PY" "$ROOT/deploy/check/k8s_rules.py" --schema "$ROOT/deploy/schemas/keda-v1alpha1.schema.json" \
    --monitoring-schema "$ROOT/deploy/schemas/monitoring-coreos-v1.schema.json" \
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
  same deploy/monitoring/grafana/dashboards/electrokerot.json k8s/components/monitoring/electrokerot.json
  "$PY" - <<'PY' || errs=1
import sys, yaml
plain = yaml.safe_load(open("deploy/monitoring/alerts.yml"))["groups"]
rule = yaml.safe_load(open("k8s/components/monitoring/prometheusrule.yaml"))["spec"]["groups"]
if plain != rule:
    sys.exit("k8s/components/monitoring/prometheusrule.yaml differs from deploy/monitoring/alerts.yml "
             "(regenerate it: see docs/OPERATING.md, Alerts)")
PY
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
  run_step "monitoring" check_monitoring
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
