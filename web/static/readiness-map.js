// The readiness page's map: country outlines from the vendored GeoJSON (no tile server, nothing
// from another host), each country shaded by its open deployments with a popup of them by stage.
// The data is the page's own (#country-data); the table beside the map says the same in text.
(function () {
  "use strict";

  function escapeText(text) {
    var div = document.createElement("div");
    div.textContent = text;
    return div.innerHTML;
  }

  function stageWords(stage) {
    var words = stage.toLowerCase().replace(/_/g, " ");
    return words.charAt(0).toUpperCase() + words.slice(1);
  }

  // Five steps of USWDS's blue, from none to the most open deployments.
  var SHADES = ["#e7f2f5", "#97d4ea", "#28a0cb", "#0d7ea2", "#07648d"];

  function shade(count, most) {
    if (!count) return SHADES[0];
    // The country with the most is the darkest; any with one at least the first step.
    return SHADES[Math.max(1, Math.ceil(((SHADES.length - 1) * count) / Math.max(most, 1)))];
  }

  function popup(country) {
    var rows = Object.keys(country.by_stage).map(function (stage) {
      return "<li>" + escapeText(stageWords(stage)) + ": " + country.by_stage[stage] + "</li>";
    });
    return (
      "<strong>" + escapeText(country.country) + "</strong>: " + country.open + " open" +
      '<ul class="country-popup">' + rows.join("") + "</ul>"
    );
  }

  function draw() {
    var element = document.getElementById("country-map");
    var data = document.getElementById("country-data");
    if (!element || !data || typeof L === "undefined") return;
    var counts = {};
    var most = 0;
    JSON.parse(data.textContent).forEach(function (c) {
      counts[c.country.toLowerCase()] = c;
      most = Math.max(most, c.open);
    });
    var map = L.map(element, { worldCopyJump: false, minZoom: 1, maxZoom: 6, zoomSnap: 0.5 });
    map.attributionControl.setPrefix(false);
    map.attributionControl.addAttribution("Country outlines: Natural Earth");
    fetch("/static/countries-110m.geojson", { credentials: "same-origin" })
      .then(function (response) { return response.json(); })
      .then(function (outlines) {
        var layer = L.geoJSON(outlines, {
          style: function (feature) {
            var found = counts[feature.properties.name.toLowerCase()];
            return {
              color: "#71767a",
              weight: 0.5,
              fillOpacity: 1,
              fillColor: shade(found ? found.open : 0, most),
              className: found ? "country country--open" : "country",
            };
          },
          onEachFeature: function (feature, path) {
            var found = counts[feature.properties.name.toLowerCase()];
            if (found) path.bindPopup(popup(found));
          },
        }).addTo(map);
        map.fitBounds(layer.getBounds(), { padding: [4, 4] });
        element.setAttribute("data-drawn", "true");
      });
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
