#!/usr/bin/env bash
# Installs the reference tools benches/exports.rs compares against, where
# they can be had: sqlite3 (Debian), Python's xlsxwriter and reportlab (PyPI).
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh tools
python3 -m pip install --quiet --disable-pip-version-check xlsxwriter reportlab
