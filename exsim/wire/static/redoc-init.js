// ReDoc for /openapi.json (files from the drf-spectacular-sidecar package, no CDN).
Redoc.init("/openapi.json", { hideDownloadButton: false }, document.getElementById("redoc-container"));
