#!/usr/bin/env bash
# Builds the e2e toolchain from Go modules into a cache outside the repository:
#   ${PEGASUS_E2E_CACHE:-$HOME/.cache/pegasus-e2e}/<versions>/bin
# <versions> names every pinned version, and each binary keeps the hash of the sources that
# decide it, so a pin change builds anew, a changed wrapper rebuilds only its own binaries,
# and a warm cache builds nothing. Prints the bin directory on its last line of stdout.
#
# Why these versions (see docs/e2e.md, "The e2e toolchain"):
#   pulumi CLI 3.274.1: the Python SDK pin is 3.272.0, whose pkg/v3 module the Go proxy does not
#     serve (nor 3.273.0); 3.274.1 is the oldest newer one it does, and a newer CLI is supported.
#   pulumi-language-python: our own host in pulumi/langhost (the upstream module is not served).
#   pulumi-resource-kubernetes 4.25.0: the only provider/v4 version the proxy serves (pseudo-version
#     of the commit tagged v4.25.0); requirements.txt pins the Python SDK to the same version.
#   Kubernetes 1.35.4, etcd 3.6.16, kwok 0.8.0.
set -euo pipefail

PULUMI_VERSION=3.274.1
K8S_PROVIDER_VERSION=4.25.0
K8S_PROVIDER_MODULE_VERSION=v4.0.0-20260115033456-f47bc2d6f199
KUBE_VERSION=1.35.4
ETCD_VERSION=3.6.16
KWOK_VERSION=0.8.0

here="$(cd "$(dirname "$0")" && pwd)"
key="pulumi-${PULUMI_VERSION}_k8s-provider-${K8S_PROVIDER_VERSION}_kube-${KUBE_VERSION}_etcd-${ETCD_VERSION}_kwok-${KWOK_VERSION}"
root="${PEGASUS_E2E_CACHE:-$HOME/.cache/pegasus-e2e}"
dest="$root/$key"
bin="$dest/bin"
mkdir -p "$bin" "$dest/log"

export CGO_ENABLED=0 GOFLAGS=-mod=mod GOTOOLCHAIN=local
# Explicit parallelism: the machine has 2 cores; each go build uses all of them.
jobs="${PEGASUS_E2E_JOBS:-$(nproc)}"

log() { printf '[toolchain] %s\n' "$*" >&2; }

# Each binary records the hash of the sources that decide it (its wrapper module, and for the
# language host our own code) in $bin/NAME.key: a changed wrapper rebuilds only its binaries.
src_hash() { cat "$@" | sha256sum | cut -c1-16; }

# build NAME HASH CMD...: runs CMD unless $bin/NAME exists with that hash, timing it and keeping its log.
build() {
  local name="$1" hash="$2"; shift 2
  if [[ -x "$bin/$name" && "$(cat "$bin/$name.key" 2>/dev/null)" == "$hash" ]]; then
    return 0
  fi
  rm -f "$bin/$name"
  log "building $name"
  local start=$SECONDS
  # A background subshell keeps `set -e` in force inside the step (an `if` would switch it off).
  ( "$@" ) >"$dest/log/$name.log" 2>&1 &
  if ! wait $!; then
    log "building $name failed; last lines of $dest/log/$name.log:"
    tail -n 30 "$dest/log/$name.log" >&2
    exit 1
  fi
  [[ -x "$bin/$name" ]] || { log "$name: the build produced no binary"; exit 1; }
  echo "$hash" >"$bin/$name.key"
  log "built $name in $((SECONDS - start)) s"
  printf '%s %s\n' "$name" "$((SECONDS - start))" >>"$dest/log/times"
}

module_dir() { # module@version -> its directory in the module cache (downloads it)
  go mod download -json "$1" | python3 -c 'import json,sys; d=json.load(sys.stdin); print(d["Dir"]) if "Dir" in d else sys.exit(d.get("Error","no Dir"))'
}

