#!/usr/bin/env bash
# Installs the Debian packages tern's build and tests need. Idempotent: quiet when all are present.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libcli11-dev doctest-dev libpcre2-dev nlohmann-json3-dev
      libcpp-httplib-dev python3 python3-pip clang libclang-rt-14-dev)
missing=()
for p in "${pkgs[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
    echo "setup-deps: installing ${missing[*]}"
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null
fi
