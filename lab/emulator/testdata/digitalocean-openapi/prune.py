#!/usr/bin/env python3
"""Copy the part of DigitalOcean's OpenAPI spec that the emulator's contract
test reads (lab/emulator/contract_test.go) from a clone of digitalocean/openapi.

    prune.py SRC DST

SRC is the clone's root (with specification/), DST this directory. The top
file keeps only the paths of FAMILIES, the API the emulator serves (other
families carry spec errors of their own that stop kin-openapi's loader;
load_balancers puts a $ref inside "properties", which the contract test
inlines as it loads, see readPatched); every file those paths reach
through a $ref or a discriminator mapping is copied unchanged, so the copy
loads on its own.
"""
import os
import re
import shutil
import sys

FAMILIES = ["/v2/account", "/v2/actions", "/v2/regions", "/v2/sizes",
            "/v2/images", "/v2/tags", "/v2/droplets", "/v2/volumes",
            "/v2/snapshots",
            "/v2/firewalls", "/v2/load_balancers", "/v2/domains", "/v2/vpcs",
            "/v2/reserved_ips"]
TOP = "DigitalOcean-public.v2.yaml"
# A file path in a $ref or a mapping value: anything quoted or bare that ends
# in .yml/.yaml, with an optional fragment.
REF = re.compile(r"""['"]?([A-Za-z0-9_./-]+\.ya?ml)(?:#[^'"\s]*)?['"]?""")


def served(path):
    return any(path == f or path.startswith(f + "/") for f in FAMILIES)


def trim_paths(text):
    out, keep, in_paths = [], True, False
    for line in text.splitlines(keepends=True):
        if re.match(r"^\S", line):
            in_paths, keep = line.startswith("paths:"), True
        elif in_paths:
            m = re.match(r"^  (/\S+):\s*$", line)
            if m:
                keep = served(m.group(1))
        if keep:
            out.append(line)
    return "".join(out)


def main(src, dst):
    spec = os.path.join(src, "specification")
    top = trim_paths(open(os.path.join(spec, TOP)).read())
    seen, todo = set(), [(TOP, top)]
    while todo:
        rel, text = todo.pop()
        for m in REF.finditer(text):
            target = os.path.normpath(os.path.join(os.path.dirname(rel), m.group(1)))
            if target in seen or not os.path.isfile(os.path.join(spec, target)):
                continue
            seen.add(target)
            todo.append((target, open(os.path.join(spec, target)).read()))
    out = os.path.join(dst, "specification")
    shutil.rmtree(out, ignore_errors=True)
    for rel in sorted(seen - {TOP}):
        os.makedirs(os.path.dirname(os.path.join(out, rel)), exist_ok=True)
        shutil.copyfile(os.path.join(spec, rel), os.path.join(out, rel))
    with open(os.path.join(out, TOP), "w") as f:
        f.write(top)
    shutil.copyfile(os.path.join(src, "LICENSE"), os.path.join(dst, "LICENSE"))
    print(f"{len(seen | {TOP})} files copied into {out}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
