#!/usr/bin/env bash
# Installs what the test suite needs from Debian's packages when it is missing.
# Servers themselves (moto, redis-server, the local cited web) are started by the
# pytest fixtures on 127.0.0.1 and stopped when the session ends.
set -euo pipefail
need=()
command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
command -v chromium >/dev/null 2>&1 || need+=(chromium)
if ((${#need[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "tests need: ${need[*]} (install them with apt-get, or run make test as root)" >&2
        exit 2
    fi
    echo "installing ${need[*]} from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi
