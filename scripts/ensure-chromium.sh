#!/bin/sh
# Install Debian's Chromium for the browser test when it is missing (CI starts from a clean machine).
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then
    exit 0
fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null 2>&1; then
    echo "Installing Chromium for the browser test (apt-get)..."
    apt-get update -qq >/dev/null && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null \
        && exit 0
fi
echo "Chromium is not installed and could not be installed: the browser test will be skipped." >&2
exit 0
