#!/usr/bin/env bash
# Install the dashboards' scripts, styles, fonts and images from the npm registry into
# dashboards/static/vendor/<package>@<version>/, so that pages work with no internet.
#
# - Exact versions, each tarball checked against its pinned sha512 (the registry's integrity).
# - Idempotent: a folder that holds .complete is skipped, so a second run needs no network.
# - Needs only bash, tar, node and npm (no Python): it also runs in the Dockerfile's node stage.
# - The URLs the pages use are in dashboards/assets.py; tests/dashboards checks they exist.
#
# Usage: bash scripts/fetch_assets.sh         (WANGGE_VENDOR_DIR overrides the destination)
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VENDOR="${WANGGE_VENDOR_DIR:-$ROOT/dashboards/static/vendor}"

# What folium's Map.default_js / default_css reference (leaflet 1.9.3, jquery 3.7.1,
# bootstrap 5.2.2, Leaflet.awesome-markers 2.0.2 -> npm's 2.0.5 has the same dist files,
# fontawesome-free 6.2.0, bootstrap 3 glyphicons), plus leaflet.markercluster and leaflet-draw
# for later pages.
#   spec | sha512 integrity | folder | source:destination ...
PACKAGES=(
  "leaflet@1.9.3|sha512-iB2cR9vAkDOu5l3HAay2obcUHZ7xwUBBjph8+PGtmW/2lYhbLizWtG7nTeYht36WfOslixQF9D/uSIzhZgGMfQ==|leaflet@1.9.3|dist/leaflet.js:leaflet.js dist/leaflet.js.map:leaflet.js.map dist/leaflet.css:leaflet.css dist/images:images LICENSE:LICENSE"
  "jquery@3.7.1|sha512-m4avr8yL8kmFN8psrbFFFmB/If14iN5o9nw/NgnnM+kybDJpRsAynV2BsfpTYrTRysYUdADVD7CkUUizgkpLfg==|jquery@3.7.1|dist/jquery.min.js:jquery.min.js dist/jquery.min.map:jquery.min.map LICENSE.txt:LICENSE.txt"
  "bootstrap@5.2.2|sha512-dEtzMTV71n6Fhmbg4fYJzQsw1N29hJKO1js5ackCgIpDcGid2ETMGC6zwSYw09v05Y+oRdQ9loC54zB1La3hHQ==|bootstrap@5.2.2|dist/js/bootstrap.bundle.min.js:js/bootstrap.bundle.min.js dist/js/bootstrap.bundle.min.js.map:js/bootstrap.bundle.min.js.map dist/css/bootstrap.min.css:css/bootstrap.min.css dist/css/bootstrap.min.css.map:css/bootstrap.min.css.map LICENSE:LICENSE"
  "leaflet.awesome-markers@2.0.5|sha512-Ne/xDjkGyaujwNVVkv2tyXQUV0ZW7gZ0Mo0FuQY4jp2qWrvXi0hwDBvmZyF/8YOvybyMabTMM/mFWCTd1jZIQA==|leaflet.awesome-markers@2.0.5|dist/leaflet.awesome-markers.js:leaflet.awesome-markers.js dist/leaflet.awesome-markers.css:leaflet.awesome-markers.css dist/images:images LICENSE:LICENSE"
  "@fortawesome/fontawesome-free@6.2.0|sha512-CNR7qRIfCwWHNN7FnKUniva94edPdyQzil/zCwk3v6k4R6rR2Fr8i4s3PM7n/lyfPA6Zfko9z5WDzFxG9SW1uQ==|fontawesome-free@6.2.0|css/all.min.css:css/all.min.css webfonts:webfonts LICENSE.txt:LICENSE.txt"
  "glyphicons-only-bootstrap@1.0.1|sha512-A1zP7yDUC/3+GUFbVTaTw9X2xZWNPLMp0BOsAmkLoWmo1KaNpG1qGdPYo8JnzwGueJ2HQAYvlP9S9OcmcObzHA==|glyphicons-only-bootstrap@1.0.1|css/bootstrap.min.css:css/bootstrap.min.css fonts:fonts"
  "leaflet.markercluster@1.5.3|sha512-vPTw/Bndq7eQHjLBVlWpnGeLa3t+3zGiuM7fJwCkiMFq+nmRuG3RI3f7f4N4TDX7T4NpbAXpR2+NTRSEGfCSeA==|leaflet.markercluster@1.5.3|dist/leaflet.markercluster.js:leaflet.markercluster.js dist/leaflet.markercluster.js.map:leaflet.markercluster.js.map dist/MarkerCluster.css:MarkerCluster.css dist/MarkerCluster.Default.css:MarkerCluster.Default.css MIT-LICENCE.txt:MIT-LICENCE.txt"
  "leaflet-draw@1.0.4|sha512-rsQ6saQO5ST5Aj6XRFylr5zvarWgzWnrg46zQ1MEOEIHsppdC/8hnN8qMoFvACsPvTioAuysya/TVtog15tyAQ==|leaflet-draw@1.0.4|dist/leaflet.draw.js:leaflet.draw.js dist/leaflet.draw.css:leaflet.draw.css dist/images:images"
)

