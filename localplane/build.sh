#!/usr/bin/env bash
# Builds the local control plane (and the Go tools the tests need) from the Go module proxy.
#
# No container image or binary download can be reached on our machines, so kube-apiserver,
# kube-controller-manager, kube-scheduler, kubectl, etcd, kwok, helm and actionlint are built from
# their published Go modules, once, into a cache outside the repository. Each component is
# cached in a folder keyed by its version, the Go version and RECIPE_REVISION, so a warm
# machine never starts Go and a version bump rebuilds only what changed.
#
# Usage: localplane/build.sh [COMPONENT...]   build what is missing (default: the plane)
#        localplane/build.sh --bin COMPONENT  print the folder holding COMPONENT's binaries
# Components: kubernetes etcd kwok helm actionlint.  The plane is kubernetes, etcd, kwok.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$here/versions.env"

export CGO_ENABLED=0 GOTOOLCHAIN=local GOFLAGS=-buildvcs=false
cache_root=${ENVPAYLOAD_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/envpayload-operator}
go_version=$(go env GOVERSION)

say() { printf '%s\n' "$*" >&2; }

version_of() {
  case "$1" in
    kubernetes) echo "$KUBERNETES_VERSION" ;;
    etcd) echo "$ETCD_VERSION" ;;
    kwok) echo "$KWOK_VERSION" ;;
    helm) echo "$HELM_VERSION" ;;
    actionlint) echo "$ACTIONLINT_VERSION" ;;
    *) say "unknown component: $1 (expected kubernetes, etcd, kwok, helm or actionlint)"; exit 2 ;;
  esac
}

bin_dir() { echo "$cache_root/bin/$1-$(version_of "$1")-$go_version-r$RECIPE_REVISION"; }

# Reads `go build -v` output and prints a line every 250 packages, so a cold build that
# takes half an hour shows it is alive without printing thousands of package names.
# Compiler errors and anything else that is not a package path pass through unchanged.
show_progress() {
  local label=$1 packages=0 modules=0 line
  while IFS= read -r line; do
    case "$line" in
      "go: downloading "*)
        modules=$((modules + 1))
        if ((modules % 100 == 0)); then say "  $label: $modules modules downloaded ($(elapsed))"; fi ;;
      *[[:space:]]* | "" | "#"*) say "$line" ;;
      *)
        packages=$((packages + 1))
        if ((packages % 250 == 0)); then say "  $label: $packages packages compiled ($(elapsed))"; fi ;;
    esac
  done
  say "  $label: $packages packages compiled, $modules modules downloaded ($(elapsed))"
}

started=$SECONDS
elapsed() { local s=$((SECONDS - started)); printf '%dm%02ds' $((s / 60)) $((s % 60)); }

# A throwaway module that requires the component and names its programs as tools, so
# `go mod tidy` resolves exactly what those programs import.
wrapper_module() {
  local dir=$1 name=$2
  shift 2
  rm -rf "$dir" && mkdir -p "$dir"
  {
    echo "module localplane/$name"
    echo
    echo "go $(go env GOVERSION | sed 's/^go//')"
    cat
  } >"$dir/go.mod"
}

build_kubernetes() {
  local out=$1 work="$cache_root/work/kubernetes" v=$KUBERNETES_VERSION
  local minor patch staging
  minor=$(echo "$v" | cut -d. -f2)
  patch=$(echo "$v" | cut -d. -f3)
  staging="v0.$minor.$patch"

  # k8s.io/kubernetes pins its staging modules at v0.0.0 and replaces them with folders of
  # its own repository; a dependent module must replace each with its published tag.
  # sample-cli-plugin and sample-controller are not served and not imported by the programs.
  local mods="api apiextensions-apiserver apimachinery apiserver cli-runtime client-go
    cloud-provider cluster-bootstrap code-generator component-base component-helpers
    controller-manager cri-api cri-client cri-streaming csi-translation-lib
    dynamic-resource-allocation endpointslice externaljwt kms kube-aggregator
    kube-controller-manager kube-proxy kube-scheduler kubectl kubelet metrics mount-utils
    pod-security-admission sample-apiserver streaming"
  local upstream_mod godebug
  upstream_mod=$(cd /tmp && go mod download -json "k8s.io/kubernetes@$v" | sed -n 's/.*"GoMod": "\(.*\)".*/\1/p')
  godebug=$(grep '^godebug' "$upstream_mod" || true)
  {
    echo "$godebug"
    echo
    echo "require k8s.io/kubernetes $v"
    echo
    echo "replace ("
    for m in $mods; do echo "	k8s.io/$m => k8s.io/$m $staging"; done
    echo ")"
    echo
    echo "tool ("
    for c in kube-apiserver kube-controller-manager kube-scheduler kubectl; do
      echo "	k8s.io/kubernetes/cmd/$c"
    done
    echo ")"
  } | wrapper_module "$work" kubernetes

  # Stamp the real release so /version answers like an upstream binary.
  local stamp="" pkg
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    stamp+=" -X $pkg.gitVersion=$v -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    stamp+=" -X $pkg.gitTreeState=clean -X $pkg.buildDate=1970-01-01T00:00:00Z"
  done

  say "  kubernetes: resolving modules"
  (cd "$work" && go mod tidy 2>&1) | show_progress kubernetes
  # -pgo=off: kube-apiserver ships a PGO profile that would otherwise compile its packages
  # a second time, apart from the other two programs.
  (cd "$work" && go build -v -trimpath -pgo=off -ldflags "-s -w$stamp" -o "$out/" \
    k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl 2>&1) | show_progress kubernetes
}

