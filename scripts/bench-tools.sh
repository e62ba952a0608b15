#!/usr/bin/env bash
# Installs the reference tools benches/exports.rs compares against, where
# they can be had: sqlite3 (Debian), Python's xlsxwriter and reportlab (PyPI);
# and openpyxl, which tests/xlsx.rs uses as a second reader of our workbooks.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/services.sh tools
python3 -m pip install --quiet --disable-pip-version-check xlsxwriter reportlab openpyxl
# The resvg command, the reference for the diagram figure; the same version
# as the crate cronport renders with.
if ! command -v resvg >/dev/null 2>&1; then
    cargo install --quiet --locked resvg --version "$(awk '/^name = "resvg"$/ {getline; gsub(/[^0-9.]/, ""); print; exit}' Cargo.lock)"
fi
