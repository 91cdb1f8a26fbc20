#!/usr/bin/env bash
# Runs every test, after installing what the tests talk to: the one command
# the README gives, and the one .ci/run ends with. On a fresh Debian or
# Ubuntu machine with Rust installed:
#
#     tests/run.sh                # every test
#     tests/run.sh -E 'test(/kill/)'   # extra arguments go to cargo nextest run
#
# It installs, once, and only what is missing:
# - Postfix's smtp-sink, the real SMTP server the delivery tests talk to,
#   Debian's Chromium, the real browser the preview test drives, and nginx
#   (with openssl and curl), the reverse proxy serve is tested behind
#   (apt-get, so root or sudo);
# - aiosmtpd, the second, independent SMTP server of the delivery matrix
#   (tests/smtp/server.py), in a venv the tests find at target/aiosmtpd-venv;
# - playwright-core (npm ci in tests/browser/), which drives that Chromium
#   (it downloads no browser of its own);
# - cargo-nextest, the test runner (each test in its own process).
# Then it runs the tests with CI=1: a test whose outside program is missing
# fails instead of skipping, so "all passed" means all of them ran.
set -euo pipefail
cd "$(dirname "$0")/.."

# apt-get as root, or through sudo for a developer.
apt_install() {
  local sudo=()
  [ "$(id -u)" -eq 0 ] || sudo=(sudo)
  "${sudo[@]}" apt-get update -qq
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$@" >/dev/null
}

missing=()
[ -x /usr/sbin/smtp-sink ] || missing+=(postfix)
[ -x /usr/bin/chromium ] || missing+=(chromium)
# A real reverse proxy in front of serve (tests/proxy.rs), its certificate, its clients.
[ -x /usr/sbin/nginx ] || missing+=(nginx)
command -v openssl >/dev/null 2>&1 || missing+=(openssl)
command -v curl >/dev/null 2>&1 || missing+=(curl)
# GNU time: the peak memory benches/compare.sh reports (its quick mode runs in the tests).
[ -x /usr/bin/time ] || missing+=(time)
python3 -c 'import ensurepip' >/dev/null 2>&1 || missing+=(python3-venv)
command -v npm >/dev/null 2>&1 || missing+=(npm)
# A Japanese font, or the screenshots show Japanese items as empty boxes.
{ command -v fc-list >/dev/null 2>&1 && [ -n "$(fc-list :lang=ja)" ]; } || missing+=(fonts-ipafont-gothic)
if [ ${#missing[@]} -gt 0 ]; then
  apt_install "${missing[@]}"
  # Tests need smtp-sink and start private Postfix instances of their own
  # (tests/common/postfix.rs): the daemon the package starts must not be
  # left running (it would hold port 25).
  if [[ " ${missing[*]} " == *" postfix "* ]]; then
    if [ "$(id -u)" -eq 0 ]; then postfix stop >/dev/null 2>&1 || true
    else sudo postfix stop >/dev/null 2>&1 || true; fi
  fi
  # Likewise the nginx the package may start (port 80): tests start private
  # instances (tests/common/nginx.rs). Stopped by its own PID file.
  if [[ " ${missing[*]} " == *" nginx "* ]] && [ -s /run/nginx.pid ]; then
    if [ "$(id -u)" -eq 0 ]; then kill "$(cat /run/nginx.pid)" 2>/dev/null || true
    else sudo kill "$(cat /run/nginx.pid)" 2>/dev/null || true; fi
  fi
fi

if ! target/aiosmtpd-venv/bin/python -c 'import aiosmtpd, dkim, nacl' >/dev/null 2>&1; then
  python3 -m venv target/aiosmtpd-venv
  target/aiosmtpd-venv/bin/pip install -q -r tests/smtp/requirements.txt
fi

# Again whenever package-lock.json changed since the last install.
[ tests/browser/node_modules/.package-lock.json -nt tests/browser/package-lock.json ] ||
  (cd tests/browser && npm ci --no-audit --no-fund --loglevel=error)

command -v cargo-nextest >/dev/null 2>&1 || cargo install --locked cargo-nextest

CI=1 exec cargo nextest run --locked --no-fail-fast "$@"
