#!/usr/bin/env bash
# Restore a backup of backup.sh into a new database.
#
#   ops/scripts/restore.sh FILE TARGET_DATABASE_URL
#
# The target database must not exist yet: a restore never writes over a live
# database. It is created on the target's server, and the restore runs in one
# transaction, so a failure leaves it empty rather than half restored.
set -euo pipefail

if [ $# -ne 2 ]; then
    echo "usage: $0 FILE TARGET_DATABASE_URL" >&2
    exit 2
fi
file=$1
target=$2
[ -r "$file" ] || { echo "no backup at $file" >&2; exit 2; }

base=${target%%\?*}
query=${target#"$base"}
name=${base##*/}
case $name in
    "" | *[!A-Za-z0-9_]*)
        echo "the target database name '$name' must be letters, digits and _" >&2
        exit 2
        ;;
esac
# The server's maintenance database, with the target's user, host and options.
maintenance="${base%/*}/postgres$query"

psql --quiet --no-psqlrc -v ON_ERROR_STOP=1 --dbname="$maintenance" \
    -c "CREATE DATABASE \"$name\""
pg_restore --no-owner --no-acl --exit-on-error --single-transaction \
    --dbname="$target" "$file"
echo "restored: $file into $name"
