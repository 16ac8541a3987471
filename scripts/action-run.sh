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
# Words separated by spaces, tabs or newlines (a YAML block scalar gives one per line): `read`
# reads the whole value (to a NUL that never comes, hence its status 1).
read -r -d '' -a paths <<<"${RESTAGE_PATHS:-.}" || true
read -r -d '' -a args <<<"${RESTAGE_ARGS:-}" || true
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
