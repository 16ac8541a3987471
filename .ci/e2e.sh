#!/usr/bin/env bash
# The real-engine e2e tier (tests/e2e.rs): builds the original and the rewritten Dockerfile of
# every fixtures/e2e case with a real Docker engine, runs both and compares them.
#
#   .ci/e2e.sh                          # all cases; fails when no engine answers
#   RESTAGE_E2E_CASES=go-http .ci/e2e.sh
#   RESTAGE_E2E_EXPECT=warn .ci/e2e.sh  # report missed targets without failing
#
# When the shared engine script exists (this repository's dev machines), its environment is
# used: RESTAGE_DOCKER=/usr/bin/docker, DOCKER_HOST, DOCKER_BUILDKIT=1. Elsewhere, set
# RESTAGE_DOCKER to a client that can do BuildKit builds.
set -euo pipefail
cd "$(dirname "$0")/.."

engine_script=${RESTAGE_ENGINE_SCRIPT:-../shared/engine/setup.sh}
if [ -z "${RESTAGE_DOCKER:-}" ] && [ -f "$engine_script" ]; then
    eval "$(bash "$engine_script" env)"
fi
export RESTAGE_E2E_REQUIRE=${RESTAGE_E2E_REQUIRE:-1}

status=0
cargo test --test e2e -- "$@" || status=$?
report=${CARGO_TARGET_DIR:-target}/e2e-report.md
[ -f "$report" ] && echo "report: $report"
exit "$status"
