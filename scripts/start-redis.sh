#!/usr/bin/env bash
# Install Debian's redis-server when it is missing (needed by tests/redis/).
#
# The tests start (and stop) their own redis-server on a free 127.0.0.1 port;
# this script only makes sure the binary is there. Needs root (or sudo) and apt.
#   scripts/start-redis.sh          # install if missing, print the version
set -euo pipefail

find_server() {
    command -v redis-server 2>/dev/null && return 0
    for candidate in /usr/bin/redis-server /usr/sbin/redis-server /usr/local/bin/redis-server; do
        if [ -x "$candidate" ]; then
            echo "$candidate"
            return 0
        fi
    done
    return 1
}

if server="$(find_server)"; then
    echo "redis-server already installed: $server"
else
    if ! command -v apt-get >/dev/null 2>&1; then
        echo "redis-server is missing and apt-get is not available: install redis-server by hand" >&2
        exit 1
    fi
    sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo="sudo"
        else
            echo "redis-server is missing; installing it needs root (or sudo)" >&2
            exit 1
        fi
    fi
    echo "installing redis-server with apt-get"
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends redis-server >/dev/null
    # Debian's package may start a system service on 6379; the tests never use it.
    server="$(find_server)"
fi
"$server" --version
