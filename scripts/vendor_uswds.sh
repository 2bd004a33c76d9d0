#!/bin/sh
# Refresh the vendored U.S. Web Design System copy in web/static/uswds from npm.
# Run by hand (`make vendor`) when upgrading; never during tests or `make run`, which must work
# offline. Copies only what the pages load: the compiled CSS, the JS, every font and image the
# CSS references by url(), the banner images, the icon sprite and the licence.
set -eu
VERSION=3.14.0
ROOT=$(cd "$(dirname "$0")/.." && pwd)
DEST="$ROOT/web/static/uswds"
TMP=$(mktemp -d)
trap 'rm -rf "$TMP"' EXIT

(cd "$TMP" && npm init -y >/dev/null && npm install --no-audit --no-fund "@uswds/uswds@$VERSION" >/dev/null)
DIST="$TMP/node_modules/@uswds/uswds/dist"

rm -rf "$DEST"
mkdir -p "$DEST/css" "$DEST/js"
cp "$DIST/css/uswds.min.css" "$DEST/css/"
cp "$DIST/js/uswds-init.min.js" "$DIST/js/uswds.min.js" "$DEST/js/"
cp "$TMP/node_modules/@uswds/uswds/LICENSE.md" "$DEST/"

# Every ../fonts/... and ../img/... the CSS names, so no url() in it points at a missing file.
for ref in $(grep -o 'url(\.\./[^)]*)' "$DIST/css/uswds.min.css" | sed 's/^url(\.\.\///; s/)$//' | sort -u); do
  mkdir -p "$DEST/$(dirname "$ref")"
  cp "$DIST/$ref" "$DEST/$ref"
done
# Images the banner, header and modal markup reference directly.
for img in us_flag_small.png icon-dot-gov.svg icon-https.svg sprite.svg; do
  cp "$DIST/img/$img" "$DEST/img/"
done
echo "USWDS $VERSION vendored into $DEST"
