"""A client nobody here wrote: graphql-core introspects a running keywarden,
builds the client schema, and validates the seed's documents against it.

Usage: check_schema.py URL DOCUMENTS_DIR SCHEMA_FILE [SEED_FILE]

With SEED_FILE, it also checks that each document is a verbatim copy of the seed.
Prints one line per check and a closing "N passed, N failed"; exits 1 on any failure.
"""

import json
import pathlib
import sys
import urllib.request

from graphql import (
    build_client_schema,
    build_schema,
    get_introspection_query,
    lexicographic_sort_schema,
    parse,
    print_schema,
    validate,
)


def introspect(url):
    body = json.dumps({"query": get_introspection_query(descriptions=True)}).encode()
    request = urllib.request.Request(url, data=body, headers={"content-type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        result = json.load(response)
    if result.get("errors"):
        raise SystemExit(f"introspection failed: {result['errors']}")
    return build_client_schema(result["data"])


def main():
    url, documents, schema_file = sys.argv[1], pathlib.Path(sys.argv[2]), sys.argv[3]
    seed = pathlib.Path(sys.argv[4]).read_text() if len(sys.argv) > 4 else None
    schema = introspect(url)
    passed, failed = 0, 0

    def check(name, problem):
        nonlocal passed, failed
        if problem:
            failed += 1
            print(f"FAIL {name}: {problem}")
        else:
            passed += 1
            print(f"ok   {name}")

    running = print_schema(lexicographic_sort_schema(schema))
    checked_in = print_schema(lexicographic_sort_schema(build_schema(pathlib.Path(schema_file).read_text())))
    check("schema.graphql matches the running schema", None if running == checked_in else "they differ")

    paths = sorted(documents.glob("*.graphql"))
    check("seed documents found", None if paths else f"none in {documents}")
    for path in paths:
        text = path.read_text()
        errors = validate(schema, parse(text))
        check(f"{path.name} validates", "; ".join(e.message for e in errors))
        if seed is not None:
            body = text.rstrip("\n")
            verbatim = body in seed or json.dumps(body)[1:-1] in seed
            check(f"{path.name} is verbatim from the seed", None if verbatim else "not found in the seed")

    print(f"{passed} passed, {failed} failed")
    sys.exit(1 if failed else 0)


if __name__ == "__main__":
    main()
