#!/usr/bin/env bash
# Installs what the tests, `make run` and the benchmarks need, only where it is missing:
# Debian packages (redis-server, redis-tools; microsocks and tor for the proxy tests; prometheus for promtool;
# chromium and chromium-driver for the browser test of the monitoring page)
# and SecantusDB in the project's own virtualenv (.venv, ignored by git). Safe to run again: it
# does nothing then.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=()
command -v redis-server >/dev/null || apt_packages+=(redis-server)
# redis-cli: the harness joins its test Cluster and asks its Sentinels with it.
command -v redis-cli >/dev/null || apt_packages+=(redis-tools)
command -v microsocks >/dev/null || apt_packages+=(microsocks)
command -v tor >/dev/null || apt_packages+=(tor)
# promtool checks and unit-tests the alert rules (scripts/check-deploy.sh).
command -v promtool >/dev/null || apt_packages+=(prometheus)
# The monitoring page's browser test (producer/tests/web_page.rs) drives Debian's chromium
# through chromedriver (WebDriver).
command -v chromium >/dev/null || apt_packages+=(chromium)
command -v chromedriver >/dev/null || apt_packages+=(chromium-driver)

if ((${#apt_packages[@]})); then
  echo "setup: installing Debian packages: ${apt_packages[*]}"
  if [ "$(id -u)" -ne 0 ]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${apt_packages[@]}" >/dev/null
fi

if [ ! -x .venv/bin/python ]; then
  echo "setup: creating .venv"
  python3 -m venv .venv
fi
if ! .venv/bin/python -c 'import secantus' 2>/dev/null || [ ! -x .venv/bin/secantusd-py ]; then
  echo "setup: installing python packages into .venv"
  .venv/bin/pip install -q --disable-pip-version-check -r scripts/requirements.txt
fi
