package httpapi

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"regexp"
	"slices"
	"strings"
	"testing"

	"github.com/labstack/echo/v4"
	"github.com/prometheus/client_golang/prometheus"
	"gopkg.in/yaml.v3"
)

// Every /api/v1 route the server registers is in openapi.yaml, and every
// path and method there is registered.
func TestOpenAPIDocumentsEveryRoute(t *testing.T) {
	var doc struct {
		OpenAPI string                    `yaml:"openapi"`
		Paths   map[string]map[string]any `yaml:"paths"`
	}
	if err := yaml.Unmarshal(openAPI, &doc); err != nil {
		t.Fatalf("openapi.yaml: %v", err)
	}
	if !strings.HasPrefix(doc.OpenAPI, "3.") {
		t.Fatalf("openapi: %q, want 3.x", doc.OpenAPI)
	}
	var documented []string
	for path, ops := range doc.Paths {
		for method := range ops {
			if method != "parameters" {
				documented = append(documented, strings.ToUpper(method)+" "+path)
			}
		}
	}
	srv := New(Options{Registry: prometheus.NewRegistry()})
	param := regexp.MustCompile(`:([a-z_]+)`)
	var registered []string
	for _, r := range srv.echo.Routes() {
		if !strings.HasPrefix(r.Path, "/api/v1/") || strings.Contains(r.Path, "*") || r.Method == echo.RouteNotFound {
			continue // echo's group catch-alls are not routes of ours
		}
		registered = append(registered, r.Method+" "+param.ReplaceAllString(r.Path, "{$1}"))
	}
	slices.Sort(documented)
	slices.Sort(registered)
	for _, r := range registered {
		if !slices.Contains(documented, r) {
			t.Errorf("registered but not in openapi.yaml: %s", r)
		}
	}
	for _, d := range documented {
		if !slices.Contains(registered, d) {
			t.Errorf("in openapi.yaml but not registered: %s", d)
		}
	}
	if len(registered) < 15 {
		t.Fatalf("only %d routes found: %v", len(registered), registered)
	}
}

func TestOpenAPIIsServed(t *testing.T) {
	srv := New(Options{Registry: prometheus.NewRegistry()})
	rec := httptest.NewRecorder()
	srv.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/api/v1/openapi.yaml", nil))
	if rec.Code != http.StatusOK || rec.Header().Get("Content-Type") != "application/yaml" || !bytes.Equal(rec.Body.Bytes(), openAPI) {
		t.Fatalf("GET /api/v1/openapi.yaml: %d %s, want 200 application/yaml with openapi.yaml", rec.Code, rec.Header().Get("Content-Type"))
	}
}
