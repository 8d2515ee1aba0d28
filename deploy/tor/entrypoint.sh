#!/bin/sh
# Tor entrypoint: hashes TOR_CONTROL_PASSWORD at start-up (tor --hash-password), writes the
# runtime torrc into TOR_RUN_DIR and execs tor. Nothing secret is baked into the image.
# Env: TOR_CONTROL_PASSWORD or TOR_CONTROL_PASSWORD_FILE (required), TOR_SOCKS_ADDR (0.0.0.0:9050),
#      TOR_CONTROL_ADDR (0.0.0.0:9051), TOR_RUN_DIR (/tmp), TOR_DATA_DIR (/var/lib/tor-run/data:
#      a subdirectory, so that Tor creates it with the owner and 0700 mode it insists on even
#      when the mounted volume belongs to root or to the pod's fsGroup),
#      TOR_EXTRA_CONFIG (extra torrc lines, e.g. "DisableNetwork 1" for an offline run).
set -eu
# TOR_CONTROL_PASSWORD_FILE (a compose secret or a Kubernetes secret volume) instead of the value.
if [ -n "${TOR_CONTROL_PASSWORD_FILE:-}" ]; then
  if [ -n "${TOR_CONTROL_PASSWORD:-}" ]; then
    echo "tor-entrypoint: set TOR_CONTROL_PASSWORD or TOR_CONTROL_PASSWORD_FILE, not both" >&2
    exit 64
  fi
  TOR_CONTROL_PASSWORD="$(cat "$TOR_CONTROL_PASSWORD_FILE")" || { echo "tor-entrypoint: cannot read $TOR_CONTROL_PASSWORD_FILE" >&2; exit 66; }
fi
if [ -z "${TOR_CONTROL_PASSWORD:-}" ]; then
  echo "tor-entrypoint: TOR_CONTROL_PASSWORD (or TOR_CONTROL_PASSWORD_FILE) must be set" >&2
  exit 64
fi
run_dir="${TOR_RUN_DIR:-/tmp}"
data_dir="${TOR_DATA_DIR:-/var/lib/tor-run/data}"
mkdir -p "$run_dir" "$data_dir"
chmod 0700 "$data_dir" 2>/dev/null || true
hash="$(tor --quiet --hash-password "$TOR_CONTROL_PASSWORD" | tail -n 1)"
case "$hash" in 16:*) ;; *) echo "tor-entrypoint: tor --hash-password failed" >&2; exit 70 ;; esac
umask 077
cat > "$run_dir/torrc" <<TORRC
%include ${TOR_BASE_CONFIG:-/etc/tor/torrc.base}
DataDirectory $data_dir
SocksPort ${TOR_SOCKS_ADDR:-0.0.0.0:9050}
ControlPort ${TOR_CONTROL_ADDR:-0.0.0.0:9051}
HashedControlPassword $hash
${TOR_EXTRA_CONFIG:-}
TORRC
exec tor -f "$run_dir/torrc" "$@"
