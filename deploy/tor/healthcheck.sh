#!/bin/bash
# tor-healthcheck: authenticates on the control port with TOR_CONTROL_PASSWORD or the content of
# TOR_CONTROL_PASSWORD_FILE (so the hashed
# password is proven to work) and asks for the bootstrap phase. Healthy once Tor answers
# "250 OK"; it does not wait for a full bootstrap, so an offline run (no internet) stays healthy.
set -u
addr="${TOR_CONTROL_ADDR:-0.0.0.0:9051}"
port="${addr##*:}"
pw="${TOR_CONTROL_PASSWORD:-}"
if [ -n "${TOR_CONTROL_PASSWORD_FILE:-}" ]; then pw="$(cat "$TOR_CONTROL_PASSWORD_FILE")"; fi
pw_hex="$(printf '%s' "$pw" | od -An -tx1 | tr -d ' \n')"
{ exec 3<>"/dev/tcp/127.0.0.1/${port}"; } 2>/dev/null || { echo "tor control port closed"; exit 1; }
printf 'AUTHENTICATE %s\r\nGETINFO status/bootstrap-phase\r\nQUIT\r\n' "$pw_hex" >&3
IFS= read -r -t 4 auth <&3 || { echo "no answer from tor"; exit 1; }
IFS= read -r -t 4 phase <&3 || true
case "$auth" in
  "250 OK"*) echo "${phase#250-status/bootstrap-phase=}"; exit 0 ;;
  *) echo "tor control: ${auth}"; exit 1 ;;
esac
