#!/usr/bin/env python3
"""Regenerates the committed seed corpora under fuzz/corpus/ from the repository's own manifests:
examples/ and the bypass corpus (tests/bypass/). Seeds are small: one file per manifest for
manifest_lint, one admission payload per object (CREATE, and UPDATE/mutate variants) for
admission_validate, a few settings documents for settings. Files named seed-regression-* are
inputs that once failed; this script never deletes them.

    python3 fuzz/make-seeds.py
"""
import glob
import json
import os
import sys

import yaml  # PyYAML reads YAML 1.1 (yes/on are booleans, merge keys), as kubectl does

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
CORPUS = os.path.join(ROOT, "fuzz", "corpus")


def sources():
    for pattern in ("examples/*.yaml", "examples/bad/*.yaml", "tests/bypass/*.yaml"):
        for path in sorted(glob.glob(os.path.join(ROOT, pattern))):
            yield path


def reset(target):
    directory = os.path.join(CORPUS, target)
    os.makedirs(directory, exist_ok=True)
    for name in os.listdir(directory):
        if name.startswith("seed-") and not name.startswith("seed-regression-"):
            os.remove(os.path.join(directory, name))
    return directory


def write(directory, name, data):
    with open(os.path.join(directory, "seed-" + name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())


def objects(text):
    for document in yaml.safe_load_all(text):
        if not isinstance(document, dict):
            continue
        if document.get("kind", "").endswith("List") and isinstance(document.get("items"), list):
            yield from (i for i in document["items"] if isinstance(i, dict))
        else:
            yield document


def main():
    manifest_dir = reset("manifest_lint")
    admission_dir = reset("admission_validate")
    settings_dir = reset("settings")
    count = 0
    for path in sources():
        stem = os.path.relpath(path, ROOT).replace("/", "-").removesuffix(".yaml")
        with open(path) as f:
            text = f.read()
        write(manifest_dir, stem + ".yaml", text)
        for i, obj in enumerate(objects(text)):
            namespace = (obj.get("metadata") or {}).get("namespace") or "default"
            request = {"uid": f"{stem}-{i}", "operation": "CREATE", "namespace": namespace, "object": obj}
            write(admission_dir, f"{stem}-{i}.json", json.dumps({"request": request, "settings": {}}, default=str))
            count += 1
        # one mutate variant and one UPDATE with the subresource the policy evaluates, per file
        if obj := next(objects(text), None):
            request = {"operation": "UPDATE", "subResource": "ephemeralcontainers", "namespace": "shop",
                       "object": obj, "oldObject": obj}
            write(admission_dir, f"{stem}-update.json",
                  json.dumps({"request": request, "settings": {"mutate": True, "context_aware": True}}, default=str))
    for name, settings in {
        "defaults.json": {},
        "full.json": {"rules": {"SAG001": "warn", "implicit-token-automount": "deny", "SAG014": "off"},
                      "exempt_namespaces": ["kube-*", "istio-system"],
                      "allowed_token_service_accounts": ["kyverno/*", "*/argocd-server"],
                      "require_allowlisted_opt_in": True, "max_token_expiration_seconds": 1800,
                      "denied_audiences": ["api", "https://kubernetes.default.svc*"], "mutate": True,
                      "context_aware": True, "on_lookup_failure": "warn",
                      "external_service_accounts": ["monitoring/prometheus"]},
        "null.json": None,
    }.items():
        write(settings_dir, name, json.dumps(settings))
    print(f"fuzz seeds: {count} admission payloads from {len(list(sources()))} manifests", file=sys.stderr)


if __name__ == "__main__":
    main()
