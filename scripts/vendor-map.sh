#!/bin/sh
# Refresh the vendored map: Leaflet (web/static/leaflet/) and an offline basemap of country
# outlines (web/static/countries-110m.geojson, from world-atlas's 1:110m Natural Earth TopoJSON,
# converted to GeoJSON here with topojson-client), so the readiness page loads nothing from another
# host and needs no tile server. Run by hand (make vendor) to update the pinned versions below;
# never run by the tests or by `make run`. Licences: Leaflet BSD-2-Clause (copied beside it),
# world-atlas ISC, its Natural Earth data public domain.
set -eu

LEAFLET_VERSION=1.9.4
WORLD_ATLAS_VERSION=2.0.2
TOPOJSON_CLIENT_VERSION=3.1.0

root=$(cd "$(dirname "$0")/.." && pwd)
static="$root/web/static"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

cd "$work"
npm pack --silent "leaflet@$LEAFLET_VERSION" "world-atlas@$WORLD_ATLAS_VERSION" \
  "topojson-client@$TOPOJSON_CLIENT_VERSION" >/dev/null
for pkg in "leaflet-$LEAFLET_VERSION" "world-atlas-$WORLD_ATLAS_VERSION" "topojson-client-$TOPOJSON_CLIENT_VERSION"; do
  mkdir "$pkg" && tar xzf "$pkg.tgz" -C "$pkg"
done

mkdir -p "$static/leaflet"
cp "leaflet-$LEAFLET_VERSION/package/dist/leaflet.js" "leaflet-$LEAFLET_VERSION/package/dist/leaflet.css" \
  "leaflet-$LEAFLET_VERSION/package/LICENSE" "$static/leaflet/"

# Natural Earth's short names become the names posts are recorded with (crc/seed.py), so the
# page can shade a country by its name; rounded to 2 decimals (about 1 km), plenty at 1:110m.
# Every country is written as a MultiPolygon.
cat >convert.js <<'JS'
const fs = require("fs");
const topojson = require(process.argv[2]);
const topology = JSON.parse(fs.readFileSync(process.argv[3], "utf8"));
const names = {
  "S. Sudan": "South Sudan",
  "Dem. Rep. Congo": "Democratic Republic of the Congo",
  "Central African Rep.": "Central African Republic",
  "Bosnia and Herz.": "Bosnia and Herzegovina",
  "Dominican Rep.": "Dominican Republic",
  "Eq. Guinea": "Equatorial Guinea",
  "Solomon Is.": "Solomon Islands",
  "Côte d'Ivoire": "Cote d'Ivoire",
  "W. Sahara": "Western Sahara",
  "eSwatini": "Eswatini",
  "Falkland Is.": "Falkland Islands",
  "Fr. S. Antarctic Lands": "French Southern and Antarctic Lands",
  "N. Cyprus": "Northern Cyprus",
  "S. Geo. and the Is.": "South Georgia and the South Sandwich Islands",
};
const round = (c) => (typeof c[0] === "number" ? c.map((x) => Math.round(x * 100) / 100) : c.map(round));
// A ring that crosses the antimeridian (Russia's Chukotka, Fiji) would be drawn as a band across
// the whole map: its western-hemisphere points move east by 360 degrees instead.
const unwrap = (ring) => {
  const lons = ring.map((p) => p[0]);
  if (Math.max(...lons) - Math.min(...lons) <= 180) return ring;
  return ring.map(([lon, lat]) => [lon < 0 ? lon + 360 : lon, lat]);
};
const polygons = (g) => (g.type === "Polygon" ? [g.coordinates] : g.coordinates);
const geo = topojson.feature(topology, topology.objects.countries);
// Antarctica has no posts, and under the map's Mercator projection it would fill half of it.
geo.features = geo.features
  .filter((f) => f.properties.name !== "Antarctica")
  .map((f) => ({
    type: "Feature",
    properties: { name: names[f.properties.name] || f.properties.name },
    geometry: { type: "MultiPolygon", coordinates: round(polygons(f.geometry).map((p) => p.map(unwrap))) },
  }));
process.stdout.write(JSON.stringify(geo));
JS
node convert.js "$work/topojson-client-$TOPOJSON_CLIENT_VERSION/package" \
  "world-atlas-$WORLD_ATLAS_VERSION/package/countries-110m.json" >"$static/countries-110m.geojson"
cp "world-atlas-$WORLD_ATLAS_VERSION/package/LICENSE" "$static/countries-110m.LICENSE"
echo "Vendored Leaflet $LEAFLET_VERSION into $static/leaflet/ and world-atlas $WORLD_ATLAS_VERSION's countries into $static/countries-110m.geojson"
