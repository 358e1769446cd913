#!/usr/bin/env bash
# Builds a local stand-in for the official Node image that docker/Dockerfile
# starts FROM, for a machine whose Docker engine cannot pull from Docker Hub
# but can reach Debian's apt mirror: a debootstrap of Debian bookworm (minbase)
# plus this machine's own node and npm, imported with `docker import` and
# tagged with exactly the Dockerfile's FROM name, so the Dockerfile builds
# unchanged. See docker/README.md.
#
#   sudo bash docker/standin-base.sh            # tag: the Dockerfile's FROM
#   sudo FORCE=1 bash docker/standin-base.sh    # rebuild even if the tag exists
#
# Needs root, debootstrap, a running dockerd, and node + npm on PATH whose
# major version matches the tag (node:20-... needs Node 20). Safe to repeat:
# an image already tagged by this script for the same Node version is kept,
# and a finished debootstrap under $STANDIN_WORK is reused.
#
# Environment:
#   STANDIN_WORK   scratch directory (default /var/tmp/xrpkv-standin)
#   DEBIAN_MIRROR  apt mirror for debootstrap (default http://deb.debian.org/debian)
#   FORCE=1        re-import and re-tag even if the image exists
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
work=${STANDIN_WORK:-/var/tmp/xrpkv-standin}
mirror=${DEBIAN_MIRROR:-http://deb.debian.org/debian}
suite=bookworm

die() { echo "standin-base: $*" >&2; exit 1; }
say() { echo "standin-base: $*" >&2; }

[ "$(id -u)" = 0 ] || die "run as root (debootstrap and chroot need it)"
command -v debootstrap >/dev/null || die "debootstrap is missing: apt-get install -y debootstrap"
command -v docker >/dev/null || die "docker is missing: apt-get install -y docker.io"
docker info >/dev/null 2>&1 || die "dockerd is not answering: start it (dockerd > /var/log/dockerd.log 2>&1 &)"

# The tag: the Dockerfile's FROM (every stage uses the same one).
tag=${1:-$(awk 'toupper($1) == "FROM" { print $2; exit }' "$here/Dockerfile")}
[ -n "$tag" ] || die "no FROM line in $here/Dockerfile"

# This machine's node and npm.
node_bin=$(readlink -f "$(command -v node)") || die "node is not on PATH"
node_version=$("$node_bin" -p 'process.versions.node')
npm_root=$(npm root -g) || die "npm is not on PATH"
[ -f "$npm_root/npm/bin/npm-cli.js" ] || die "no npm under $npm_root"
npm_version=$("$node_bin" -p "require('$npm_root/npm/package.json').version")

# node:20-bookworm-slim must hold Node 20: refuse to put another major under
# the name.
case $tag in
  node:[0-9]*)
    want=${tag#node:}; want=${want%%[-.]*}
    [ "$want" = "${node_version%%.*}" ] \
      || die "$tag wants Node $want but this machine's node is $node_version"
    ;;
esac
case $tag in
  *bookworm*) ;;
  *) die "$tag does not name bookworm, which is what this script builds" ;;
esac

stamp="debootstrap $suite minbase; node $node_version; npm $npm_version"
if [ "${FORCE:-}" != 1 ] \
   && [ "$(docker image inspect -f '{{ index .Config.Labels "xrpkv.standin" }}' "$tag" 2>/dev/null)" = "$stamp" ]; then
  say "$tag is already the stand-in ($stamp); FORCE=1 rebuilds it"
  exit 0
fi

# 1. Debian bookworm, minbase (apt, dpkg, bash, coreutils, libstdc++6, ...).
#    A finished one is reused; a half-finished one is started over.
rootfs=$work/rootfs
if [ ! -f "$work/debootstrap.done" ]; then
  rm -rf "$rootfs"
  mkdir -p "$rootfs"
  say "debootstrap $suite into $rootfs from $mirror"
  debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$work/debootstrap.log" 2>&1 \
    || die "debootstrap failed; see $work/debootstrap.log"
  touch "$work/debootstrap.done"
fi

# 2. What debian:bookworm-slim sets up: the deb822 sources with security
#    updates, apt cleaning after itself, no docs, man pages or translations.
rm -f "$rootfs/etc/apt/sources.list"
cat >"$rootfs/etc/apt/sources.list.d/debian.sources" <<EOF
Types: deb
URIs: $mirror
Suites: $suite $suite-updates
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg

