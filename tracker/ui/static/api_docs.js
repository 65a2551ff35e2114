// Swagger UI over the OpenAPI document (a file, not an inline script: the pages' CSP allows
// scripts from this server only).
window.addEventListener("load", () => {
  const root = document.getElementById("swagger-ui");
  SwaggerUIBundle({url: root.dataset.spec, domNode: root, deepLinking: true});
});
