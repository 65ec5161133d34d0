// Starts Swagger UI on openapi.json, in "try it" mode for the one DELETE.
// The API key typed into "Authorize" lives in the page's memory only: persistAuthorization is off
// (nothing in localStorage or sessionStorage), and it is sent as the x-api-key header, never in a
// URL. No deep links, no configuration from the URL, no validator badge (an outside request).
window.addEventListener("DOMContentLoaded", function () {
  "use strict";
  window.ui = SwaggerUIBundle({
    url: "openapi.json",
    dom_id: "#playground",
    deepLinking: false,
    queryConfigEnabled: false,
    persistAuthorization: false,
    withCredentials: false,
    validatorUrl: null,
    docExpansion: "full",
    defaultModelsExpandDepth: 0,
    tryItOutEnabled: true,
    supportedSubmitMethods: ["delete"],
    displayRequestDuration: true,
  });
});
