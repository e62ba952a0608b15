#!/usr/bin/env bash
# Runs every test. Installs and starts what the tests need first, so it works
# on a fresh machine: PostgreSQL for the store suite and the multi-instance
# tests, MariaDB for the export sources, poppler/qpdf/sqlite3 for reading
# exports back (SQLite itself is built into cronport), tmux for the console's
# end-to-end tests, zsh, fish and groff for the completion and man page
# tests, moto (S3), Azurite (Azure blob), aiosmtpd (SMTP) and sshd (SFTP)
# for the destination tests, which start them on free ports, and
# Prometheus, promtool and systemd-analyze for the service tests.
set -euo pipefail
cd "$(dirname "$0")/.."

export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
scripts/services.sh postgres mariadb tools destinations monitoring

# One build profile (dev) for everything; benches are not built here.
cargo test "$@"
