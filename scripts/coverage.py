#!/usr/bin/env python3
"""How much of the real-world corpus multi-stage splits, by ecosystem and base family.

Usage: coverage.py RESTAGE_BINARY [--unsafe-fixes] [--corpus DIR] [--list GROUP] [--repos DIR [--keep DIR]]

A file is *naive* when it has a single stage, its base image belongs to an ecosystem restage
knows (node, python, go, rust, ruby, php, java, dotnet), the tag is not a runtime-only variant
(`-slim`, `-jre`, .NET `runtime`/`aspnet`), and a RUN installs dependencies, OS build packages or
builds the app. Its family is `alpine` when the tag names Alpine, else `glibc`.

restage runs once over the files with `--output-format json`; a naive file counts as *split*
when a multi-stage change is applied (safe by default; unsafe too with --unsafe-fixes), as
*noted* when multi-stage only reports why it does not split it, and *silent* otherwise.
`--list GROUP` (e.g. `ruby/glibc`) prints that group's files with their outcome and reason.
The classification reads the text with regular expressions: it is a measure, not a parser.

`--repos DIR` also measures the naive files with their build context. The corpus's manifest
(`manifest.tsv` beside the corpus folder: file name, repo, commit, path) names where each file
comes from; for each naive file whose repository has a snapshot at DIR/<owner>+<name>/repo (a git
directory, or a clone with its .git) holding the manifest's commit, the Dockerfile's directory at
that commit is extracted (`git archive`; file by file, leaving out blobs a partial snapshot lacks)
into a temporary folder and restage runs there, so it
reads that directory as the build context. The context is always the Dockerfile's directory: a
compose file naming another context is not read. A second table prints, for those files only,
each group's outcome with the context and without it (the bare corpus file); with `--list GROUP`
that group's files follow with their outcome in context, and `--keep DIR` leaves the extracted
contexts in DIR (numbered folders) to read or rerun. The last columns count the files where a
runtime stage on the very same image (Node, Python and Ruby on Alpine) would leave nothing behind:
no build-only apk package, no build step, no global npm tool, and no dev dependencies installed
(Node: a production-only install or a package.json without devDependencies; Ruby: no development
or test group left in). `split/rest` is the split rate over the other files.
"""

import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections import defaultdict

HERE = os.path.dirname(os.path.abspath(__file__))
DEFAULT_CORPUS = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "realworld", "dockerfiles"))

REPOS = {
    "node": "node",
    "python": "python",
    "golang": "go",
    "rust": "rust",
    "ruby": "ruby",
    "php": "php",
    "composer": "php",
    "maven": "java",
    "gradle": "java",
    "eclipse-temurin": "java",
    "openjdk": "java",
    "amazoncorretto": "java",
    "mcr.microsoft.com/dotnet/sdk": "dotnet",
    "mcr.microsoft.com/dotnet/core/sdk": "dotnet",
    "microsoft/dotnet": "dotnet",
}
PREFIXES = ("docker.io/library/", "docker.io/", "index.docker.io/library/", "library/",
            "public.ecr.aws/docker/library/")
RUNTIME_TAG = re.compile(r"(^|-)(slim|jre|runtime|aspnet|distroless)(-|$)")

# Commands that install dependencies, OS build packages, or build the app.
BUILDS = re.compile(
    r"\b(npm (ci|install|i|run build)|yarn( install| build|\s*$|\s*&&)|pnpm (install|i|build)"
    r"|pip3? install|python3? -m pip install|poetry (install|export)|pipenv install|uv (pip install|sync)"
    r"|go (build|install|mod download)|cargo (build|install)|bundle install|gem install"
    r"|composer install|mvn\w* |gradle\w* |\./(mvnw|gradlew)|javac |dotnet (publish|build|restore)"
    r"|apk add|apt-get install|apt install|make\b)",
    re.M,
)


# What a runtime stage on the very same image could leave behind (Alpine: the runtime is the same
# tag). Read with the build context, for node, python and ruby on Alpine only: on glibc the
# runtime is another, smaller image, so a split always leaves the SDK behind.
APK_BUILD_ONLY = re.compile(
    r"\bapk add\b[^&;|]*?\s(build-base|alpine-sdk|gcc|g\+\+|make|cmake|musl-dev|libc-dev|linux-headers"
    r"|autoconf|automake|libtool|git|cargo|rust|go|python3?|py3?-pip|[\w.+-]+-dev)(\s|$)",
    re.M,
)
BUILD_STEP = re.compile(
    r"\b(npm run (build|compile|dist)|yarn (run )?build|pnpm (run )?build|npx tsc|tsc\b|webpack\b"
    r"|ng build|vite build|next build|setup\.py (build|bdist|install)|go (build|install)|cargo build"
    r"|rake assets|assets:precompile|make\b)",
    re.M,
)
NODE_GLOBAL = re.compile(r"\b(npm (i|install|add)\b[^&;|]*\s(-g|--global)\b|npm -g|yarn global add|pnpm (add|i|install) (-g|--global))")
NODE_PROD_ONLY = re.compile(
    r"\b(npm (ci|install|i)\b[^&;|]*(--production|--only[= ]prod|--omit[= ]dev)|yarn( install)?[^&;|]*--production"
    r"|NODE_ENV[= ]\"?production)"
)


