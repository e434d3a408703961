#!/usr/bin/env bash
# Runs a command with dawn.node pointed at a Vulkan driver. Default: SwiftShader, shipped inside Debian's
# chromium package. Override with TUNELAB_VK_ICD=/path/to/icd.json (e.g. Mesa 25 lavapipe).
set -euo pipefail
icd="${TUNELAB_VK_ICD:-/usr/lib/chromium/vk_swiftshader_icd.json}"
if [ ! -f "$icd" ]; then
  echo "gpu-env: no Vulkan driver at $icd. Install Debian's chromium (apt-get install chromium) or set TUNELAB_VK_ICD." >&2
  exit 1
fi
export VK_ICD_FILENAMES="$icd"
# The Vulkan loader: the system's libvulkan1 if installed, else the copy inside /usr/lib/chromium.
if ! ldconfig -p 2>/dev/null | grep -q libvulkan.so.1; then
  export LD_LIBRARY_PATH="/usr/lib/chromium${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
fi
exec "$@"
