#!/usr/bin/env python3
"""Extract smflow's image URI data from a SageMaker Python SDK v2 checkout.

Usage: image_uris_extract.py SDK_CHECKOUT OUTDIR

Reads src/sagemaker/image_uri_config/{pytorch,tensorflow,sklearn,xgboost,
huggingface}.json and writes OUTDIR/FRAMEWORK.json keeping only the scopes
smflow uses (training, inference) and the facts image_uris.retrieve reads:
version_aliases, processors, py_versions, repository, tag_prefix,
container_version, registries. Identical registry maps are stored once, in a
"registry_sets" list, and versions refer to them by index ("registries": N).
"""
import json
import os
import sys

FRAMEWORKS = ["pytorch", "tensorflow", "sklearn", "xgboost", "huggingface"]
SCOPES = ["training", "inference"]
KEEP = ["processors", "py_versions", "repository", "tag_prefix", "container_version",
        "version_aliases"]


def trim_version(v, sets, index):
    if "repository" not in v:  # py_version or base framework level
        out = {}
        for k, sub in v.items():
            if k == "version_aliases":
                out[k] = sub
            elif isinstance(sub, dict):
                out[k] = trim_version(sub, sets, index)
        return out
    out = {k: v[k] for k in KEEP if k in v}
    key = json.dumps(v["registries"], sort_keys=True)
    if key not in index:
        index[key] = len(sets)
        sets.append(v["registries"])
    out["registries"] = index[key]
    return out


def main():
    src, outdir = sys.argv[1], sys.argv[2]
    os.makedirs(outdir, exist_ok=True)
    for fw in FRAMEWORKS:
        with open(os.path.join(src, "src/sagemaker/image_uri_config", fw + ".json")) as f:
            cfg = json.load(f)
        sets, index, out = [], {}, {}
        for scope in SCOPES:
            if scope not in cfg:
                continue
            sc = cfg[scope]
            o = {k: sc[k] for k in ("processors", "version_aliases") if k in sc}
            o["versions"] = {ver: trim_version(v, sets, index) for ver, v in sc["versions"].items()}
            out[scope] = o
        out["registry_sets"] = sets
        with open(os.path.join(outdir, fw + ".json"), "w") as f:
            json.dump(out, f, indent=1, sort_keys=False)
            f.write("\n")


if __name__ == "__main__":
    main()
