#!/bin/bash
# ek-healthcheck: the image's HEALTHCHECK. GETs a path on the process's HTTP port with bash's
# /dev/tcp (the runtime image carries no curl) and succeeds on a 2xx answer.
#   ek-healthcheck [PATH] [HOST:PORT]
# Defaults: PATH=$EK_HEALTH_PATH or /healthz, HOST:PORT=$EK_HEALTH_ADDR or $EK_HTTP_ADDR
# (0.0.0.0:9100). EK_HEALTH_ANY_STATUS=1 accepts any HTTP answer (for danawa-sim).
set -u
path="${1:-${EK_HEALTH_PATH:-/healthz}}"
addr="${2:-${EK_HEALTH_ADDR:-${EK_HTTP_ADDR:-0.0.0.0:9100}}}"
port="${addr##*:}"
host="${addr%:*}"
host="${host#[}"; host="${host%]}"
case "$host" in "" | 0.0.0.0 | "::") host=127.0.0.1 ;; esac
{ exec 3<>"/dev/tcp/${host}/${port}"; } 2>/dev/null || { echo "unhealthy: cannot connect to ${host}:${port}"; exit 1; }
printf 'GET %s HTTP/1.0\r\nHost: %s\r\nConnection: close\r\n\r\n' "$path" "$host" >&3
IFS= read -r -t 4 status <&3 || { echo "unhealthy: no answer on ${path}"; exit 1; }
status="${status%$'\r'}"
case "$status" in
  "HTTP/1."?" 2"*) exit 0 ;;
  "HTTP/"*) [ "${EK_HEALTH_ANY_STATUS:-0}" = 1 ] && exit 0 ;;
esac
echo "unhealthy: ${path}: ${status}"
exit 1
