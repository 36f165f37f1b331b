#!/usr/bin/env bash
# TLS for Tusk's admission webhook without cert-manager.
#
#   manifests/manual-tls/manual-tls.sh            # make a CA + serving certificate, then apply
#   manifests/manual-tls/manual-tls.sh --no-apply --out DIR   # only write the files
#
# Writes ca.crt, ca.key, tls.crt, tls.key into --out (default: a new temporary directory),
# creates or updates the Secret tusk-webhook-tls (mounted by the tusk-functions Deployment,
# which reloads it within a minute) and writes the CA into every webhook's caBundle of the
# ValidatingWebhookConfiguration tusk-validation. The serving certificate is valid for --days
# (default 365): run the script again with the same --out before then (the CA, valid 10 years,
# is reused). Needs openssl, base64 and (unless --no-apply) kubectl.
set -Eeuo pipefail

namespace=tusk-system
service=tusk-functions
secret=tusk-webhook-tls
webhook=tusk-validation
days=365
out=""
apply=1

while [ $# -gt 0 ]; do
  case "$1" in
    --namespace) namespace="$2"; shift 2 ;;
    --service) service="$2"; shift 2 ;;
    --days) days="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --no-apply) apply=0; shift ;;
    -h|--help) sed -n '2,12p' "$0"; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done

if [ -z "$out" ]; then out="$(mktemp -d)"; fi
mkdir -p "$out"
umask 077

# The API server connects to https://<service>.<namespace>.svc and checks that name.
names="DNS:${service}.${namespace}.svc,DNS:${service}.${namespace}.svc.cluster.local"

# Renewing with the same --out keeps the CA, so the caBundle the API server trusts stays valid
# while the pods pick up the new serving certificate.
if [ -s "$out/ca.crt" ] && [ -s "$out/ca.key" ]; then
  echo "reusing the CA in $out"
else
  openssl req -x509 -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
    -keyout "$out/ca.key" -out "$out/ca.crt" -days 3650 \
    -subj "/CN=tusk-webhook-ca" \
    -addext "basicConstraints=critical,CA:TRUE" \
    -addext "keyUsage=critical,keyCertSign,cRLSign" 2>/dev/null
fi

openssl req -new -nodes -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 \
  -keyout "$out/tls.key" -out "$out/tls.csr" \
  -subj "/CN=${service}.${namespace}.svc" 2>/dev/null

cat > "$out/ext.cnf" <<EXT
basicConstraints=critical,CA:FALSE
keyUsage=critical,digitalSignature
extendedKeyUsage=serverAuth
subjectAltName=${names}
EXT

openssl x509 -req -in "$out/tls.csr" -CA "$out/ca.crt" -CAkey "$out/ca.key" -CAcreateserial \
  -out "$out/tls.crt" -days "$days" -extfile "$out/ext.cnf" 2>/dev/null
rm -f "$out/tls.csr" "$out/ext.cnf" "$out/ca.srl"

ca_bundle="$(base64 < "$out/ca.crt" | tr -d '\n')"
echo "certificates in $out (serving certificate valid for $days days)"

if [ "$apply" = 0 ]; then
  echo "caBundle: $ca_bundle"
  exit 0
fi

kubectl -n "$namespace" create secret generic "$secret" --type=kubernetes.io/tls \
  --from-file=tls.crt="$out/tls.crt" --from-file=tls.key="$out/tls.key" --from-file=ca.crt="$out/ca.crt" \
  --dry-run=client -o yaml | kubectl apply -f -

count="$(kubectl get validatingwebhookconfiguration "$webhook" -o jsonpath='{range .webhooks[*]}x{end}')"
patch=""
for ((i = 0; i < ${#count}; i++)); do
  patch="${patch:+$patch,}{\"op\":\"add\",\"path\":\"/webhooks/$i/clientConfig/caBundle\",\"value\":\"$ca_bundle\"}"
done
kubectl patch validatingwebhookconfiguration "$webhook" --type=json -p "[$patch]"
echo "webhook $webhook trusts the CA in $out; keep $out/ca.key private (it signs renewals)"
