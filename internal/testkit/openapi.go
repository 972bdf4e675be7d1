package testkit

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"mime"
	"net/http"
	"strings"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
	"github.com/getkin/kin-openapi/routers/gorillamux"
)

// OpenAPIChecker holds an OpenAPI 3 document and checks HTTP exchanges
// against it, so that a test fails when the server and its document drift
// apart. It is safe for concurrent use.
type OpenAPIChecker struct {
	doc    *openapi3.T
	router routers.Router
}

// ParseOpenAPI loads and validates an OpenAPI 3 document.
func ParseOpenAPI(spec []byte) (*OpenAPIChecker, error) {
	loader := openapi3.NewLoader()
	doc, err := loader.LoadFromData(spec)
	if err != nil {
		return nil, fmt.Errorf("openapi: load: %w", err)
	}
	if err := doc.Validate(loader.Context); err != nil {
		return nil, fmt.Errorf("openapi: invalid document: %w", err)
	}
	router, err := gorillamux.NewRouter(doc)
	if err != nil {
		return nil, fmt.Errorf("openapi: routes: %w", err)
	}
	return &OpenAPIChecker{doc: doc, router: router}, nil
}

// OpenAPI is ParseOpenAPI that fails the test on an error.
func OpenAPI(t testing.TB, spec []byte) *OpenAPIChecker {
	t.Helper()
	c, err := ParseOpenAPI(spec)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// Check fails the test unless the exchange is one the document describes:
// the route (path and method) is in it, the response's status is listed
// for the operation and its headers and body match that response. The
// request must match too, except when the server refused it (status 400 or
// more): a test may send a bad request on purpose, but a request the
// document rejects and the server accepts is drift. reqBody and respBody
// are the bodies already read (nil for none); req's and resp's own bodies
// are not read.
func (c *OpenAPIChecker) Check(t testing.TB, req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) {
	t.Helper()
	if err := c.check(req, reqBody, resp, respBody); err != nil {
		t.Errorf("%s %s: %d: %v", req.Method, req.URL.RequestURI(), resp.StatusCode, err)
	}
}

func (c *OpenAPIChecker) check(req *http.Request, reqBody []byte, resp *http.Response, respBody []byte) error {
	route, params, err := c.router.FindRoute(req)
	if err != nil {
		return fmt.Errorf("not in the OpenAPI document: %w", err)
	}
	r := req.Clone(context.Background())
	r.Body = io.NopCloser(bytes.NewReader(reqBody))
	r.ContentLength = int64(len(reqBody))
	in := &openapi3filter.RequestValidationInput{
		Request:    r,
		PathParams: params,
		Route:      route,
		Options: &openapi3filter.Options{
			MultiError:         true,
			AuthenticationFunc: bearerPresent,
		},
	}
	reqErr := openapi3filter.ValidateRequest(context.Background(), in)
	if reqErr != nil && resp.StatusCode < 400 {
		return fmt.Errorf("the server accepted a request the OpenAPI document rejects: %w", reqErr)
	}
	out := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: in,
		Status:                 resp.StatusCode,
		Header:                 resp.Header,
		Body:                   io.NopCloser(bytes.NewReader(respBody)),
		Options: &openapi3filter.Options{
			MultiError:            true,
			IncludeResponseStatus: true,
		},
	}
	if err := openapi3filter.ValidateResponse(context.Background(), out); err != nil {
		return fmt.Errorf("response does not match the OpenAPI document: %w (body %.300q)", err, respBody)
	}
	return nil
}

// bearerPresent passes a request that carries a bearer token, or the
// cookie of an apiKey-in-cookie scheme: whether it is right is the
// server's business, the document only says one is needed.
func bearerPresent(_ context.Context, in *openapi3filter.AuthenticationInput) error {
	scheme := in.SecurityScheme
	if scheme != nil && scheme.Type == "apiKey" && scheme.In == "cookie" {
		if c, err := in.RequestValidationInput.Request.Cookie(scheme.Name); err != nil || c.Value == "" {
			return fmt.Errorf("no %s cookie", scheme.Name)
		}
		return nil
	}
	if scheme == nil || scheme.Type != "http" || !strings.EqualFold(scheme.Scheme, "bearer") {
		return fmt.Errorf("security scheme %q: only http bearer is checked", in.SecuritySchemeName)
	}
	// The scheme is case-insensitive (RFC 9110).
	auth := strings.TrimSpace(in.RequestValidationInput.Request.Header.Get("Authorization"))
	if scheme, token, ok := strings.Cut(auth, " "); !ok || !strings.EqualFold(scheme, "Bearer") || strings.TrimSpace(token) == "" {
		return errors.New("no bearer token")
	}
	return nil
}

// Transport wraps base (http.DefaultTransport when nil) so that every
// exchange through it is checked, failing t on a mismatch. Bodies are read
// in full and handed on unchanged, except event streams
// (text/event-stream), whose body is passed through unread and not checked.
func (c *OpenAPIChecker) Transport(t testing.TB, base http.RoundTripper) http.RoundTripper {
	if base == nil {
		base = http.DefaultTransport
	}
	return &checkingTransport{t: t, c: c, base: base}
}

type checkingTransport struct {
	t    testing.TB
	c    *OpenAPIChecker
	base http.RoundTripper
}

func (ct *checkingTransport) RoundTrip(req *http.Request) (*http.Response, error) {
	var reqBody []byte
	if req.Body != nil && req.Body != http.NoBody {
		var err error
		reqBody, err = io.ReadAll(req.Body)
		req.Body.Close()
		if err != nil {
			return nil, err
		}
		// A RoundTripper must not change the caller's request: send a copy.
		req = req.Clone(req.Context())
		req.Body = io.NopCloser(bytes.NewReader(reqBody))
	}
	resp, err := ct.base.RoundTrip(req)
	if err != nil {
		return nil, err
	}
	if mt, _, _ := mime.ParseMediaType(resp.Header.Get("Content-Type")); mt == "text/event-stream" {
		ct.c.Check(ct.t, req, reqBody, resp, nil)
		return resp, nil
	}
	respBody, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if err != nil {
		return nil, err
	}
	resp.Body = io.NopCloser(bytes.NewReader(respBody))
	ct.c.Check(ct.t, req, reqBody, resp, respBody)
	return resp, nil
}