Types: deb
URIs: ${mirror%/debian}/debian-security
Suites: $suite-security
Components: main
Signed-By: /usr/share/keyrings/debian-archive-keyring.gpg
EOF
cat >"$rootfs/etc/apt/apt.conf.d/docker-clean" <<'EOF'
DPkg::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
APT::Update::Post-Invoke { "rm -f /var/cache/apt/archives/*.deb /var/cache/apt/archives/partial/*.deb /var/cache/apt/*.bin || true"; };
Dir::Cache::pkgcache "";
Dir::Cache::srcpkgcache "";
EOF
cat >"$rootfs/etc/apt/apt.conf.d/docker-no-recommends" <<'EOF'
APT::Install-Recommends "false";
EOF
cat >"$rootfs/etc/dpkg/dpkg.cfg.d/docker" <<'EOF'
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/locale/*
path-include /usr/share/locale/locale.alias
EOF
find "$rootfs/usr/share/doc" -mindepth 1 -not -name copyright -not -type d -delete 2>/dev/null || true
find "$rootfs/usr/share/doc" -mindepth 1 -type d -empty -delete 2>/dev/null || true
rm -rf "$rootfs"/usr/share/man/* "$rootfs"/usr/share/info/*
find "$rootfs/usr/share/locale" -mindepth 1 -maxdepth 1 -not -name locale.alias -exec rm -rf {} + 2>/dev/null || true
rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin "$rootfs"/var/cache/apt/archives/*.deb
echo "$suite" >"$rootfs/etc/hostname"

# 3. Node and npm where the official image has them: /usr/local/bin/node,
#    /usr/local/lib/node_modules/{npm,corepack}, and the links npm, npx,
#    corepack and nodejs in /usr/local/bin. (Left out: the C headers and
#    yarn, which the official image also has; nothing here compiles or uses
#    yarn.)
rm -rf "$rootfs/usr/local/lib/node_modules" "$rootfs/usr/local/bin"/{node,nodejs,npm,npx,corepack}
mkdir -p "$rootfs/usr/local/bin" "$rootfs/usr/local/lib/node_modules" "$rootfs/usr/local/etc"
install -m 0755 "$node_bin" "$rootfs/usr/local/bin/node"
cp -a "$npm_root/npm" "$rootfs/usr/local/lib/node_modules/npm"
ln -s ../lib/node_modules/npm/bin/npm-cli.js "$rootfs/usr/local/bin/npm"
ln -s ../lib/node_modules/npm/bin/npx-cli.js "$rootfs/usr/local/bin/npx"
if [ -d "$npm_root/corepack" ]; then
  cp -a "$npm_root/corepack" "$rootfs/usr/local/lib/node_modules/corepack"
  ln -s ../lib/node_modules/corepack/dist/corepack.js "$rootfs/usr/local/bin/corepack"
fi
ln -s node "$rootfs/usr/local/bin/nodejs"

# Every shared library node links to must come from the Debian root, not
# this machine: check that each one ldd names here exists there.
for lib in $(ldd "$node_bin" | awk '/=>/ { print $(NF-1) }'); do
  name=$(basename "$lib")
  found=$(find "$rootfs/lib" "$rootfs/usr/lib" -name "$name" -print -quit 2>/dev/null)
  [ -n "$found" ] || die "node needs $name, which the $suite root lacks"
done

# npm's trust: where this machine's npm reaches the registry through a
# TLS-inspecting proxy, its npm config names a CA file (cafile). The stand-in
# carries that file and setting in npm's global config, /usr/local/etc/npmrc,
# so npm in a build trusts what npm here trusts. Only cafile is carried: no
# other npm setting, and never a token. Without a cafile nothing is added, as
# in the official image (npm uses Node's own CA list).
rm -f "$rootfs/usr/local/etc/npmrc"
cafile=$(npm config get cafile 2>/dev/null || true)
if [ -n "$cafile" ] && [ "$cafile" != null ] && [ "$cafile" != undefined ] && [ -f "$cafile" ]; then
  mkdir -p "$rootfs$(dirname "$cafile")"
  cp "$cafile" "$rootfs$cafile"
  echo "cafile=$cafile" >"$rootfs/usr/local/etc/npmrc"
  say "npm's cafile $cafile goes into the stand-in (/usr/local/etc/npmrc)"
fi

# 4. The official image's user node (uid 1000) and entrypoint, which runs
#    `node ARGS` when the first argument is an option or not a command.
chroot "$rootfs" sh -c 'getent passwd node >/dev/null || {
  groupadd --gid 1000 node && useradd --uid 1000 --gid node --shell /bin/bash --create-home node; }'
cat >"$rootfs/usr/local/bin/docker-entrypoint.sh" <<'EOF'
#!/bin/sh
set -e
# As the official Node image does: `docker run IMAGE -e 1` and
# `docker run IMAGE script.js` run node; a command runs as itself.
if [ "${1#-}" != "$1" ] || [ -z "$(command -v "$1")" ] || { [ -f "$1" ] && ! [ -x "$1" ]; }; then
  set -- node "$@"
fi
exec "$@"
EOF
chmod 0755 "$rootfs/usr/local/bin/docker-entrypoint.sh"

# Smoke test inside the root, as the official image's build does.
chroot "$rootfs" /usr/local/bin/node --version >/dev/null || die "node does not run in the $suite root"
chroot "$rootfs" /usr/local/bin/node /usr/local/bin/npm --version >/dev/null || die "npm does not run in the $suite root"

# 5. Import and tag. /dev, /proc and /sys are the engine's; tar leaves their
#    contents out.
say "importing as $tag ($stamp)"
tar --numeric-owner --xattrs -C "$rootfs" \
    --exclude=./dev/* --exclude=./proc/* --exclude=./sys/* --exclude=./tmp/* \
    -c . \
  | docker import \
      --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
      --change "ENV NODE_VERSION=$node_version" \
      --change "LABEL xrpkv.standin=\"$stamp\"" \
      --change 'ENTRYPOINT ["docker-entrypoint.sh"]' \
      --change 'CMD ["node"]' \
      --message "stand-in for $tag: $stamp" \
      - "$tag" >/dev/null

docker run --rm "$tag" node -e 'console.log("node " + process.version)'
docker run --rm "$tag" npm --version | sed 's/^/npm /'
say "done: $tag"