build_etcd() {
  local out=$1 work="$cache_root/work/etcd"
  # etcd's server module carries replace directives of its own: it gets a wrapper module
  # apart from Kubernetes so neither moves the other's versions.
  printf 'require go.etcd.io/etcd/server/v3 %s\n\ntool go.etcd.io/etcd/server/v3\n' \
    "$ETCD_VERSION" | wrapper_module "$work" etcd
  (cd "$work" && go mod tidy 2>&1) | show_progress etcd
  (cd "$work" && go build -v -trimpath -ldflags "-s -w" -o "$out/etcd" \
    go.etcd.io/etcd/server/v3 2>&1) | show_progress etcd
}

# Modules without replace directives install directly at their tag.
go_install() {
  local out=$1 label=$2 pkg=$3
  (GOBIN=$out go install -v -trimpath -ldflags "-s -w" "$pkg" 2>&1) | show_progress "$label"
}

build_kwok() {
  local out=$1 src
  go_install "$out" kwok "sigs.k8s.io/kwok/cmd/kwok@$KWOK_VERSION"
  # kwok refuses to start without Stage definitions; its module ships the default ones:
  # nodes become Ready and keep a lease, pods become Running and Ready, and pods marked
  # for deletion go away.
  src=$(cd /tmp && go mod download -json "sigs.k8s.io/kwok@$KWOK_VERSION" | sed -n 's/.*"Dir": "\(.*\)".*/\1/p')
  mkdir -p "$out/stages"
  local stage
  for stage in node/fast/node-initialize node/heartbeat-with-lease/node-heartbeat-with-lease \
    pod/fast/pod-ready pod/fast/pod-complete pod/fast/pod-delete; do
    cp "$src/kustomize/stage/$stage.yaml" "$out/stages/"
  done
  chmod -R u+w "$out/stages"
}

build_helm() { go_install "$1" helm "helm.sh/helm/v4/cmd/helm@$HELM_VERSION"; }

build_actionlint() {
  go_install "$1" actionlint "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION"
}

build() {
  local component=$1 out tmp
  out=$(bin_dir "$component")
  if [ -f "$out/.complete" ]; then return 0; fi

  say "Building $component $(version_of "$component") with $go_version (cold builds take a while)"
  tmp="$out.partial"
  rm -rf "$tmp" && mkdir -p "$tmp"
  "build_$component" "$tmp"

  # Publish atomically: a build killed half-way leaves only the .partial folder behind.
  touch "$tmp/.complete"
  rm -rf "$out" && mv "$tmp" "$out"
  say "Built $component into $out ($(elapsed) so far)"
}

main() {
  if [ "${1:-}" = "--bin" ]; then
    bin_dir "${2:?--bin needs a component}"
    return
  fi
  local components=("$@")
  if [ ${#components[@]} -eq 0 ]; then components=(kubernetes etcd kwok); fi

  mkdir -p "$cache_root"
  # Two builds at once (make cluster and a test session, say) would race on the folders.
  exec 9>"$cache_root/.build.lock"
  flock 9

  local c built=0
  for c in "${components[@]}"; do
    version_of "$c" >/dev/null
    if [ ! -f "$(bin_dir "$c")/.complete" ]; then
      build "$c"
      built=1
    fi
  done
  if ((built)); then say "Build finished in $(elapsed); binaries are cached under $cache_root/bin"; fi
}

main "$@"