log() { printf 'fetch_assets: %s\n' "$*" >&2; }

CLEANUP=()
cleanup() { local d; for d in "${CLEANUP[@]}"; do rm -rf "$d"; done; }
trap cleanup EXIT

sha512_of() {  # the npm "integrity" form of a file's digest (node, since openssl may be absent)
  node -e 'const c=require("crypto"),f=require("fs");
           process.stdout.write("sha512-"+c.createHash("sha512").update(f.readFileSync(process.argv[1])).digest("base64"))' "$1"
}

install_package() {  # spec integrity folder mappings
  local spec="$1" integrity="$2" folder="$3" mappings="$4"
  local dest="$VENDOR/$folder"
  if [[ -f "$dest/.complete" ]]; then
    log "$folder present, skipped"
    return 0
  fi
  local tmp stage tgz got pair src dst
  tmp="$(mktemp -d)"
  stage="$VENDOR/.staging-${folder//\//_}"
  CLEANUP+=("$tmp" "$stage")
  log "installing $spec"
  (cd "$tmp" && npm pack --silent --pack-destination "$tmp" "$spec" >/dev/null)
  tgz="$(ls "$tmp"/*.tgz)"
  got="$(sha512_of "$tgz")"
  if [[ "$got" != "$integrity" ]]; then
    log "integrity mismatch for $spec: expected $integrity, got $got"
    return 1
  fi
  mkdir -p "$tmp/x" && tar -xzf "$tgz" -C "$tmp/x"
  rm -rf "$stage" && mkdir -p "$stage"
  for pair in $mappings; do
    src="${pair%%:*}" dst="${pair#*:}"
    mkdir -p "$stage/$(dirname "$dst")"
    cp -R "$tmp/x/package/$src" "$stage/$dst"
  done
  printf '%s\n' "$spec" > "$stage/.complete"
  rm -rf "$dest" && mv "$stage" "$dest"
}

install_awesome_rotate() {
  # folium's leaflet.awesome.rotate.css (Icon(angle=...) adds class fa-rotate-N) is not on any
  # registry: it is generated here, rule for rule.
  local dest="$VENDOR/folium"
  [[ -f "$dest/.complete" ]] && { log "folium present, skipped"; return 0; }
  mkdir -p "$dest"
  local i
  for i in $(seq 0 359); do
    printf '.fa-rotate-%d{-ms-transform:rotate(%ddeg);-webkit-transform:rotate(%ddeg);transform:rotate(%ddeg);}\n' \
      "$i" "$i" "$i" "$i"
  done > "$dest/leaflet.awesome.rotate.min.css"
  printf 'generated\n' > "$dest/.complete"
}

main() {
  mkdir -p "$VENDOR"
  local entry spec integrity folder mappings
  for entry in "${PACKAGES[@]}"; do
    IFS='|' read -r spec integrity folder mappings <<<"$entry"
    install_package "$spec" "$integrity" "$folder" "$mappings"
  done
  install_awesome_rotate
  { for entry in "${PACKAGES[@]}"; do printf '%s\n' "${entry%%|*}"; done; } > "$VENDOR/manifest.txt"
  log "assets ready in $VENDOR"
}

main "$@"
