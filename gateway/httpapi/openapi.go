package httpapi

import (
	_ "embed"
	"net/http"

	"github.com/labstack/echo/v4"
)

// openAPI documents the agent and admin API; a test keeps it and the
// registered routes in step.
//
//go:embed openapi.yaml
var openAPI []byte

func serveOpenAPI(c echo.Context) error {
	return c.Blob(http.StatusOK, "application/yaml", openAPI)
}

// OpenAPIDocument returns openapi.yaml, for tests that check the API's
// exchanges against it.
func OpenAPIDocument() []byte { return append([]byte(nil), openAPI...) }
