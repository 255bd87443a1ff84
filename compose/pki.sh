#!/usr/bin/env bash
# The data space's local certificate authority: a CA and one server certificate per host name,
# each valid for that name only (subjectAltName), signed by the CA. Connectors serve HTTPS with
# their host's certificate and trust the CA through SSL_CERT_FILE.
#
#   pki.sh DIR NAME...     writes DIR/ca.crt, DIR/ca.key and DIR/NAME.crt, DIR/NAME.key
#
# What exists already is kept: run again, it adds only the names that are missing.
set -euo pipefail

if [ "$#" -lt 2 ]; then
  echo "usage: pki.sh DIR NAME..." >&2
  exit 2
fi
command -v openssl > /dev/null || { echo "error: pki.sh needs \`openssl\`, which is not on PATH" >&2; exit 1; }
dir=$1
shift
mkdir -p "$dir"
umask 077

if [ ! -s "$dir/ca.crt" ]; then
  openssl req -x509 -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 -days 30 \
    -subj "/CN=Symbolon data space local CA" \
    -addext "basicConstraints=critical,CA:TRUE,pathlen:0" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" \
    -keyout "$dir/ca.key" -out "$dir/ca.crt" 2> /dev/null
  chmod 644 "$dir/ca.crt"
  echo "pki: a new local CA in $dir/ca.crt"
fi

for name in "$@"; do
  if [ -s "$dir/$name.crt" ] && [ -s "$dir/$name.key" ]; then
    continue
  fi
  openssl req -new -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -sha256 \
    -subj "/CN=$name" -keyout "$dir/$name.key" -out "$dir/$name.csr" 2> /dev/null
  openssl x509 -req -in "$dir/$name.csr" -CA "$dir/ca.crt" -CAkey "$dir/ca.key" \
    -CAcreateserial -days 30 -sha256 -out "$dir/$name.crt" 2> /dev/null \
    -extfile <(printf '%s\n' "basicConstraints=critical,CA:FALSE" \
      "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" \
      "subjectAltName=DNS:$name")
  rm -f "$dir/$name.csr"
  openssl verify -CAfile "$dir/ca.crt" "$dir/$name.crt" > /dev/null
  echo "pki: $name.crt for https://$name (signed by the local CA)"
done
