// The API's documentation page (/api/v1/docs): Swagger UI from the vendored files, no inline script (CSP).
window.addEventListener("load", function () {
  window.SwaggerUIBundle({
    url: document.getElementById("swagger-ui").dataset.spec,
    dom_id: "#swagger-ui",
    deepLinking: true,
  });
});