def nothing_to_leave(text, folder, eco, fam):
    """True when a same-image runtime stage would leave nothing behind: no build-only packages,
    no build step, and (Node) no dev dependencies installed, no global tools; (Ruby) no
    development or test group left in. A measure read with regular expressions, not a parser."""
    if fam != "alpine" or eco not in ("node", "python", "ruby"):
        return False
    runs = "\n".join(rest for kw, rest in instructions(text) if kw == "RUN")
    if APK_BUILD_ONLY.search(runs) or BUILD_STEP.search(runs):
        return False
    if eco == "node":
        if NODE_GLOBAL.search(runs):
            return False
        if NODE_PROD_ONLY.search(text):
            return True
        try:
            with open(os.path.join(folder, "package.json"), encoding="utf-8") as f:
                manifest = json.load(f)
        except (OSError, ValueError):
            return False
        return isinstance(manifest, dict) and not manifest.get("devDependencies")
    if eco == "ruby":
        try:
            with open(os.path.join(folder, "Gemfile"), encoding="utf-8") as f:
                gemfile = f.read()
        except OSError:
            return False
        grouped = re.search(r"^\s*group\b[^\n]*:(development|test)", gemfile, re.M)
        excluded = re.search(r"(--without|BUNDLE_WITHOUT|without)[^\n]*development", text)
        return not grouped or bool(excluded)
    return True


def instructions(text):
    """(keyword, rest) per instruction, continuation lines joined, comments dropped."""
    out, cur = [], ""
    for raw in text.splitlines():
        line = raw.rstrip()
        if not cur and (not line.strip() or line.lstrip().startswith("#")):
            continue
        if cur and line.lstrip().startswith("#"):
            continue
        if line.endswith("\\"):
            cur += line[:-1] + " "
            continue
        cur += line
        parts = cur.strip().split(None, 1)
        if parts:
            out.append((parts[0].upper(), parts[1] if len(parts) > 1 else ""))
        cur = ""
    if cur.strip():
        parts = cur.strip().split(None, 1)
        out.append((parts[0].upper(), parts[1] if len(parts) > 1 else ""))
    return out


def classify(text):
    """(ecosystem, family) of a naive file, or None."""
    ins = instructions(text)
    froms = [rest for kw, rest in ins if kw == "FROM"]
    if len(froms) != 1:
        return None
    words = [w for w in froms[0].split() if not w.startswith("--")]
    if not words or "$" in words[0]:
        return None
    image = words[0].lower()
    for p in PREFIXES:
        if image.startswith(p):
            image = image[len(p):]
            break
    image = image.split("@", 1)[0]
    repo, _, tag = image.partition(":")
    eco = REPOS.get(repo)
    if eco is None:
        return None
    if eco == "dotnet" and repo == "microsoft/dotnet" and "sdk" not in tag:
        return None
    if RUNTIME_TAG.search(tag):
        return None
    runs = "\n".join(rest for kw, rest in ins if kw == "RUN")
    if not BUILDS.search(runs):
        return None
    return eco, ("alpine" if "alpine" in tag else "glibc")


def run_restage(cmd, paths):
    """restage's JSON report of each path (one run, in chunks under the argument limit)."""
    results = {}
    for start in range(0, len(paths), 500):
        chunk = paths[start : start + 500]
        proc = subprocess.run(cmd + chunk, capture_output=True, text=True)
        doc = json.loads(proc.stdout)
        for f in doc["files"]:
            # restage names a file under the current directory relative to it.
            results[os.path.abspath(f["path"])] = f
    return results


def outcome(report):
    """split, noted or silent, and the multi-stage reason, of one file's report."""
    ms = [c for c in report.get("changes", []) if c["id"] == "multi-stage"]
    if any(c["applied"] for c in ms):
        return "split", ms[0]["reason"]
    if ms:
        return "noted", ms[0]["reason"]
    return "silent", ""


