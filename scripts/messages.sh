#!/usr/bin/env bash
# Regenerate the English and French gettext catalogues and compile them to .mo.
#
# Run from anywhere; paths are resolved from the repository root. makemessages walks
# src/cadence (app templates and .py files) and writes to src/cadence/locale, which is
# the LOCALE_PATHS entry in settings.py. Migrations are skipped: their strings are
# model metadata duplicated from models.py.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DJANGO_ADMIN="$ROOT/.venv/bin/django-admin"

cd "$ROOT/src/cadence"
"$DJANGO_ADMIN" makemessages -l en -l fr \
    --settings=cadence.settings --pythonpath=.. \
    --ignore=migrations --no-obsolete -e html,txt,py
"$DJANGO_ADMIN" compilemessages -l en -l fr \
    --settings=cadence.settings --pythonpath=.. \
    --ignore=migrations
