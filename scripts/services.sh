#!/usr/bin/env bash
# Makes sure the servers the tests talk to are installed and running on
# loopback, and the tools the tests drive or read exports back with.
# Usage: scripts/services.sh postgres mariadb tools destinations monitoring
#
# destinations: what the destination tests start on free ports themselves:
# moto's S3 server and aiosmtpd (PyPI), Azurite's blob server (npm), OpenSSH's
# sshd and openssl (Debian).
set -euo pipefail

as_root() {
    if [ "$(id -u)" -eq 0 ]; then "$@"; else sudo "$@"; fi
}

apt_install() {
    export DEBIAN_FRONTEND=noninteractive
    as_root apt-get update -qq
    as_root apt-get install -y -qq "$@" >/dev/null
}

postgres() {
    if ! command -v pg_ctlcluster >/dev/null 2>&1; then
        echo "services: installing PostgreSQL"
        apt_install postgresql
        # The tests connect as postgres over loopback without a password, as
        # on the machines this project runs on.
        local hba
        for hba in /etc/postgresql/*/main/pg_hba.conf; do
            as_root sed -i -E 's/^(host\s+all\s+all\s+(127\.0\.0\.1\/32|::1\/128)\s+)\S+/\1trust/' "$hba"
        done
    fi
    if pg_isready -q -h 127.0.0.1 -p 5432; then
        return
    fi
    echo "services: starting PostgreSQL"
    local version
    version=$(ls /etc/postgresql | sort -V | tail -n 1)
    as_root pg_ctlcluster --skip-systemctl-redirect "$version" main start
    for _ in $(seq 1 50); do
        pg_isready -q -h 127.0.0.1 -p 5432 && return
        sleep 0.2
    done
    echo "services: PostgreSQL did not come up on 127.0.0.1:5432" >&2
    exit 1
}

mariadb() {
    if ! command -v mariadbd >/dev/null 2>&1 && ! command -v mysqld >/dev/null 2>&1; then
        echo "services: installing MariaDB"
        apt_install mariadb-server mariadb-client
    fi
    if ! mysqladmin -h 127.0.0.1 -P 3306 -u root ping >/dev/null 2>&1; then
        echo "services: starting MariaDB"
        as_root service mariadb start >/dev/null 2>&1 || as_root service mysql start >/dev/null
        for _ in $(seq 1 50); do
            mysqladmin --protocol=socket -u root ping >/dev/null 2>&1 && break
            sleep 0.2
        done
    fi
    # The tests connect as root over loopback without a password, to db test.
    if ! mysql -h 127.0.0.1 -P 3306 -u root -e "select 1" >/dev/null 2>&1; then
        as_root mysql --protocol=socket -u root -e \
            "ALTER USER 'root'@'localhost' IDENTIFIED VIA unix_socket OR mysql_native_password USING PASSWORD('')"
    fi
    mysql -h 127.0.0.1 -P 3306 -u root -e "CREATE DATABASE IF NOT EXISTS test" || {
        echo "services: MariaDB did not come up on 127.0.0.1:3306" >&2
        exit 1
    }
}

# Tools the tests drive: independent readers for the export tests, poppler
# (pdftotext, pdfinfo, pdffonts, pdfimages) and qpdf, Python 3 (csv, json,
# html.parser), sqlite3; and tmux, for the console's end-to-end tests.
tools() {
    local missing=()
    command -v pdftotext >/dev/null 2>&1 || missing+=(poppler-utils)
    command -v qpdf >/dev/null 2>&1 || missing+=(qpdf)
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
    command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
    command -v tmux >/dev/null 2>&1 || missing+=(tmux)
    # tests/completions.rs: the shells read their completion scripts, groff
    # renders the man pages.
    command -v zsh >/dev/null 2>&1 || missing+=(zsh)
    command -v fish >/dev/null 2>&1 || missing+=(fish)
    command -v groff >/dev/null 2>&1 || missing+=(groff-base)
    if [ "${#missing[@]}" -gt 0 ]; then
        echo "services: installing ${missing[*]}"
        apt_install "${missing[@]}"
    fi
}

# The Python the destination tests run their servers with, and
# tests/xlsx.rs reads workbooks back with (openpyxl): python3 when it
# has the packages, else a virtualenv of our own (Debian's python3 refuses
# pip installs into the system). tests/common/servers.rs looks in the same
# place.
TEST_VENV="${XDG_CACHE_HOME:-$HOME/.cache}/cronport/test-venv"
PY_PACKAGES=("moto[server]" aiosmtpd openpyxl)

destinations() {
    local missing=()
    command -v /usr/sbin/sshd >/dev/null 2>&1 || [ -x /usr/sbin/sshd ] || missing+=(openssh-server)
    command -v ssh-keygen >/dev/null 2>&1 || missing+=(openssh-client)
    command -v openssl >/dev/null 2>&1 || missing+=(openssl)
    command -v python3 >/dev/null 2>&1 || missing+=(python3)
    if ! python3 -c 'import moto, aiosmtpd, flask, openpyxl' >/dev/null 2>&1 \
        && ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        missing+=(python3-venv python3-pip)
    fi
    command -v npm >/dev/null 2>&1 || missing+=(nodejs npm)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "services: installing ${missing[*]}"
        apt_install "${missing[@]}"
    fi
    # sshd started as root wants its privilege separation folder.
    if [ "$(id -u)" -eq 0 ]; then mkdir -p /run/sshd; fi
    python_servers
    azurite
}

python_servers() {
    if python3 -c 'import moto, aiosmtpd, flask, openpyxl' >/dev/null 2>&1; then
        return
    fi
    if [ -x "$TEST_VENV/bin/python" ] \
        && "$TEST_VENV/bin/python" -c 'import moto, aiosmtpd, flask, openpyxl' >/dev/null 2>&1; then
        return
    fi
    echo "services: installing ${PY_PACKAGES[*]} into $TEST_VENV"
    python3 -m venv "$TEST_VENV"
    "$TEST_VENV/bin/python" -m pip install --quiet "${PY_PACKAGES[@]}"
}

# Azurite (Microsoft's Azure Storage emulator) for the az:// tests, in a
# folder of our own like the Python packages; tests/common/servers looks there.
AZURITE_DIR="${XDG_CACHE_HOME:-$HOME/.cache}/cronport/azurite"
AZURITE_VERSION="3.35.0"

azurite() {
    if [ -x "$AZURITE_DIR/node_modules/.bin/azurite-blob" ]; then
        return
    fi
    echo "services: installing azurite $AZURITE_VERSION into $AZURITE_DIR"
    mkdir -p "$AZURITE_DIR"
    npm install --prefix "$AZURITE_DIR" --no-audit --no-fund --silent "azurite@$AZURITE_VERSION"
}

# The service tests: Prometheus (the server the metrics test scrapes a
# headless instance with, started on a free port by the test) and its
# promtool, and systemd-analyze (checks the shipped unit file).
monitoring() {
    local missing=()
    command -v prometheus >/dev/null 2>&1 || missing+=(prometheus)
    command -v promtool >/dev/null 2>&1 || missing+=(prometheus)
    command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
    if [ ${#missing[@]} -gt 0 ]; then
        echo "services: installing ${missing[*]}"
        # Only the programs: the package's own service is not wanted running.
        apt_install --no-install-recommends "${missing[@]}"
    fi
}

for service in "$@"; do
    case "$service" in
        postgres) postgres ;;
        mariadb) mariadb ;;
        tools) tools ;;
        destinations) destinations ;;
        monitoring) monitoring ;;
        *) echo "services: unknown service $service" >&2; exit 2 ;;
    esac
done
