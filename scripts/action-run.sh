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
read -r -a paths <<<"${RESTAGE_PATHS:-.}"
read -r -a args <<<"${RESTAGE_ARGS:-}"
if [ "${#paths[@]}" -eq 0 ]; then
    paths=(.)
fi
if [ "$format" = sarif ]; then
    restage --check --output-format sarif "${args[@]}" "${paths[@]}" >"${RESTAGE_SARIF:-restage.sarif}"
    code=$?
else
    restage --check --output-format github "${args[@]}" "${paths[@]}"
    code=$?
fi
echo "exit-code=$code" >>"${GITHUB_OUTPUT:-/dev/null}"
exit 0
