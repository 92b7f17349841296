#!/usr/bin/env bash
# Creates development certificates for a local replog cluster with the
# openssl command (docs/operations.md, "Certificates"):
#
#   DIR/ca.crt, ca.key                 a CA that signs everything below
#   DIR/member-N.crt, member-N.key     one per member 1..MEMBERS; subject
#                                      CN=member-N, names 127.0.0.1 and
#                                      localhost; usable as server and client
#   DIR/NAME.crt, NAME.key             one per client NAME; subject CN=NAME
#                                      (the principal the access policy names)
#
# usage: scripts/dev-certs.sh DIR [--members N] [--clients NAME,NAME,...] [--ca-name NAME] [--days N]
# Defaults: 3 members, clients "admin", CA "replog development CA", 365 days.
# An existing CA in DIR is reused (certificates are added to it); keys are
# EC P-256, readable only by their owner. Not for production: the CA key
# lies beside the certificates.
set -euo pipefail

usage() { echo "usage: $0 DIR [--members N] [--clients NAME,...] [--ca-name NAME] [--days N]" >&2; exit 2; }
[ $# -ge 1 ] || usage
dir=$1; shift
members=3 clients=admin ca_name="replog development CA" days=365
while [ $# -gt 0 ]; do
  case $1 in
    --members) members=${2:?}; shift 2 ;;
    --clients) clients=${2?}; shift 2 ;;
    --ca-name) ca_name=${2:?}; shift 2 ;;
    --days) days=${2:?}; shift 2 ;;
    *) usage ;;
  esac
done
[[ $members =~ ^[0-9]+$ ]] || { echo "$0: --members takes a number, not '$members'" >&2; exit 2; }
command -v openssl >/dev/null || { echo "$0: the openssl command is missing (apt-get install openssl)" >&2; exit 1; }

mkdir -p "$dir"
umask 077
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

if [ ! -f "$dir/ca.crt" ] || [ ! -f "$dir/ca.key" ]; then
  openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days "$days" \
    -subj "/CN=$ca_name" -keyout "$dir/ca.key" -out "$dir/ca.crt" 2>/dev/null
  echo "dev-certs: created CA \"$ca_name\" in $dir"
fi

# issue NAME EXTENSIONS: DIR/NAME.key and DIR/NAME.crt signed by the CA.
issue() {
  local name=$1 ext=$2
  openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj "/CN=$name" \
    -keyout "$dir/$name.key" -out "$tmp/$name.csr" 2>/dev/null
  printf '%s\n' "$ext" > "$tmp/$name.ext"
  openssl x509 -req -in "$tmp/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" -CAcreateserial \
    -CAserial "$tmp/ca.srl" -days "$days" -extfile "$tmp/$name.ext" -out "$dir/$name.crt" 2>/dev/null
}

for ((i = 1; i <= members; i++)); do
  issue "member-$i" "basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=serverAuth,clientAuth
subjectAltName=IP:127.0.0.1,DNS:localhost"
done
IFS=, read -r -a names <<< "$clients"
for name in "${names[@]}"; do
  [ -n "$name" ] || continue
  [[ $name =~ ^[A-Za-z0-9._-]+$ ]] || { echo "$0: client name '$name': use letters, digits, . _ -" >&2; exit 2; }
  issue "$name" "basicConstraints=CA:FALSE
keyUsage=digitalSignature,keyEncipherment
extendedKeyUsage=clientAuth"
done
chmod 644 "$dir"/*.crt
echo "dev-certs: $members member certificate(s) and client(s) ${clients:-none} in $dir"
