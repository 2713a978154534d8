#!/usr/bin/env bash
# Build the lab node image (default tag dpg-node:trixie) and, from it, the promtool image
# (default tag dpg-promtool:trixie) that tests/integration/test_alert_rules.py runs the alert rules'
# unit tests in, and the SSH host image (default tag dpg-sshnode:trixie: sshd, a sudo user, no root
# login) that the hosts scenario (tests/integration/test_hosts.py) logs into as an operator does. Each is built only when missing, or always with DPG_REBUILD_IMAGE=1.
# Node image base: `debian:trixie` pulled from a registry where one answers; otherwise a Debian 13 root
# filesystem made with debootstrap (Debian's default mirror) and `docker import`ed.
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
tag=${DPG_NODE_IMAGE:-dpg-node:trixie}
promtool_tag=${DPG_PROMTOOL_IMAGE:-dpg-promtool:trixie}
sshnode_tag=${DPG_SSHNODE_IMAGE:-dpg-sshnode:trixie}
base_tag=dpg-base:trixie

# true when image $1 must be built: missing, or DPG_REBUILD_IMAGE=1
needs_build() {
  [ "${DPG_REBUILD_IMAGE:-0}" = 1 ] || ! docker image inspect "$1" >/dev/null 2>&1
}

build_node_image() {
  local base=""
  if docker image inspect debian:trixie >/dev/null 2>&1; then
    base=debian:trixie
  elif timeout 120 docker pull -q debian:trixie >/dev/null 2>&1; then
    base=debian:trixie
  elif docker image inspect "$base_tag" >/dev/null 2>&1; then
    base=$base_tag
  else
    echo "No registry answers for debian:trixie: building the base from debootstrap"
    if ! command -v debootstrap >/dev/null 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get install -y -qq debootstrap >/dev/null
    fi
    # trixie's keyring may be newer than the host's; fetch the archive keyring package if needed
    rootfs=$(mktemp -d /tmp/dpg-rootfs.XXXXXX)
    trap 'rm -rf "$rootfs"' EXIT
    debootstrap --variant=minbase --components=main trixie "$rootfs" >/tmp/dpg-debootstrap.log 2>&1 \
      || { tail -20 /tmp/dpg-debootstrap.log >&2; exit 1; }
    rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/*
    tar -C "$rootfs" -c . | docker import - "$base_tag" >/dev/null
    base=$base_tag
  fi

  echo "building $tag from $base"
  docker build -q --build-arg BASE="$base" -t "$tag" "$here" >/dev/null
  echo "node image $tag built"
}

if needs_build "$tag"; then
  build_node_image
else
  echo "node image $tag present"
fi

# build_derived TAG DIR WHAT: build image TAG from the node image with DIR's Dockerfile, when needed
build_derived() {
  if needs_build "$1"; then
    echo "building $1 from $tag"
    docker build -q --build-arg BASE="$tag" -t "$1" "$here/$2" >/dev/null
    echo "$3 image $1 built"
  else
    echo "$3 image $1 present"
  fi
}

build_derived "$promtool_tag" promtool promtool
build_derived "$sshnode_tag" sshnode "SSH host"
