#!/usr/bin/env bash
# Installs the Debian packages tern's build and tests need. Idempotent: quiet when all are present.
set -euo pipefail
pkgs=(build-essential cmake pkg-config libcli11-dev doctest-dev libpcre2-dev nlohmann-json3-dev
      libcpp-httplib-dev python3 python3-pip clang libclang-rt-14-dev
      libvulkan-dev glslc mesa-vulkan-drivers) # Vulkan backend; lavapipe runs its tests on the CPU
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

# Cross build for ARM64 (the NEON kernels' tests run under qemu-user): Debian's cross compiler,
# qemu-user, and PCRE2 for arm64 through multiarch. Only on x86-64 hosts; TERN_NO_ARM64=1 skips it.
# Not fatal: without these, scripts/test-arm64.sh says SKIPPED and the rest of the tests run.
cross_setup() {
    local SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    if ! dpkg --print-foreign-architectures | grep -qx arm64; then
        echo "setup-deps: enabling the arm64 multiarch architecture"
        $SUDO dpkg --add-architecture arm64 || return 1
        $SUDO apt-get update -qq || return 1
    fi
    local cross=(g++-aarch64-linux-gnu qemu-user libpcre2-dev:arm64) missing=() p
    for p in "${cross[@]}"; do
        dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
    done
    if ((${#missing[@]})); then
        echo "setup-deps: installing ${missing[*]}"
        $SUDO apt-get update -qq || return 1
        DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${missing[@]}" >/dev/null || return 1
    fi
}
if [[ $(dpkg --print-architecture) == amd64 && ${TERN_NO_ARM64:-0} != 1 ]]; then
    cross_setup || echo "setup-deps: WARNING: ARM64 cross tools not installed; the aarch64 tests will say SKIPPED"
fi
