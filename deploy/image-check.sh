#!/usr/bin/env bash
# Build Deskmate's image and prove it runs: `deskmate doctor` and one piped `deskmate chat` inside it.
#
# Works without a Docker daemon or an image registry: buildah (Debian's package) builds daemonless with the vfs
# storage driver and chroot isolation. BASE_IMAGE=python:3.11-slim uses the published base where a registry is
# reachable; unset, the base is made here from Debian's packages (debootstrap bookworm + python3.11), cached
# under var/image-base/.
set -euo pipefail
cd "$(dirname "$0")/.."

need() { command -v "$1" >/dev/null || { apt-get update -qq && apt-get install -y -qq "$2" >/dev/null; }; }
need buildah buildah
B="buildah --storage-driver vfs"
TAG=localhost/deskmate:check

if [ -z "${BASE_IMAGE:-}" ]; then
  BASE_IMAGE=localhost/deskmate-base:bookworm
  if ! $B inspect --type image "$BASE_IMAGE" >/dev/null 2>&1; then
    need debootstrap debootstrap
    rootfs=var/image-base/rootfs
    if [ ! -x "$rootfs/usr/bin/python3" ]; then
      rm -rf "$rootfs" && mkdir -p "$(dirname "$rootfs")"
      echo "== debootstrap bookworm (python3.11, venv) into $rootfs"
      debootstrap --variant=minbase --include=python3,python3-venv,ca-certificates,passwd \
        bookworm "$rootfs" http://deb.debian.org/debian >var/image-base/debootstrap.log
    fi
    echo "== base image $BASE_IMAGE from $rootfs"
    ctr=$($B from scratch)
    mnt=$($B mount "$ctr")
    cp -a "$rootfs"/. "$mnt"/
    $B umount "$ctr" >/dev/null
    $B config --env PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin --env LANG=C.UTF-8 "$ctr"
    $B commit --quiet "$ctr" "$BASE_IMAGE" >/dev/null
    $B rm "$ctr" >/dev/null
  fi
fi

# pip on this machine may trust a local CA (a TLS-inspecting proxy in front of the index): lend it to the build.
cert=${PIP_CERT:-$(python3 -m pip config list 2>/dev/null | sed -n "s/^global\.cert='\(.*\)'$/\1/p" | head -n 1)}
cert_args=()
if [ -n "$cert" ] && [ -f "$cert" ]; then
  cert_args=(--volume "$cert:/run/deskmate-build-ca.crt:ro" --build-arg PIP_CERT=/run/deskmate-build-ca.crt)
fi

echo "== build $TAG on $BASE_IMAGE"
$B bud --quiet --format docker --isolation chroot --layers --build-arg BASE_IMAGE="$BASE_IMAGE" "${cert_args[@]}" -t "$TAG" . >/dev/null

ctr=$($B from "$TAG")
trap '$B rm "$ctr" >/dev/null 2>&1 || true' EXIT
run() { $B run --isolation chroot "$ctr" -- "$@"; }

echo "== deskmate doctor (inside the image)"
run deskmate doctor

echo "== piped deskmate chat (inside the image)"
answer=$(printf 'How do I reset my password?\n' | run deskmate chat)
printf '%s\n' "$answer"
grep -qi "password" <<<"$answer" || { echo "image-check: the chat answered nothing about passwords" >&2; exit 1; }
echo "image-check: ok ($TAG)"
