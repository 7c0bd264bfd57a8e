#!/usr/bin/env bash
# Installs what the tests use as independent peers: Debian tools (curl, nghttp/h2load, openssl, BIND9,
# chromium) and a Python venv in .venv with pycapnp, h2, websockets, schemathesis and playwright. Idempotent and quiet: a second run
# only checks and returns.
set -euo pipefail
cd "$(dirname "$0")/.."

apt_packages=()
command -v curl >/dev/null 2>&1 || apt_packages+=(curl)
command -v nghttp >/dev/null 2>&1 || apt_packages+=(nghttp2-client)
command -v openssl >/dev/null 2>&1 || apt_packages+=(openssl)
# BIND9: the real DNS server that edge discovery is tested against.
[ -x /usr/sbin/named ] || command -v named >/dev/null 2>&1 || apt_packages+=(bind9)
# dig: queries the edge's own authoritative DNS server in tests.
command -v dig >/dev/null 2>&1 || apt_packages+=(bind9-dnsutils)
# chromium: the login page is tested in a real (headless) browser, driven by Playwright.
command -v chromium >/dev/null 2>&1 || apt_packages+=(chromium)
if [ ${#apt_packages[@]} -gt 0 ]; then
    echo "installing Debian packages: ${apt_packages[*]}"
    sudo_cmd=""
    [ "$(id -u)" -ne 0 ] && sudo_cmd="sudo"
    $sudo_cmd apt-get update -qq >/dev/null
    DEBIAN_FRONTEND=noninteractive $sudo_cmd apt-get install -y -qq "${apt_packages[@]}" >/dev/null
fi

stamp=.venv/.requirements-installed
if [ ! -x .venv/bin/python3 ] || ! cmp -s Tests/requirements.txt "$stamp"; then
    echo "setting up .venv with the Python test peers (Tests/requirements.txt)"
    python3 -m venv .venv
    .venv/bin/pip install -q --disable-pip-version-check -r Tests/requirements.txt
    cp Tests/requirements.txt "$stamp"
fi
