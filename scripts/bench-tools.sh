#!/usr/bin/env bash
# Installs the reference tools benches/exports.rs compares against, where
# they can be had: sqlite3 (Debian), Python's xlsxwriter and reportlab (PyPI);
# and openpyxl, which tests/xlsx.rs uses as a second reader of our workbooks.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh tools
python3 -m pip install --quiet --disable-pip-version-check xlsxwriter reportlab openpyxl