def read_manifest(corpus):
    """file name -> (repo, commit, path) from the manifest beside the corpus folder."""
    path = os.path.join(os.path.dirname(os.path.normpath(corpus)), "manifest.tsv")
    out = {}
    with open(path, encoding="utf-8") as f:
        header = f.readline().rstrip("\n").split("\t")
        col = {name: i for i, name in enumerate(header)}
        for line in f:
            cells = line.rstrip("\n").split("\t")
            if len(cells) == len(header):
                out[cells[col["file_name"]]] = (cells[col["repo"]], cells[col["commit"]], cells[col["path"]])
    return out


def git_dir(repos, repo):
    """The git directory of repo's snapshot under repos, or None."""
    base = os.path.join(repos, repo.replace("/", "+"), "repo")
    if os.path.isdir(os.path.join(base, ".git")):
        return os.path.join(base, ".git")
    if os.path.isfile(os.path.join(base, "HEAD")):
        return base
    return None


def materialise(gitdir, commit, path, dest):
    """Extract the directory of path at commit into dest; the Dockerfile's path there, or None."""
    folder, name = os.path.split(path)
    tree = f"{commit}:{folder}" if folder else commit
    os.makedirs(dest)
    archive = subprocess.run(["git", "--git-dir", gitdir, "archive", "--format=tar", tree],
                             capture_output=True)
    if archive.returncode == 0:
        untar = subprocess.run(["tar", "-x", "-C", dest], input=archive.stdout, capture_output=True)
        if untar.returncode != 0:
            return None
    elif not extract_present(gitdir, tree, dest):
        return None
    dockerfile = os.path.join(dest, name)
    return dockerfile if os.path.isfile(dockerfile) else None


def extract_present(gitdir, tree, dest):
    """File by file, for a snapshot that lacks some (large) blobs: those are left out."""
    listing = subprocess.run(["git", "--git-dir", gitdir, "ls-tree", "-r", "-z", tree], capture_output=True)
    if listing.returncode != 0:
        return False
    for entry in listing.stdout.split(b"\0"):
        if not entry:
            continue
        meta, _, rel = entry.partition(b"\t")
        mode, kind, obj = meta.split()
        if kind != b"blob":
            continue
        blob = subprocess.run(["git", "--git-dir", gitdir, "cat-file", "blob", obj.decode()], capture_output=True)
        if blob.returncode != 0:
            continue
        target = os.path.join(dest, os.fsdecode(rel))
        os.makedirs(os.path.dirname(target), exist_ok=True)
        if mode == b"120000":
            os.symlink(os.fsdecode(blob.stdout), target)
            continue
        with open(target, "wb") as f:
            f.write(blob.stdout)
        if mode == b"100755":
            os.chmod(target, 0o755)
    return True


