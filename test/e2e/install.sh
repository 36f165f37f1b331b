#!/usr/bin/env bash
# Installs the data-plane programs the end-to-end suite runs (Debian packages), if missing.
# Needs root for apt-get; on a machine that already has them it does nothing.
set -Eeuo pipefail
PKGS=(postgresql-15 postgresql-client-15 patroni pgbackrest pgbouncer etcd-server etcd-client openssl curl)
missing=()
for p in "${PKGS[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then echo "all present: ${PKGS[*]}"; exit 0; fi
if [ "$(id -u)" != 0 ]; then echo "missing ${missing[*]} and not root: install them with apt-get" >&2; exit 1; fi
echo "apt-get install ${missing[*]}"
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-upgrade "${missing[@]}" >/dev/null
