#!/usr/bin/env bash
# Idempotent: install MariaDB (server + client) from the Debian mirrors if mariadbd is missing.
# Run as root on Debian 12. Needs network access to the package mirrors only.
# The package does not auto-start a server here; tests start their own (tests/mysql_server.py).
set -euo pipefail

if [ -x /usr/sbin/mariadbd ] || command -v mariadbd >/dev/null 2>&1; then
    echo "mariadbd already installed: $(/usr/sbin/mariadbd --version 2>/dev/null || mariadbd --version)"
    exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
    SUDO="sudo"
fi

$SUDO apt-get update
$SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y mariadb-server mariadb-client

/usr/sbin/mariadbd --version
