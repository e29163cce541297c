#!/usr/bin/env bash
# Back up the Gate log database once; deploy/gatelog-backup.timer runs it daily.
#   PostgreSQL: pg_dump -Fc (custom format, restored with deploy/gatelog-restore.sh / pg_restore)
#   SQLite:     the online backup API of Python's sqlite3 (safe while the app writes, unlike cp)
# Environment: DATABASE_URL (as the app has it), BACKUP_DIR, BACKUP_KEEP_DAYS, GATELOG_PYTHON.
# Prints the path of the new backup. Copy the folder off this host too (see README, Backups).
set -euo pipefail

: "${DATABASE_URL:?DATABASE_URL is not set (see /etc/gatelog/gatelog.env)}"
backup_dir="${BACKUP_DIR:-/var/backups/gatelog}"
keep_days="${BACKUP_KEEP_DAYS:-14}"
python="${GATELOG_PYTHON:-/opt/gatelog/.venv/bin/python}"
stamp="$(date -u +%Y-%m-%dT%H%M%SZ)"

# Backups hold personal data: readable by their owner only.
umask 077
mkdir -p "$backup_dir"

case "$DATABASE_URL" in
  postgres://* | postgresql://* | postgresql+psycopg://*)
    target="$backup_dir/gatelog-$stamp.dump"
    # libpq does not know SQLAlchemy's "+psycopg" driver suffix.
    pg_dump --format=custom --no-owner --file="$target.partial" "postgresql://${DATABASE_URL#*://}"
    ;;
  sqlite:///*)
    source="${DATABASE_URL#sqlite:///}"
    if [ ! -f "$source" ]; then
      echo "No SQLite database at $source" >&2
      exit 1
    fi
    target="$backup_dir/gatelog-$stamp.sqlite3"
    "$python" -c 'import sqlite3, sys; sqlite3.connect(sys.argv[1]).backup(sqlite3.connect(sys.argv[2]))' \
      "$source" "$target.partial"
    ;;
  *)
    echo "DATABASE_URL is neither PostgreSQL nor SQLite: $DATABASE_URL" >&2
    exit 2
    ;;
esac

# A backup cut short by a crash or a full disk keeps its .partial name and is never restored.
mv "$target.partial" "$target"
find "$backup_dir" -maxdepth 1 -name 'gatelog-*' -type f -mtime +"$keep_days" -delete
echo "$target"
