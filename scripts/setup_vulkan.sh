#!/usr/bin/env bash
# Make SAPIEN's Vulkan renderer work on a machine without a GPU (Mesa lavapipe).
# Usage: scripts/setup_vulkan.sh PYTHON
# 1. If PYTHON can already create a SAPIEN render device, do nothing.
# 2. Else, on Debian 12 as root with apt, add bookworm-backports and install Mesa >= 25
#    (mesa-vulkan-drivers, libvulkan1): Debian 12's own Mesa 22.3 is too old for SAPIEN.
# 3. Else print exactly what the user must install, and exit 1.
set -euo pipefail
PY="${1:-python3}"

can_render() {
  "$PY" - <<'PYEOF' >/dev/null 2>&1
import sapien
sapien.render.RenderSystem()
PYEOF
}

if can_render; then
  echo "[vlgsim] Vulkan rendering: OK"
  exit 0
fi

echo "[vlgsim] SAPIEN found no Vulkan device that can render; trying to install Mesa lavapipe."
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null && grep -q 'bookworm' /etc/os-release 2>/dev/null; then
  src=/etc/apt/sources.list.d/bookworm-backports.sources
  if ! grep -rqs 'bookworm-backports' /etc/apt/sources.list /etc/apt/sources.list.d/; then
    mirror=$(grep -hoE '^URIs: *\S+/debian$' /etc/apt/sources.list.d/debian.sources 2>/dev/null | head -n1 | awk '{print $2}')
    mirror="${mirror:-http://deb.debian.org/debian}"
    printf 'Types: deb\nURIs: %s\nSuites: bookworm-backports\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n' "$mirror" > "$src"
  fi
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq -t bookworm-backports mesa-vulkan-drivers libvulkan1 >/dev/null
  if can_render; then
    echo "[vlgsim] Vulkan rendering: OK (Mesa lavapipe from bookworm-backports)"
    exit 0
  fi
fi

cat >&2 <<'MSG'
[vlgsim] ERROR: SAPIEN cannot find a Vulkan device that can render.
  Install a Vulkan driver, then re-run:
  - NVIDIA GPU: the NVIDIA driver with Vulkan support (libnvidia-gl-*), and libvulkan1.
  - No GPU (software rendering): Mesa >= 24 lavapipe, e.g. on Debian 12:
      echo 'deb http://deb.debian.org/debian bookworm-backports main' > /etc/apt/sources.list.d/backports.list
      apt-get update && apt-get install -t bookworm-backports mesa-vulkan-drivers libvulkan1
  - Ubuntu 24.04+: apt-get install mesa-vulkan-drivers libvulkan1
MSG
exit 1
