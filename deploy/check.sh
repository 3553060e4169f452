#!/usr/bin/env bash
# Offline checks of the deployment files (run by `make test`): deploy/compose.yaml must
# parse and resolve with the example settings (docker-compose from Debian, installed once
# when missing), and must refuse to resolve while a secret is unset; every kustomization
# under k8s/ must build (kubectl from Debian when there is none) into what it promises;
# what they build must be valid Kubernetes 1.30 objects (strictly: no unknown field) and
# KEDA objects (deploy/schemas/keda-v2.json), and pass checkov's policies but for the
# findings deploy/checkov/*.yaml list with their reasons. kubernetes-validate and checkov
# (PyPI) live in a virtualenv made once per machine.
set -euo pipefail
cd "$(dirname "$0")"
if ! command -v docker-compose >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq docker-compose >/dev/null) ||
    { echo "docker-compose is needed to check deploy/compose.yaml" >&2; exit 1; }
fi
# A clean environment: only the env file speaks (the caller may have CVAT_* set).
compose() { env -i PATH="$PATH" HOME="${HOME:-/tmp}" docker-compose -f compose.yaml --env-file "$1" config "${@:2}"; }
compose compose.env.example -q
resolved=$(compose compose.env.example)
for service in postgres redis rabbitmq s3 auth task media export gateway otel-collector; do
  grep -q "^  $service:$" <<<"$resolved" || { echo "compose.yaml: no service $service" >&2; exit 1; }
done
# Every secret is required: leaving one out must stop the file from resolving.
unset_env=$(mktemp)
trap 'rm -f "$unset_env"' EXIT
grep -v '^CVAT_WORKER_TOKEN=' compose.env.example >"$unset_env"
if compose "$unset_env" -q 2>/dev/null; then
  echo "compose.yaml resolves without CVAT_WORKER_TOKEN" >&2
  exit 1
fi
echo "deploy/compose.yaml: valid"

if ! command -v kubectl >/dev/null; then
  (apt-get update -qq && apt-get install -y -qq kubernetes-client >/dev/null) ||
    { echo "kubectl is needed to check k8s/" >&2; exit 1; }
fi
count() { grep -c "^kind: $2$" <<<"$1" || true; }
expect() { # built-manifests kind count what
  [ "$(count "$1" "$2")" = "$3" ] || { echo "k8s/$4: expected $3 $2, got $(count "$1" "$2")" >&2; exit 1; }
}
built() { kubectl kustomize "../k8s/$1"; }
base=$(built base)
expect "$base" Deployment 5 base
expect "$base" HorizontalPodAutoscaler 0 base
cpu_autoscaling=$(built cpu-autoscaling)
expect "$cpu_autoscaling" HorizontalPodAutoscaler 2 cpu-autoscaling
dev=$(built overlays/dev)
expect "$dev" Deployment 9 overlays/dev
expect "$dev" Secret 3 overlays/dev
production=$(built overlays/production)
expect "$production" ScaledObject 2 overlays/production
expect "$production" PodDisruptionBudget 3 overlays/production
expect "$production" Ingress 1 overlays/production
expect "$production" HorizontalPodAutoscaler 0 overlays/production
expect "$production" Job 1 overlays/production
echo "k8s/: base, cpu-autoscaling, overlays dev and production build"

TOOLS=${CVAT_DEPLOY_TOOLS:-${XDG_CACHE_HOME:-$HOME/.cache}/cvat-deploy-tools}
if [ ! -x "$TOOLS/bin/checkov" ] || ! "$TOOLS/bin/python" -c 'import kubernetes_validate' 2>/dev/null; then
  python3 -m venv "$TOOLS" || { apt-get update -qq && apt-get install -y -qq python3-venv >/dev/null && python3 -m venv "$TOOLS"; }
  "$TOOLS/bin/pip" install -q kubernetes-validate==1.37.0 checkov==3.3.30
fi
manifests=$(mktemp -d)
trap 'rm -rf "$unset_env" "$manifests"' EXIT
printf '%s\n' "$production" >"$manifests/production.yaml"
printf '%s\n' "$dev" >"$manifests/dev.yaml"
printf '%s\n' "$cpu_autoscaling" >"$manifests/cpu-autoscaling.yaml"
"$TOOLS/bin/python" validate_manifests.py --kubernetes-version 1.30.0 "$manifests"/*.yaml
"$TOOLS/bin/checkov" --config-file checkov/production.yaml -f "$manifests/production.yaml" \
  -f "$manifests/cpu-autoscaling.yaml" >"$manifests/production.txt" ||
  { cat "$manifests/production.txt" >&2; echo "k8s/: checkov findings in production" >&2; exit 1; }
"$TOOLS/bin/checkov" --config-file checkov/dev.yaml -f "$manifests/dev.yaml" >"$manifests/dev.txt" ||
  { cat "$manifests/dev.txt" >&2; echo "k8s/: checkov findings in the dev overlay" >&2; exit 1; }
echo "k8s/: valid Kubernetes 1.30 and KEDA objects; checkov passes (reasons for the rest in deploy/checkov/)"
