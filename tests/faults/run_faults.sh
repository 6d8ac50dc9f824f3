#!/usr/bin/env bash
# The fault-injection and race tests (docs/RELIABILITY.md) on PostgreSQL, in
# their small CI size. They also run in the normal suite whenever DATABASE_URL
# names a PostgreSQL server (.ci/run); on SQLite they skip with the reason.
#
#   tests/faults/run_faults.sh            # the server on 127.0.0.1:5432
#   DATABASE_URL=postgres://u:p@host:5432/dunning tests/faults/run_faults.sh -x
set -euo pipefail
cd "$(dirname "$0")/../.."

export DATABASE_URL="${DATABASE_URL:-postgres://postgres@127.0.0.1:5432/dunning}"
# A database of its own, so that a test session beside it does not clash.
export TEST_DATABASE_NAME="${TEST_DATABASE_NAME:-test_dunning_faults}"
case "$DATABASE_URL" in
    postgres://* | postgresql://*) ;;
    *) echo "run_faults.sh: DATABASE_URL must name PostgreSQL" >&2; exit 2 ;;
esac

exec .venv/bin/pytest tests/faults -p no:randomly --create-db -q "$@"
