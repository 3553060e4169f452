#!/usr/bin/env bash
# Builds one service's OCI image without a container registry or daemon: with buildah
# (Debian's, installed when missing) FROM scratch, holding the release binary and exactly
# the shared libraries it loads (found with ldd), for media and export also ffmpeg,
# ffprobe and pdftoppm with theirs, the CA certificates, an empty /tmp and user 10001.
# The result is an OCI archive to load into a registry (`skopeo copy oci-archive:…`) or a
# runtime (`podman load -i …`). Each binary is checked to start inside the image's file
# system (chroot), so a missing library fails the build, not the pod.
#   deploy/docker/oci-image.sh <gateway|auth|task|media|export> [archive]
set -euo pipefail
cd "$(dirname "$0")/../.."
SERVICE=${1:?which service: gateway, auth, task, media or export}
case "$SERVICE" in gateway|auth|task|media|export) ;; *) echo "no service $SERVICE" >&2; exit 2 ;; esac
OUT=${2:-target/oci/cvat-$SERVICE.tar}
CARGO=${CARGO:-cargo}
command -v buildah >/dev/null || { apt-get update -qq && apt-get install -y -qq buildah >/dev/null; }
buildah() { command buildah --storage-driver vfs "$@"; }

"$CARGO" build --release -p "cvat-$SERVICE" --bin "cvat-$SERVICE"
binaries=("target/release/cvat-$SERVICE")
tools=()
if [ "$SERVICE" = media ] || [ "$SERVICE" = export ]; then
  for tool in ffmpeg ffprobe pdftoppm; do tools+=("$(command -v "$tool")"); done
fi

container=$(buildah from scratch)
trap 'buildah rm "$container" >/dev/null 2>&1 || true' EXIT
root=$(buildah mount "$container")
# Every library the binaries load (the dynamic loader included), at the same paths.
libraries=$(for file in "${binaries[@]}" "${tools[@]}"; do
  ldd "$file" | awk '$2 == "=>" && $3 ~ /^\// {print $3} $1 ~ /^\// {print $1}'
done | sort -u)
for library in $libraries; do
  mkdir -p "$root$(dirname "$library")"
  cp -L "$library" "$root$library"
done
mkdir -p "$root/usr/local/bin" "$root/usr/bin" "$root/etc/ssl/certs" "$root/tmp"
chmod 1777 "$root/tmp"
cp "${binaries[0]}" "$root/usr/local/bin/"
# Symbols are for debugging builds, not images (a third of a service's size).
strip --strip-unneeded "$root/usr/local/bin/cvat-$SERVICE"
for tool in "${tools[@]}"; do cp "$tool" "$root/usr/bin/"; done
cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
printf 'cvat:x:10001:10001::/tmp:/sbin/nologin\n' >"$root/etc/passwd"
printf 'cvat:x:10001:\n' >"$root/etc/group"

# Each binary starts in the image: the tools print their version, the service stops at
# its first missing setting (exit 1 with a message) rather than at a missing library (127).
for tool in "${tools[@]}"; do
  chroot "$root" "/usr/bin/$(basename "$tool")" -version >/dev/null 2>&1 ||
    chroot "$root" "/usr/bin/$(basename "$tool")" -v >/dev/null 2>&1 ||
    { echo "$(basename "$tool") does not start in the image" >&2; exit 1; }
done
set +e
env -i "$(command -v chroot)" "$root" "/usr/local/bin/cvat-$SERVICE" >/dev/null 2>&1
started=$?
set -e
[ "$started" -ne 127 ] || { echo "cvat-$SERVICE does not start in the image" >&2; exit 1; }

ports=(--port 9100)
[ "$SERVICE" = gateway ] && ports+=(--port 8080)
tunables=$(grep -o 'GLIBC_TUNABLES=.*' deploy/local/allocator.env | cut -d= -f2-)
buildah config --user 10001:10001 --workingdir /tmp --entrypoint "[\"/usr/local/bin/cvat-$SERVICE\"]" \
  --env "GLIBC_TUNABLES=$tunables" --env TMPDIR=/tmp "${ports[@]}" \
  --label "org.opencontainers.image.title=cvat-$SERVICE" "$container"
buildah unmount "$container" >/dev/null
mkdir -p "$(dirname "$OUT")"
rm -f "$OUT"
buildah commit --quiet --format oci "$container" "oci-archive:$OUT" >/dev/null
echo "cvat-$SERVICE: $OUT ($(du -h "$OUT" | cut -f1), $(echo "$libraries" | wc -w) libraries)"
