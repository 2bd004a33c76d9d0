#!/bin/sh
# Refresh the vendored htmx SSE extension (web/static/htmx-ext-sse.min.js) from the npm registry,
# so the live pages load nothing from another host. Run by hand (make vendor) to update the pinned
# version below; never run by the tests or by `make run`.
set -eu

HTMX_EXT_SSE_VERSION=2.2.4

root=$(cd "$(dirname "$0")/.." && pwd)
static="$root/web/static"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "htmx-ext-sse@$HTMX_EXT_SSE_VERSION" >/dev/null
tar xzf "htmx-ext-sse-$HTMX_EXT_SSE_VERSION.tgz"
cp package/dist/sse.min.js "$static/htmx-ext-sse.min.js"
echo "Vendored htmx-ext-sse $HTMX_EXT_SSE_VERSION into $static/htmx-ext-sse.min.js"
