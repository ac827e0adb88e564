#!/usr/bin/env bash
# Installs from Debian's packages what the tests and the demo need, when it is missing:
#   tests/services.sh           what the test suite needs (make test)
#   tests/services.sh browser   what browser capture needs, nothing else (make demo)
# Servers themselves (moto, redis-server, the local cited web) are started by the
# pytest fixtures on 127.0.0.1 and stopped when the session ends.
set -euo pipefail
need=()

installed() {
    [[ $(dpkg-query -W -f='${db:Status-Status}' "$1" 2>/dev/null) == installed ]]
}

browser() {
    # Playwright drives Debian's own Chromium: `playwright install` is never run.
    [[ -x /usr/lib/chromium/chromium ]] || need+=(chromium)
    # unshare(1) starts Chromium in a network namespace of its own (crawler/browser/chromium-netns).
    command -v unshare >/dev/null 2>&1 || need+=(util-linux)
    # Screenshots show text, not boxes: DejaVu for Latin, Greek and Cyrillic; WenQuanYi
    # Micro Hei (the smallest of Debian's CJK fonts) for Chinese, Japanese and Korean pages;
    # Noto Sans CJK, the first CJK font of the scrub report's stacks (history/report.py),
    # which tests/test_report_fonts.py checks the report's Chinese paragraphs are drawn in.
    if command -v dpkg-query >/dev/null 2>&1; then
        for font in fonts-dejavu-core fonts-wqy-microhei fonts-noto-cjk; do
            installed "$font" || need+=("$font")
        done
    fi
}

case "${1:-all}" in
    all)
        command -v redis-server >/dev/null 2>&1 || need+=(redis-server)
        # npm fetches ReplayWeb.page's viewer for tests/test_replay.py (below)
        command -v npm >/dev/null 2>&1 || need+=(npm)
        browser
        ;;
    browser) browser ;;
    *)
        echo "usage: tests/services.sh [browser]" >&2
        exit 2
        ;;
esac

if ((${#need[@]})); then
    if [[ $(id -u) -ne 0 ]]; then
        echo "scrubwatch needs: ${need[*]} (install them with apt-get, or run make as root)" >&2
        exit 2
    fi
    echo "installing ${need[*]} from Debian's packages"
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "${need[@]}"
fi

# ReplayWeb.page (AGPL-3.0: fetched, never committed) into its cache with npm, before
# the suite runs in a namespace without a network (tests/test_replay.py).
if [[ ${1:-all} == all && -x .venv/bin/scrubwatch ]]; then
    .venv/bin/scrubwatch replay --fetch-viewer
fi