def with_contexts(cmd, naive, bare, corpus, repos, mode, listing=None, keep=None):
    """The table of the naive files that have a snapshot: with their context and without.

    With listing, the files of that group are printed with their outcome in context; with keep,
    the extracted contexts stay in that folder (one numbered folder per file) for reading."""
    manifest = read_manifest(corpus)
    rows = defaultdict(lambda: {"naive": 0, "ctx": defaultdict(int), "bare": defaultdict(int),
                                "nothing": 0, "nothing_split": 0})
    scratch = keep if keep else tempfile.mkdtemp(prefix="restage-coverage-")
    if keep:
        shutil.rmtree(keep, ignore_errors=True)
        os.makedirs(keep)
    listed = []
    try:
        placed, used = {}, set()
        for n, path in enumerate(sorted(naive)):
            entry = manifest.get(os.path.basename(path))
            if entry is None:
                continue
            repo, commit, inner = entry
            gitdir = git_dir(repos, repo)
            if gitdir is None:
                continue
            known = subprocess.run(["git", "--git-dir", gitdir, "cat-file", "-e", commit + "^{commit}"],
                                   capture_output=True)
            if known.returncode != 0:
                continue
            dockerfile = materialise(gitdir, commit, inner, os.path.join(scratch, str(n)))
            if dockerfile is not None:
                placed[dockerfile] = path
                used.add(repo)
        results = run_restage(cmd, sorted(placed))
        for dockerfile, path in placed.items():
            eco, fam = naive[path]
            with_ctx, why = outcome(results.get(dockerfile, {}))
            without, _ = outcome(bare.get(path, {}))
            with open(dockerfile, encoding="utf-8", errors="replace") as f:
                nothing = nothing_to_leave(f.read(), os.path.dirname(dockerfile), eco, fam)
            if nothing:
                why = f"[nothing to leave behind] {why}"
            if listing == f"{eco}/{fam}":
                where = os.path.relpath(dockerfile, scratch) if keep else os.path.basename(path)
                listed.append(f"{with_ctx:6} {where}  {why}")
            for key in ((eco, fam), ("all", fam)):
                rows[key]["naive"] += 1
                rows[key]["ctx"][with_ctx] += 1
                rows[key]["bare"][without] += 1
                if nothing:
                    rows[key]["nothing"] += 1
                    rows[key]["nothing_split"] += with_ctx == "split"
    finally:
        if not keep:
            shutil.rmtree(scratch, ignore_errors=True)

    total = sum(r["naive"] for k, r in rows.items() if k[0] == "all")
    print()
    print(f"with the build context ({mode}): {total} naive files from {len(used)} repositories under {repos}")
    print(f"{'group':16} {'naive':>6} | {'context':>7} {'%':>6} {'noted':>6} {'silent':>6} | "
          f"{'bare':>6} {'%':>6} {'noted':>6} {'silent':>6} | {'nothing':>7} {'split/rest':>10} {'%':>6}")
    for key in sorted(rows, key=lambda k: (k[0] == "all", k)):
        r = rows[key]
        cells = []
        for side in ("ctx", "bare"):
            c = r[side]
            pct = 100.0 * c["split"] / r["naive"] if r["naive"] else 0.0
            cells.append(f"{c['split']:7} {pct:6.1f} {c['noted']:6} {c['silent']:6}")
        rest = r["naive"] - r["nothing"]
        split_rest = r["ctx"]["split"] - r["nothing_split"]
        pct = 100.0 * split_rest / rest if rest else 0.0
        print(f"{key[0] + '/' + key[1]:16} {r['naive']:6} | {cells[0]} | {cells[1][1:]} | "
              f"{r['nothing']:7} {f'{split_rest}/{rest}':>10} {pct:6.1f}")
    if listed:
        print(f"{listing} with the build context:")
    for line in sorted(listed):
        print(line)


def main(argv):
    args = list(argv)
    unsafe = "--unsafe-fixes" in args
    if unsafe:
        args.remove("--unsafe-fixes")
    corpus, listing = DEFAULT_CORPUS, None
    if "--corpus" in args:
        i = args.index("--corpus")
        corpus = args[i + 1]
        del args[i : i + 2]
    repos = None
    if "--repos" in args:
        i = args.index("--repos")
        repos = args[i + 1]
        del args[i : i + 2]
    keep = None
    if "--keep" in args:
        i = args.index("--keep")
        keep = os.path.abspath(args[i + 1])
        del args[i : i + 2]
    if "--list" in args:
        i = args.index("--list")
        listing = args[i + 1]
        del args[i : i + 2]
    if len(args) != 1:
        sys.exit(__doc__)
    binary = args[0]

    naive = {}
    for name in sorted(os.listdir(corpus)):
        path = os.path.join(corpus, name)
        try:
            with open(path, encoding="utf-8") as f:
                group = classify(f.read())
        except (UnicodeDecodeError, OSError):
            continue
        if group:
            naive[path] = group

    cmd = [binary, "--output-format", "json", "--exit-zero"]
    if unsafe:
        cmd.append("--unsafe-fixes")
    results = run_restage(cmd, sorted(naive))

    rows = defaultdict(lambda: {"naive": 0, "split": 0, "noted": 0, "silent": 0})
    listed = []
    for path, (eco, fam) in naive.items():
        result, why = outcome(results.get(path, {}))
        for key in ((eco, fam), ("all", fam)):
            rows[key]["naive"] += 1
            rows[key][result] += 1
        if listing == f"{eco}/{fam}":
            listed.append(f"{result:6} {os.path.basename(path)}  {why}")

    mode = "--unsafe-fixes" if unsafe else "default"
    print(f"multi-stage coverage of naive single-stage files ({mode})")
    print(f"{'group':16} {'naive':>6} {'split':>6} {'%':>6} {'noted':>6} {'silent':>6}")
    for key in sorted(rows, key=lambda k: (k[0] == "all", k)):
        r = rows[key]
        pct = 100.0 * r["split"] / r["naive"] if r["naive"] else 0.0
        print(f"{key[0] + '/' + key[1]:16} {r['naive']:6} {r['split']:6} {pct:6.1f} {r['noted']:6} {r['silent']:6}")
    for line in listed:
        print(line)
    if repos is not None:
        with_contexts(cmd, naive, results, corpus, repos, mode, listing, keep)


if __name__ == "__main__":
    main(sys.argv[1:])
