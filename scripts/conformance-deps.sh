#!/usr/bin/env bash
# Installs the third-party clients of the conformance suite: Debian's Python clients and tmux (system packages, CI
# runs as root) and Debian's kubectl, unpacked into .cache/kubectl (apt-get download + dpkg -x, never installed).
set -euo pipefail
cd "$(dirname "$0")/.."
packages=(python3-kubernetes python3-elasticsearch python3-grpcio python3-grpc-tools tmux)
missing=()
for p in "${packages[@]}"; do dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p"); done
if [ ${#missing[@]} -gt 0 ] || [ ! -x .cache/kubectl/usr/bin/kubectl ]; then
  if [ "$(id -u)" -ne 0 ]; then
    echo "conformance clients missing (${missing[*]:-kubectl}); run this script as root" >&2
    exit 1
  fi
  apt-get update -qq
fi
if [ ${#missing[@]} -gt 0 ]; then
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi
if [ ! -x .cache/kubectl/usr/bin/kubectl ]; then
  tmp="$(mktemp -d)"
  chown _apt "$tmp" 2>/dev/null || true
  (cd "$tmp" && apt-get download -qq kubernetes-client)
  mkdir -p .cache/kubectl
  dpkg -x "$tmp"/kubernetes-client_*.deb .cache/kubectl
  rm -rf "$tmp"
fi
.cache/kubectl/usr/bin/kubectl version --client --short 2>/dev/null || .cache/kubectl/usr/bin/kubectl version --client
