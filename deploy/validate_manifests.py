"""Validates built Kubernetes manifests (`kubectl kustomize` output) offline: every object
of a built-in kind against the Kubernetes API schema of `--kubernetes-version`, strictly
(an unknown field is an error), by kubernetes-validate; KEDA's objects against
deploy/schemas/keda-v2.json. Any other kind is an error. Run by deploy/check.sh.

Usage: validate_manifests.py --kubernetes-version 1.30.0 BUILT.yaml...
"""

import argparse
import json
import pathlib
import sys

import jsonschema
import kubernetes_validate
import yaml

KEDA = json.loads((pathlib.Path(__file__).parent / "schemas" / "keda-v2.json").read_text())


def keda_errors(document):
    kind = document.get("kind")
    if kind not in KEDA["$defs"]:
        return [f"no schema for KEDA kind {kind}"]
    schema = {**KEDA, "$ref": f"#/$defs/{kind}"}
    validator = jsonschema.Draft202012Validator(schema)
    return [f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message}" for e in validator.iter_errors(document)]


def kubernetes_errors(document, version):
    try:
        kubernetes_validate.validate(document, version, strict=True)
    except kubernetes_validate.ValidationError as error:
        return [f"{'/'.join(map(str, error.path)) or '(top)'}: {error.message}"]
    except kubernetes_validate.SchemaNotFoundError as error:
        return [str(error)]
    return []


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--kubernetes-version", required=True)
    parser.add_argument("manifests", nargs="+")
    args = parser.parse_args()
    failed = checked = 0
    for path in args.manifests:
        for document in yaml.safe_load_all(pathlib.Path(path).read_text()):
            if not document:
                continue
            checked += 1
            api = document.get("apiVersion", "")
            errors = keda_errors(document) if api.startswith("keda.sh/") else kubernetes_errors(
                document, args.kubernetes_version)
            name = f"{path}: {document.get('kind')} {document.get('metadata', {}).get('name')}"
            for error in errors:
                failed += 1
                print(f"{name}: {error}", file=sys.stderr)
    print(f"{checked} objects checked against Kubernetes {args.kubernetes_version} and KEDA 2: "
          f"{failed or 'no'} errors")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
