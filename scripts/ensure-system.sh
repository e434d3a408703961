#!/usr/bin/env bash
# Installs what the GPU and browser tests need from Debian's packages when it is missing:
# - chromium: the browser for e2e and benchmarks, and SwiftShader's Vulkan driver for dawn.node;
# - Mesa 25 lavapipe (bookworm-backports): the only software adapter with shader-f16 (Debian 12's own
#   Mesa 22 lavapipe is rejected by Dawn).
set -euo pipefail

as_root() { if [ "$(id -u)" = 0 ]; then "$@"; else sudo "$@"; fi; }
apt_updated=0
apt_update() { if [ $apt_updated = 0 ]; then as_root apt-get update -qq; apt_updated=1; fi; }

if [ ! -x /usr/bin/chromium ]; then
  echo "ensure-system: installing chromium (apt-get)" >&2
  apt_update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
fi

lavapipe_ok() {
  [ -f /usr/share/vulkan/icd.d/lvp_icd.json ] || return 1
  local v
  v=$(dpkg-query -W -f='${Version}' mesa-vulkan-drivers 2>/dev/null || true)
  [ -n "$v" ] && dpkg --compare-versions "$v" ge 25
}

if ! lavapipe_ok; then
  echo "ensure-system: installing Mesa 25 lavapipe from bookworm-backports (apt-get)" >&2
  codename=$(. /etc/os-release && echo "${VERSION_CODENAME:-bookworm}")
  src=/etc/apt/sources.list.d/tunelab-backports.list
  if ! grep -rqs "${codename}-backports" /etc/apt/sources.list /etc/apt/sources.list.d/; then
    echo "deb http://deb.debian.org/debian ${codename}-backports main" | as_root tee "$src" >/dev/null
    apt_updated=0
  fi
  apt_update
  as_root env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq -t "${codename}-backports" mesa-vulkan-drivers >/dev/null
fi
