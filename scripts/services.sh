#!/usr/bin/env bash
# Makes sure the servers the tests talk to are installed and running on
# loopback, and the tools they drive are installed.
# Usage: scripts/services.sh postgres tmux
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

tmux_installed() {
    # The console's end-to-end tests run the real binary in tmux panes.
    if ! command -v tmux >/dev/null 2>&1; then
        echo "services: installing tmux"
        apt_install tmux
    fi
}

for service in "$@"; do
    case "$service" in
        postgres) postgres ;;
        tmux) tmux_installed ;;
        *) echo "services: unknown service $service" >&2; exit 2 ;;
    esac
done
