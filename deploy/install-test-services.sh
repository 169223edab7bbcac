#!/bin/sh
# Installs the real services the tests start by themselves, from Debian's
# packages: Prometheus (prometheus, promtool), Alertmanager and Chromium (the
# report's browser test). Nothing is started here: each test starts its own
# on a free loopback port, or (Chromium) its own headless browser.
set -eu
need=""
command -v prometheus >/dev/null 2>&1 || need="$need prometheus"
command -v promtool >/dev/null 2>&1 || need="$need prometheus"
command -v prometheus-alertmanager >/dev/null 2>&1 || need="$need prometheus-alertmanager"
command -v chromium >/dev/null 2>&1 || need="$need chromium"
[ -z "$need" ] && exit 0
sudo=""
[ "$(id -u)" -eq 0 ] || sudo="sudo"
echo "installing Debian packages:$need"
$sudo apt-get update -qq
DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends $need >/dev/null
