package handlers

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPISpec is the OpenAPI 3.1 description of /api/v1. It is a file, not
// generated, so a reviewer reads the contract as clients do;
// handlers/openapi_test.go keeps it honest against the route table and real
// responses.
//
//go:embed openapi.json
var openAPISpec []byte

// OpenAPISpec returns the embedded description (for tools and tests).
func OpenAPISpec() []byte { return openAPISpec }

// apiOpenAPI serves the description without authentication: it holds no
// data, and clients generate code from it before they have a key.
func (s *Server) apiOpenAPI(c echo.Context) error {
	c.Response().Header().Set("Cache-Control", "public, max-age=300")
	return c.Blob(http.StatusOK, echo.MIMEApplicationJSON, openAPISpec)
}
