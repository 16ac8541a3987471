#!/usr/bin/env bash
# Re-creates the build contexts of the real-project tier (fixtures/realprojects/projects.toml)
# from fetched repository snapshots, outside the repository.
#
#   scripts/realprojects.sh [NAME...]        # all projects, or some
#
# RESTAGE_REALPROJECTS_MIRRORS  where the snapshots are (default /work/.mirror): a project's repo
#                               owner/name is looked for as <mirrors>/<owner>+<name>/repo (a git
#                               directory or a clone); a clone made with
#                               `git clone https://github.com/<owner>/<name> <mirrors>/<owner>+<name>/repo`
#                               works as well.
# RESTAGE_REALPROJECTS_DIR      where the contexts go (default /var/tmp/restage-realprojects),
#                               one folder per project, and beside it <name>.stamp, which
#                               names the repo, commit and directory it came from (outside the
#                               context, so no image gets it).
#
# A project whose snapshot or commit is missing is skipped with a message; the exit status is 0
# when every requested project was prepared, 1 otherwise.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
list="$root/fixtures/realprojects/projects.toml"
mirrors=${RESTAGE_REALPROJECTS_MIRRORS:-/work/.mirror}
dest=${RESTAGE_REALPROJECTS_DIR:-/var/tmp/restage-realprojects}

# name, repo, commit, dir: one tab-separated line per project.
rows=$(python3 - "$list" "$@" <<'PY'
import sys, tomllib
with open(sys.argv[1], "rb") as f:
    data = tomllib.load(f)
wanted = set(sys.argv[2:])
for p in data["project"]:
    if not wanted or p["name"] in wanted:
        print("\t".join([p["name"], p["repo"], p["commit"], p["dir"]]))
PY
)

mkdir -p "$dest"
ok=0
missing=0
while IFS=$'\t' read -r name repo commit dir; do
    [ -n "$name" ] || continue
    base="$mirrors/${repo/\//+}/repo"
    gitdir=""
    if [ -d "$base/.git" ]; then
        gitdir="$base/.git"
    elif [ -d "$base" ] && git --git-dir="$base" rev-parse --git-dir >/dev/null 2>&1; then
        gitdir="$base"
    fi
    if [ -z "$gitdir" ]; then
        echo "SKIP $name: no snapshot of $repo under $base (fetch it first)" >&2
        missing=$((missing + 1))
        continue
    fi
    if ! git --git-dir="$gitdir" cat-file -e "$commit^{commit}" 2>/dev/null; then
        echo "SKIP $name: the snapshot of $repo has no commit $commit" >&2
        missing=$((missing + 1))
        continue
    fi
    tree="$commit"
    [ "$dir" = "." ] || tree="$commit:$dir"
    out="$dest/$name"
    rm -rf "$out"
    mkdir -p "$out"
    git --git-dir="$gitdir" archive --format=tar "$tree" | tar -x -C "$out"
    printf '%s\n' "repo = $repo" "commit = $commit" "dir = $dir" >"$dest/$name.stamp"
    echo "ok   $name: $repo@${commit:0:12}:$dir -> $out"
    ok=$((ok + 1))
done <<<"$rows"

echo "prepared $ok context(s) in $dest; $missing skipped"
[ "$missing" -eq 0 ]
