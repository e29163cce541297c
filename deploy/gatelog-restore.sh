#!/usr/bin/env bash
# Restore a backup made by gatelog-backup.sh into a NEW database, never over the live one.
#   gatelog-restore.sh BACKUP_FILE TARGET_DATABASE_URL
# PostgreSQL: TARGET must exist and be empty (createdb -O gatelog gatelog_restored);
#             connect as the app's role so that it owns what is restored.
# SQLite:     TARGET names a file that does not exist yet.
# Then run `flask --app server init-db` with DATABASE_URL=TARGET (brings an older backup up to
# this release's schema) and point the service at it (README, "Restore").
set -euo pipefail

if [ "$#" -ne 2 ]; then
  echo "usage: $0 BACKUP_FILE TARGET_DATABASE_URL" >&2
  exit 2
fi
backup="$1"
target="$2"
python="${GATELOG_PYTHON:-/opt/gatelog/.venv/bin/python}"
[ -f "$backup" ] || { echo "No backup file at $backup" >&2; exit 1; }

case "$target" in
  postgres://* | postgresql://* | postgresql+psycopg://*)
    pg_restore --no-owner --exit-on-error --single-transaction \
      --dbname="postgresql://${target#*://}" "$backup"
    ;;
  sqlite:///*)
    path="${target#sqlite:///}"
    if [ -e "$path" ]; then
      echo "$path exists: restore into a new file, then swap it in with the service stopped" >&2
      exit 1
    fi
    umask 077
    "$python" -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).backup(sqlite3.connect(sys.argv[2]))' \
      "$backup" "$path"
    ;;
  *)
    echo "TARGET is neither PostgreSQL nor SQLite: $target" >&2
    exit 2
    ;;
esac
echo "Restored $backup into the new database."
