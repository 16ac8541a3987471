#!/usr/bin/env bash
# The "Run restage" step of action.yml: `restage --check` over RESTAGE_PATHS with RESTAGE_ARGS,
# as GitHub annotations (RESTAGE_FORMAT=github) or a SARIF file (sarif, written to
# RESTAGE_SARIF). Records restage's exit code as the step output `exit-code` and exits 0, so
# the SARIF upload runs before the action fails.
set -u
format="${RESTAGE_FORMAT:-github}"
case "$format" in
github | sarif) ;;
*)
    echo "restage action: format must be github or sarif, not \`$format\`" >&2
    exit 2
    ;;
esac
# Words separated by blanks, quoted as a shell would ('a b' or "a b" is one word), as xargs
# reads them, NUL-terminated into the array named $2 (nothing is evaluated). An unmatched quote
# is an error.
words() {
    local list
    list="$(mktemp)" || return 2
    if ! printf '%s' "$1" | xargs -r printf '%s\0' >"$list"; then
        rm -f "$list"
        echo "restage action: cannot read the words of \`$1\` (an unmatched quote?)" >&2
        return 2
    fi
    mapfile -d '' -t "$2" <"$list"
    rm -f "$list"
}
raw_paths="${RESTAGE_PATHS:-.}"
if [[ "$raw_paths" == *$'\n'* ]]; then
    # A YAML block scalar: one path per line, taken as written (spaces and quotes included),
    # without the blanks around it; blank lines are skipped.
    paths=()
    while IFS= read -r line; do
        line="${line#"${line%%[![:space:]]*}"}"
        line="${line%"${line##*[![:space:]]}"}"
        if [ -n "$line" ]; then
            paths+=("$line")
        fi
    done <<<"$raw_paths"
else
    words "$raw_paths" paths || exit 2
fi
words "${RESTAGE_ARGS:-}" args || exit 2
if [ "${#paths[@]}" -eq 0 ]; then
    paths=(.)
fi
if [ "$format" = sarif ]; then
    sarif="${RESTAGE_SARIF:-restage.sarif}"
    if mkdir -p "$(dirname "$sarif")"; then
        restage --check --output-format sarif "${args[@]}" "${paths[@]}" >"$sarif"
        code=$?
    else
        code=2
    fi
else
    restage --check --output-format github "${args[@]}" "${paths[@]}"
    code=$?
fi
echo "exit-code=$code" >>"${GITHUB_OUTPUT:-/dev/null}"
exit 0
