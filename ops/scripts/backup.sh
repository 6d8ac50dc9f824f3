#!/usr/bin/env bash
# Back up the PostgreSQL database to one file in pg_dump's custom format.
#
#   ops/scripts/backup.sh [DATABASE_URL] FILE
#
# DATABASE_URL defaults to the environment's. The dump is written beside FILE
# and renamed when complete, so FILE is never a half-written backup.
set -euo pipefail

if [ $# -eq 2 ]; then
    url=$1
    file=$2
elif [ $# -eq 1 ] && [ -n "${DATABASE_URL:-}" ]; then
    url=$DATABASE_URL
    file=$1
else
    echo "usage: $0 [DATABASE_URL] FILE (or set DATABASE_URL)" >&2
    exit 2
fi
case $url in
    postgres://* | postgresql://*) ;;
    *) echo "not a PostgreSQL URL; only PostgreSQL is backed up this way" >&2; exit 2 ;;
esac

partial="$file.partial"
trap 'rm -f "$partial"' EXIT
# Without owners and grants: the restore belongs to whoever restores it.
pg_dump --format=custom --no-owner --no-acl --file="$partial" --dbname="$url"
mv "$partial" "$file"
trap - EXIT
echo "backup: $file ($(stat -c %s "$file") bytes)"
