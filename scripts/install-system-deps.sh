#!/usr/bin/env bash
# Install the Debian packages the local service launchers need, skipping what is present.
# Idempotent: safe to run again. Used by .ci/run; learners run it once (as root or with sudo).
#
#   prometheus, promtool     <- prometheus
#   alertmanager             <- prometheus-alertmanager
#   pushgateway              <- prometheus-pushgateway
#   node exporter            <- prometheus-node-exporter
#   redis-server             <- redis-server
#   postgres, initdb         <- postgresql
#
# Python-side services (mlflow server, the Tansu Kafka broker, moto's S3) come from PyPI
# through the aiinfra-shared extras; nothing to do here for them.
#
#   checkov                  <- `uv tool install checkov==3.3.30` (its own environment: it pins
#                               packaging==23.2, which would hold back the whole workspace lock)
set -euo pipefail

CHECKOV_VERSION=3.3.30
uv_bin="$(uv tool dir --bin 2>/dev/null || true)"
if ! command -v checkov >/dev/null 2>&1 && [ ! -x "${uv_bin}/checkov" ]; then
  echo "install-system-deps: installing checkov==${CHECKOV_VERSION} as a uv tool"
  uv tool install --quiet "checkov==${CHECKOV_VERSION}"
fi

declare -A PROVIDES=(
  [prometheus]="prometheus"
  [promtool]="prometheus"
  [prometheus-alertmanager]="prometheus-alertmanager"
  [prometheus-pushgateway]="prometheus-pushgateway"
  [prometheus-node-exporter]="prometheus-node-exporter"
  [redis-server]="redis-server"
)

missing=()
for binary in "${!PROVIDES[@]}"; do
  command -v "$binary" >/dev/null 2>&1 || missing+=("${PROVIDES[$binary]}")
done
# PostgreSQL's server binaries live outside PATH on Debian.
if ! compgen -G "/usr/lib/postgresql/*/bin/postgres" >/dev/null && ! command -v postgres >/dev/null; then
  missing+=("postgresql")
fi

if [ ${#missing[@]} -eq 0 ]; then
  echo "install-system-deps: everything is already installed"
  exit 0
fi

# de-duplicate
mapfile -t packages < <(printf '%s\n' "${missing[@]}" | sort -u)
echo "install-system-deps: installing ${packages[*]}"

if [ "$(id -u)" -eq 0 ]; then SUDO=""; elif command -v sudo >/dev/null; then SUDO="sudo"; else
  echo "install-system-deps: need root or sudo to apt-get install ${packages[*]}" >&2
  exit 1
fi
if ! command -v apt-get >/dev/null; then
  echo "install-system-deps: no apt-get here; install these with your package manager: ${packages[*]}" >&2
  echo "  (macOS: brew install prometheus alertmanager redis postgresql)" >&2
  exit 1
fi

export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
# policy-rc.d stops Debian's maintainer scripts from starting the daemons: our launchers start
# their own instances on loopback and free ports.
if [ -z "$SUDO" ] && [ ! -e /usr/sbin/policy-rc.d ]; then
  printf '#!/bin/sh\nexit 101\n' > /usr/sbin/policy-rc.d && chmod +x /usr/sbin/policy-rc.d
  trap 'rm -f /usr/sbin/policy-rc.d' EXIT
fi
$SUDO apt-get install -y -qq --no-install-recommends "${packages[@]}" >/dev/null
echo "install-system-deps: done"
