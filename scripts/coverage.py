#!/usr/bin/env python3
"""How much of the real-world corpus multi-stage splits, by ecosystem and base family.

Usage: coverage.py RESTAGE_BINARY [--unsafe-fixes] [--corpus DIR] [--list GROUP]

A file is *naive* when it has a single stage, its base image belongs to an ecosystem restage
knows (node, python, go, rust, ruby, php, java, dotnet), the tag is not a runtime-only variant
(`-slim`, `-jre`, .NET `runtime`/`aspnet`), and a RUN installs dependencies, OS build packages or
builds the app. Its family is `alpine` when the tag names Alpine, else `glibc`.

restage runs once over the files with `--output-format json`; a naive file counts as *split*
when a multi-stage change is applied (safe by default; unsafe too with --unsafe-fixes), as
*noted* when multi-stage only reports why it does not split it, and *silent* otherwise.
`--list GROUP` (e.g. `ruby/glibc`) prints that group's files with their outcome and reason.
The classification reads the text with regular expressions: it is a measure, not a parser.
"""

import json
import os
import re
import subprocess
import sys
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
    # One run over all naive files (in chunks, to stay under the argument limit).
    paths = sorted(naive)
    results = {}
    for start in range(0, len(paths), 500):
        chunk = paths[start : start + 500]
        proc = subprocess.run(cmd + chunk, capture_output=True, text=True)
        doc = json.loads(proc.stdout)
        for f in doc["files"]:
            results[f["path"]] = f

    rows = defaultdict(lambda: {"naive": 0, "split": 0, "noted": 0, "silent": 0})
    listed = []
    for path, (eco, fam) in naive.items():
        f = results.get(path, {})
        ms = [c for c in f.get("changes", []) if c["id"] == "multi-stage"]
        if any(c["applied"] for c in ms):
            outcome = "split"
        elif ms:
            outcome = "noted"
        else:
            outcome = "silent"
        for key in ((eco, fam), ("all", fam)):
            rows[key]["naive"] += 1
            rows[key][outcome] += 1
        if listing == f"{eco}/{fam}":
            why = ms[0]["reason"] if ms else ""
            listed.append(f"{outcome:6} {os.path.basename(path)}  {why}")

    mode = "--unsafe-fixes" if unsafe else "default"
    print(f"multi-stage coverage of naive single-stage files ({mode})")
    print(f"{'group':16} {'naive':>6} {'split':>6} {'%':>6} {'noted':>6} {'silent':>6}")
    for key in sorted(rows, key=lambda k: (k[0] == "all", k)):
        r = rows[key]
        pct = 100.0 * r["split"] / r["naive"] if r["naive"] else 0.0
        print(f"{key[0] + '/' + key[1]:16} {r['naive']:6} {r['split']:6} {pct:6.1f} {r['noted']:6} {r['silent']:6}")
    for line in listed:
        print(line)


if __name__ == "__main__":
    main(sys.argv[1:])
