# keywarden's everyday commands. `just` alone lists them.

default:
    @just --list

# Run the server on 127.0.0.1:8080 with its SQLite database in ~/.local/share/keywarden.
run *ARGS:
    cargo run --release -- {{ARGS}}

# Run every test.
test:
    cargo test --workspace

# The upgrade tests: the previous release (.ci/previous-release, built from its
# tag once and kept in ~/.cache/keywarden/releases) beside this one, the copy
# and its restore, an earlier release's database where keywarden runs, a
# database of a newer release; on PostgreSQL when URL is given (for example
# postgres://postgres@127.0.0.1:5432/postgres), else on SQLite.
test-upgrade URL="":
    KEYWARDEN_TEST_PREVIOUS_BIN="$(bash .ci/previous)" KEYWARDEN_TEST_POSTGRES_URL="{{URL}}" \
        cargo test --workspace -- upgrade:: an_earlier_releases_database a_database_migrated_by_a_newer_release

# Format, then lint with warnings as errors, then check the rooms.
lint:
    cargo fmt --all
    cargo clippy --workspace --all-targets -- -D warnings
    python3 .ci/rooms

# No import circle between files, every import in a direction .ci/rooms.toml
# allows (docs/architecture.md); --self-test shows the check failing.
rooms:
    python3 .ci/rooms --self-test
    python3 .ci/rooms

# Format the code.
fmt:
    cargo fmt --all

# Create an account and its first Admin; prints the Admin's token.
bootstrap ACCOUNT ADMIN:
    cargo run --release -- bootstrap --account "{{ACCOUNT}}" --admin "{{ADMIN}}"

# Everything CI checks.
ci:
    bash .ci/run

# Write schema.graphql from the running schema.
schema:
    cargo run -- print-schema > schema.graphql

# Run every test on PostgreSQL (a database per test on this server).
test-pg URL="postgres://postgres@127.0.0.1:5432/postgres":
    KEYWARDEN_TEST_POSTGRES_URL={{URL}} cargo test --workspace

# Mutation testing of every mutant of the credential and authorization rules
# (.cargo/mutants.toml), two at a time in copies of the tree; on success it
# records HEAD in .ci/mutants-base. Run it on every change that adds or reworks
# one of those files. A surviving mutant is a missing test.
mutants:
    bash .ci/mutants --all

# Only the mutants on lines changed since .ci/mutants-base, as CI runs them
# (in place: leave the tree alone until it ends).
mutants-changed:
    bash .ci/mutants --changed

# Measure the server under load and write BENCHMARKS.md (see bench/run.sh).
bench:
    bash bench/run.sh
