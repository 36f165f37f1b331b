#!/usr/bin/env bash
# Builds the real Kubernetes control plane the kube suite runs (test/kube/), from the Go module
# proxy at the versions pinned in tools/{kube,etcd,metacontroller}/go.mod:
#   kube-apiserver, kube-controller-manager, kubectl   (k8s.io/kubernetes, tools/kube)
#   etcd                                               (go.etcd.io/etcd/server/v3, tools/etcd)
#   metacontroller                                     (github.com/metacontroller/metacontroller, tools/metacontroller)
# into .kube/bin/ (ignored by git), plus Metacontroller's own release manifests (CRDs, RBAC)
# from its module into .kube/metacontroller/, and the CRDs of the optional dependencies the
# manifests name (cert-manager, Knative Serving, the Prometheus Operator) from their modules into
# .kube/crds/, so the suite can check every kustomization against the API server. A stamp of the
# pinned files skips the build when nothing changed; Go's build cache makes a rebuild after a pin
# change incremental.
set -Eeuo pipefail
# the Go toolchain's usual place, for a shell whose PATH lacks it
command -v go >/dev/null || PATH="/usr/local/go/bin:$PATH"
root=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
out="$root/.kube"
bin="$out/bin"
mkdir -p "$bin" "$out/metacontroller" "$out/crds"

# module@version and the CRD files taken from it
CRD_SOURCES=(
  "github.com/cert-manager/cert-manager@v1.21.2 deploy/crds/cert-manager.io_certificates.yaml deploy/crds/cert-manager.io_issuers.yaml"
  "knative.dev/serving@v0.51.0 config/core/300-resources/service.yaml"
  "github.com/prometheus-operator/prometheus-operator@v0.85.0 example/prometheus-operator-crd/monitoring.coreos.com_podmonitors.yaml example/prometheus-operator-crd/monitoring.coreos.com_prometheusrules.yaml"
)

stamp=$(cat "$root"/tools/{kube,etcd,metacontroller}/go.{mod,sum} "${BASH_SOURCE[0]}" | sha256sum | cut -c1-16)-$(go env GOVERSION 2>/dev/null)
if [ -f "$out/stamp" ] && [ "$(cat "$out/stamp")" = "$stamp" ] &&
  [ -x "$bin/kube-apiserver" ] && [ -x "$bin/kube-controller-manager" ] && [ -x "$bin/kubectl" ] &&
  [ -x "$bin/etcd" ] && [ -x "$bin/metacontroller" ] && [ -f "$out/metacontroller/metacontroller-crds-v1.yaml" ] &&
  [ -f "$out/crds/service.yaml" ]; then
  echo "control plane up to date ($stamp)"
  exit 0
fi
rm -f "$out/stamp"
command -v go >/dev/null || { echo "the kube suite needs the Go toolchain (go 1.26+)" >&2; exit 1; }

start=$(date +%s)
k8s=$(cd "$root/tools/kube" && go list -mod=readonly -m -f '{{.Version}}' k8s.io/kubernetes)
minor=$(echo "$k8s" | cut -d. -f2)
# -mod=readonly: the committed go.sum is the whole truth; a missing sum fails instead of being fetched unchecked.
echo "== kube-apiserver, kube-controller-manager, kubectl $k8s"
(cd "$root/tools/kube" && go build -mod=readonly -trimpath \
  -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$k8s -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean" \
  -o "$bin/" k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager k8s.io/kubernetes/cmd/kubectl)
echo "== etcd"
(cd "$root/tools/etcd" && go build -mod=readonly -trimpath -ldflags "-s -w" -o "$bin/etcd" go.etcd.io/etcd/server/v3)
echo "== metacontroller"
(cd "$root/tools/metacontroller" && go build -mod=readonly -trimpath -ldflags "-s -w" -o "$bin/metacontroller" metacontroller)
mcdir=$(cd "$root/tools/metacontroller" && go list -mod=readonly -m -f '{{.Dir}}' metacontroller)
for f in metacontroller-namespace.yaml metacontroller-rbac.yaml metacontroller-crds-v1.yaml; do
  install -m 0644 "$mcdir/manifests/production/$f" "$out/metacontroller/$f"
done
echo "== CRDs of cert-manager, Knative Serving and the Prometheus Operator"
rm -f "$out"/crds/*.yaml
for source in "${CRD_SOURCES[@]}"; do
  read -r module files <<<"$source"
  dir=$(go mod download -json "$module" | sed -n 's/^[[:space:]]*"Dir": "\(.*\)",$/\1/p')
  [ -n "$dir" ] || { echo "go mod download $module gave no directory" >&2; exit 1; }
  for f in $files; do install -m 0644 "$dir/$f" "$out/crds/$(basename "$f")"; done
done
echo "$stamp" >"$out/stamp"
echo "control plane built in $(($(date +%s) - start)) s"
