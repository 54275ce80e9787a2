#!/usr/bin/env bash
# tls_ca.sh: a throwaway certificate authority and a server certificate for
# 127.0.0.1 / localhost, made with the openssl CLI, for local https servers.
#
# Usage: tests/tools/tls_ca.sh DIR [NAME]
# Writes DIR/NAME-ca.pem (the CA certificate: the bundle clients trust),
# DIR/NAME-cert.pem and DIR/NAME-key.pem (the server's). NAME defaults to "tls".
set -euo pipefail
dir=$1
name=${2:-tls}
mkdir -p "$dir"
cd "$dir"
openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=smflow test CA ($name)" \
  -keyout "$name-ca-key.pem" -out "$name-ca.pem" \
  -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
  2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj "/CN=127.0.0.1" \
  -keyout "$name-key.pem" -out "$name.csr" 2>/dev/null
printf '%s\n' "subjectAltName=IP:127.0.0.1,DNS:localhost" "basicConstraints=CA:FALSE" \
  "extendedKeyUsage=serverAuth" >"$name-ext.cnf"
openssl x509 -req -in "$name.csr" -CA "$name-ca.pem" -CAkey "$name-ca-key.pem" \
  -CAcreateserial -days 2 -extfile "$name-ext.cnf" -out "$name-cert.pem" 2>/dev/null
rm -f "$name.csr" "$name-ext.cnf" "$name-ca.srl"
