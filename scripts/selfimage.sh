#!/usr/bin/env bash
# Builds restage's own image from the repository's Dockerfile on the local engine, then runs
# `restage --version` in it and checks the output names this version.
#
#   bash scripts/selfimage.sh            # tag: restage-selfimage:test
#   RESTAGE_SELFIMAGE_TAG=name:tag bash scripts/selfimage.sh
#   RESTAGE_SELFIMAGE_VENDOR=1 bash ...   # force the offline build (see below)
#
# Needs a Docker engine: eval "$(bash ../shared/engine/setup.sh env)" first. The build context
# is a temporary copy of the committed files (`git ls-files`), so a local target/ never goes
# in. When a build container cannot reach crates.io (or RESTAGE_SELFIMAGE_VENDOR=1), the
# dependencies are vendored into that temporary context with `cargo vendor` and the build
# uses them offline; nothing is written to the repository.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tag="${RESTAGE_SELFIMAGE_TAG:-restage-selfimage:test}"
docker="${RESTAGE_DOCKER:-docker}"
say() { echo "[selfimage] $*" >&2; }

version="$(sed -n 's/^version = "\(.*\)"$/\1/p' "$root/Cargo.toml" | head -n1)"
ctx="$(mktemp -d)"
trap 'rm -rf "$ctx"' EXIT
(cd "$root" && git ls-files -z --cached --others --exclude-standard) |
    (cd "$root" && xargs -0 cp --parents -t "$ctx" 2>/dev/null || true)
# Deleted-but-tracked files make cp fail above; what matters is that the build inputs are there.
for need in Dockerfile .dockerignore Cargo.toml Cargo.lock src/main.rs transforms/images.toml; do
    [ -e "$ctx/$need" ] || { say "ERROR: $need missing from the build context"; exit 1; }
done

dockerfile="$ctx/Dockerfile"
vendor="${RESTAGE_SELFIMAGE_VENDOR:-}"
if [ -z "$vendor" ]; then
    if "$docker" run --rm rust:1-bookworm sh -c \
        'curl -fsS -m 20 -o /dev/null https://index.crates.io/config.json' >/dev/null 2>&1; then
        vendor=0
    else
        say "build containers cannot reach crates.io: vendoring the dependencies"
        vendor=1
    fi
fi
if [ "$vendor" = 1 ]; then
    mkdir -p "$ctx/.cargo"
    # A relative `vendor`: the printed config then points at /src/vendor inside the build.
    (cd "$ctx" && cargo vendor --locked --versioned-dirs --manifest-path "$root/Cargo.toml" vendor) \
        >"$ctx/.cargo/config.toml"
    # The same Dockerfile, with the vendored sources and their cargo config copied in first.
    sed 's|^COPY Cargo.toml Cargo.lock|COPY .cargo ./.cargo\nCOPY vendor ./vendor\n&|' \
        "$root/Dockerfile" >"$ctx/Dockerfile.vendored"
    sed -i 's|--locked|--locked --offline|' "$ctx/Dockerfile.vendored"
    if ! grep -q '^COPY vendor ./vendor$' "$ctx/Dockerfile.vendored" ||
        ! grep -q -- '--offline' "$ctx/Dockerfile.vendored"; then
        echo "selfimage: the Dockerfile has no \`COPY Cargo.toml Cargo.lock\` line or no --locked build to vendor for" >&2
        exit 1
    fi
    dockerfile="$ctx/Dockerfile.vendored"
fi

say "building $tag (restage $version, vendored: $vendor)"
# The build log goes to stderr: the classic builder prints it on stdout, BuildKit on stderr.
"$docker" build -t "$tag" -f "$dockerfile" "$ctx" >&2
out="$("$docker" run --rm "$tag" --version)"
say "restage --version in the image: $out"
user="$("$docker" image inspect -f '{{.Config.User}}' "$tag")"
case "$user" in
"" | root | 0 | 0:*) say "ERROR: the image runs as root (User=$user)"; exit 1 ;;
esac
[ "$out" = "restage $version" ] || { say "ERROR: expected \`restage $version\`"; exit 1; }
echo "selfimage ok: $out, user $user"