pulumi_ldflags="-s -w -X github.com/pulumi/pulumi/sdk/v3/go/common/version.Version=v${PULUMI_VERSION}"
build_pulumi() {
  cd "$here/pulumi"
  go build -p "$jobs" -trimpath -tags osusergo,grpcnotrace -ldflags "$pulumi_ldflags" -o "$bin/pulumi.tmp" github.com/pulumi/pulumi/pkg/v3/cmd/pulumi
  mv "$bin/pulumi.tmp" "$bin/pulumi"
}
build_langhost() {
  cd "$here/pulumi"
  go build -p "$jobs" -trimpath -tags osusergo,grpcnotrace -ldflags "$pulumi_ldflags" -o "$bin/pulumi-language-python.tmp" ./langhost
  # The host runs the SDK's exec shim; the engine runs dynamic providers with the SDK's
  # provider script. Both ship in the sdk/v3 module and belong next to the binaries.
  local sdk
  sdk="$(module_dir "github.com/pulumi/pulumi/sdk/v3@v${PULUMI_VERSION}")"
  install -m 0755 "$sdk/python/cmd/pulumi-language-python-exec" "$bin/pulumi-language-python-exec"
  install -m 0755 "$sdk/python/dist/pulumi-resource-pulumi-python" "$bin/pulumi-resource-pulumi-python"
  mv "$bin/pulumi-language-python.tmp" "$bin/pulumi-language-python"
}
build_k8s_provider() {
  # provider/v4's go.mod replaces sdk/v4 with ../sdk, and its main embeds two generated,
  # git-ignored files: lay out provider/ and sdk/ side by side, writable, and generate them.
  local src="$dest/src/pulumi-kubernetes"
  rm -rf "$src"; mkdir -p "$src"
  cp -r "$(module_dir "github.com/pulumi/pulumi-kubernetes/provider/v4@${K8S_PROVIDER_MODULE_VERSION}")" "$src/provider"
  cp -r "$(module_dir "github.com/pulumi/pulumi-kubernetes/sdk/v4@v${K8S_PROVIDER_VERSION}")" "$src/sdk"
  chmod -R u+w "$src"
  (cd "$src/provider/cmd/pulumi-resource-kubernetes" && VERSION="${K8S_PROVIDER_VERSION}" go run ./generate.go)
  cd "$src/provider"
  go build -p "$jobs" -trimpath -ldflags "-s -w -X github.com/pulumi/pulumi-kubernetes/provider/v4/pkg/version.Version=${K8S_PROVIDER_VERSION}" \
    -o "$bin/pulumi-resource-kubernetes.tmp" ./cmd/pulumi-resource-kubernetes
  mv "$bin/pulumi-resource-kubernetes.tmp" "$bin/pulumi-resource-kubernetes"
  rm -rf "$src"
}
kube_ldflags() {
  local minor="${KUBE_VERSION#*.}"; minor="${minor%%.*}"
  local major="${KUBE_VERSION%%.*}"
  local v
  for v in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    printf -- '-X %s.gitVersion=v%s -X %s.gitMajor=%s -X %s.gitMinor=%s -X %s.gitTreeState=clean ' \
      "$v" "$KUBE_VERSION" "$v" "$major" "$v" "$minor" "$v"
  done
  printf -- '-s -w'
}
build_kube() { # one of kube-apiserver kube-controller-manager kube-scheduler kubectl
  cd "$here/kube"
  go build -p "$jobs" -trimpath -ldflags "$(kube_ldflags)" -o "$bin/$1.tmp" "k8s.io/kubernetes/cmd/$1"
  mv "$bin/$1.tmp" "$bin/$1"
}
build_etcd() {
  cd "$here/etcd"
  go build -p "$jobs" -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" go.etcd.io/etcd/server/v3
  mv "$bin/etcd.tmp" "$bin/etcd"
}
build_kwok() { # kwok or kwokctl
  cd "$here/kwok"
  go build -p "$jobs" -trimpath -ldflags "-s -w -X sigs.k8s.io/kwok/pkg/consts.Version=${KWOK_VERSION} -X sigs.k8s.io/kwok/pkg/consts.KubeVersion=${KUBE_VERSION}" \
    -o "$bin/$1.tmp" "sigs.k8s.io/kwok/cmd/$1"
  mv "$bin/$1.tmp" "$bin/$1"
}

start=$SECONDS
pulumi_hash="$(src_hash "$here"/pulumi/go.mod "$here"/pulumi/go.sum)"
kube_hash="$(src_hash "$here"/kube/go.mod "$here"/kube/go.sum)"
build pulumi "$pulumi_hash" build_pulumi
build pulumi-language-python "$(src_hash "$here"/pulumi/go.mod "$here"/pulumi/go.sum "$here"/pulumi/langhost/*.go)" build_langhost
build pulumi-resource-kubernetes "$K8S_PROVIDER_MODULE_VERSION" build_k8s_provider
build etcd "$(src_hash "$here"/etcd/go.mod "$here"/etcd/go.sum)" build_etcd
build kube-apiserver "$kube_hash" build_kube kube-apiserver
build kube-controller-manager "$kube_hash" build_kube kube-controller-manager
build kube-scheduler "$kube_hash" build_kube kube-scheduler
build kubectl "$kube_hash" build_kube kubectl
kwok_hash="$(src_hash "$here"/kwok/go.mod "$here"/kwok/go.sum)"
build kwok "$kwok_hash" build_kwok kwok
build kwokctl "$kwok_hash" build_kwok kwokctl
log "toolchain ready in $((SECONDS - start)) s: $bin"
echo "$bin"
