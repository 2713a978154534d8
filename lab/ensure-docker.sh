#!/usr/bin/env bash
# Make sure a Docker engine answers. On a bare Debian machine (root) install Debian's
# docker.io and start dockerd in the background; elsewhere just check.
set -euo pipefail

if docker info >/dev/null 2>&1; then
  exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
  echo "No Docker engine answers and this is not root: start Docker yourself, then re-run." >&2
  exit 1
fi

if ! command -v dockerd >/dev/null 2>&1; then
  echo "Installing Debian's docker.io ..."
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq docker.io >/dev/null
fi

if ! docker info >/dev/null 2>&1; then
  # systemd may not be PID 1 here (CI sandboxes); start dockerd directly.
  if command -v systemctl >/dev/null 2>&1 && [ -d /run/systemd/system ]; then
    systemctl start docker || true
  fi
fi

if ! docker info >/dev/null 2>&1; then
  mkdir -p /var/log
  nohup dockerd >/var/log/dpg-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
fi

docker info >/dev/null 2>&1 || { echo "dockerd did not start; see /var/log/dpg-dockerd.log" >&2; exit 1; }
echo "Docker engine: $(docker version --format '{{.Server.Version}}')"
