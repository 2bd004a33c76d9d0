#!/bin/sh
# Refresh the vendored Swagger UI and ReDoc under web/static/vendor/ from the npm registry, so
# /docs and /redoc load nothing from another host. Run by hand (make vendor-api-docs) to update
# the pinned versions below; never run by the tests or by `make run`.
set -eu

SWAGGER_UI_DIST_VERSION=5.35.0
REDOC_VERSION=2.5.4

root=$(cd "$(dirname "$0")/.." && pwd)
vendor="$root/web/static/vendor"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "swagger-ui-dist@$SWAGGER_UI_DIST_VERSION" "redoc@$REDOC_VERSION" >/dev/null
mkdir swagger redoc
tar xzf "swagger-ui-dist-$SWAGGER_UI_DIST_VERSION.tgz" -C swagger
tar xzf "redoc-$REDOC_VERSION.tgz" -C redoc

rm -rf "$vendor/swagger-ui" "$vendor/redoc"
mkdir -p "$vendor/swagger-ui" "$vendor/redoc"
# Only the files the pages load, with their licenses; the source maps stay out.
for file in swagger-ui-bundle.js swagger-ui-bundle.js.LICENSE.txt swagger-ui.css favicon-32x32.png \
    LICENSE NOTICE package.json; do
    cp "swagger/package/$file" "$vendor/swagger-ui/"
done
for file in bundles/redoc.standalone.js bundles/redoc.standalone.js.LICENSE.txt LICENSE package.json; do
    cp "redoc/package/$file" "$vendor/redoc/"
done
# The bundles name their source maps, which are not vendored: drop the comment so a browser's
# developer tools do not ask the app for them.
sed -i '/^\/\/# sourceMappingURL=/d' "$vendor/swagger-ui/swagger-ui-bundle.js" "$vendor/redoc/redoc.standalone.js"
sed -i 's#/\*\# sourceMappingURL=[^*]*\*/##' "$vendor/swagger-ui/swagger-ui.css"
# ReDoc's footer shows Redocly's logo from their CDN: an image that cannot load instead, which
# ReDoc's own error handler then hides.
sed -i 's#"https://cdn.redoc.ly/redoc/logo-mini.svg"#"data:,"#' "$vendor/redoc/redoc.standalone.js"
if grep -q 'cdn\.redoc\.ly' "$vendor/redoc/redoc.standalone.js"; then
    echo "redoc.standalone.js still names cdn.redoc.ly: look at what loads from it" >&2
    exit 1
fi
echo "Vendored swagger-ui-dist $SWAGGER_UI_DIST_VERSION and redoc $REDOC_VERSION into $vendor"
