package testkit

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
)

// gatewayDocument reads the gateway's OpenAPI document, wherever in the
// gateway tree it lives.
func gatewayDocument(t *testing.T) []byte {
	t.Helper()
	for _, path := range []string{"../../gateway/httpapi/openapi.yaml", "../../gateway/openapi.yaml"} {
		data, err := os.ReadFile(path)
		if err == nil {
			return data
		}
		if !errors.Is(err, fs.ErrNotExist) {
			t.Fatal(err)
		}
	}
	t.Fatal("the gateway's openapi.yaml is in neither gateway/httpapi nor gateway")
	return nil
}

// The gateway's document loads and validates, and it says what every
// operation can answer: every operation needing a token lists 401, and
// every error response has the error schema.
func TestGatewayOpenAPIDocument(t *testing.T) {
	c := OpenAPI(t, gatewayDocument(t))
	errorSchema := c.doc.Components.Schemas["Error"]
	if errorSchema == nil {
		t.Fatal("components.schemas.Error is missing")
	}
	ops := 0
	for path, item := range c.doc.Paths.Map() {
		for method, op := range item.Operations() {
			ops++
			name := method + " " + path
			if op.OperationID == "" {
				t.Errorf("%s: no operationId", name)
			}
			security := c.doc.Security
			if op.Security != nil {
				security = *op.Security
			}
			if len(security) > 0 && op.Responses.Status(http.StatusUnauthorized) == nil {
				t.Errorf("%s needs a token but does not list 401", name)
			}
			for code, ref := range op.Responses.Map() {
				if code < "400" {
					continue
				}
				mt := ref.Value.Content.Get("application/json")
				if mt == nil || mt.Schema == nil || mt.Schema.Value != errorSchema.Value {
					t.Errorf("%s: response %s is not the Error schema", name, code)
				}
			}
		}
	}
	if ops < 15 {
		t.Fatalf("only %d operations in the document", ops)
	}
}

// testSpec is a small document for the checker's own tests.
const testSpec = `
openapi: 3.0.3
info: {title: test, version: "1"}
paths:
  /things/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: string}}
    put:
      security: [{bearer: []}]
      requestBody:
        required: true
        content:
          application/json:
            schema: {type: object, required: [name], properties: {name: {type: string}}}
      responses:
        "200":
          description: the thing
          content:
            application/json:
              schema:
                type: object
                additionalProperties: false
                required: [id, name]
                properties:
                  id: {type: string}
                  name: {type: string}
        "400":
          description: bad
          content: {application/json: {schema: {type: object, required: [error]}}}
        "401":
          description: no token
          content: {application/json: {schema: {type: object, required: [error]}}}
  /stream:
    get:
      responses:
        "200":
          description: events
          content: {text/event-stream: {}}
components:
  securitySchemes:
    bearer: {type: http, scheme: bearer}
`

func TestOpenAPICheck(t *testing.T) {
	c := OpenAPI(t, []byte(testSpec))
	put := func(path, token, body string) *http.Request {
		req := httptest.NewRequest(http.MethodPut, "http://127.0.0.1:8080"+path, strings.NewReader(body))
		req.Header.Set("Content-Type", "application/json")
		if token != "" {
			req.Header.Set("Authorization", "Bearer "+token)
		}
		return req
	}
	answer := func(status int) *http.Response {
		return &http.Response{StatusCode: status, Header: http.Header{"Content-Type": {"application/json"}}}
	}
	cases := []struct {
		name    string
		req     *http.Request
		reqBody string
		status  int
		resp    string
		want    string // in the error; "" for none
	}{
		{"valid", put("/things/1", "t", ""), `{"name":"a"}`, 200, `{"id":"1","name":"a"}`, ""},
		{"unknown route", put("/other", "t", ""), `{"name":"a"}`, 200, `{}`, "not in the OpenAPI document"},
		{"unknown method", httptest.NewRequest(http.MethodGet, "http://127.0.0.1:8080/things/1", nil), "", 200, `{}`, "not in the OpenAPI document"},
		{"undocumented field", put("/things/1", "t", ""), `{"name":"a"}`, 200, `{"id":"1","name":"a","extra":1}`, "response does not match"},
		{"missing field", put("/things/1", "t", ""), `{"name":"a"}`, 200, `{"id":"1"}`, "response does not match"},
		{"undocumented status", put("/things/1", "t", ""), `{"name":"a"}`, 409, `{"error":{}}`, "status is not supported"},
		{"invalid request accepted", put("/things/1", "t", ""), `{"nom":"a"}`, 200, `{"id":"1","name":"a"}`, "accepted a request the OpenAPI document rejects"},
		{"no token accepted", put("/things/1", "", ""), `{"name":"a"}`, 200, `{"id":"1","name":"a"}`, "accepted a request the OpenAPI document rejects"},
		{"invalid request refused", put("/things/1", "t", ""), `{"nom":"a"}`, 400, `{"error":{}}`, ""},
		{"no token refused", put("/things/1", "", ""), `{"name":"a"}`, 401, `{"error":{}}`, ""},
		{"refusal not as documented", put("/things/1", "", ""), `{"name":"a"}`, 401, `{}`, "response does not match"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := c.check(tc.req, []byte(tc.reqBody), answer(tc.status), []byte(tc.resp))
			switch {
			case tc.want == "" && err != nil:
				t.Fatalf("want no error, got %v", err)
			case tc.want != "" && (err == nil || !strings.Contains(err.Error(), tc.want)):
				t.Fatalf("want an error containing %q, got %v", tc.want, err)
			}
		})
	}
}

// recorder is a testing.TB that keeps the errors reported to it.
type recorder struct {
	testing.TB
	mu   sync.Mutex
	errs []string
}

func (r *recorder) Helper() {}

func (r *recorder) Errorf(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.errs = append(r.errs, fmt.Sprintf(format, args...))
}

func (r *recorder) errors() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.errs
}

// The transport checks what passes through it and hands both bodies on
// unchanged; an event stream is passed on unread.
func TestOpenAPITransport(t *testing.T) {
	var gotBody string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.URL.Path == "/stream" {
			w.Header().Set("Content-Type", "text/event-stream")
			w.WriteHeader(http.StatusOK)
			fmt.Fprint(w, ": connected\n\n")
			w.(http.Flusher).Flush()
			<-r.Context().Done() // an endless stream: the client must not read to its end
			return
		}
		b, _ := io.ReadAll(r.Body)
		gotBody = string(b)
		w.Header().Set("Content-Type", "application/json")
		if strings.HasSuffix(r.URL.Path, "/bad") {
			fmt.Fprint(w, `{"id":"bad","name":"a","extra":true}`)
			return
		}
		fmt.Fprint(w, `{"id":"1","name":"a"}`)
	}))
	defer srv.Close()
	rec := &recorder{TB: t}
	client := &http.Client{Transport: OpenAPI(t, []byte(testSpec)).Transport(rec, nil)}

	do := func(method, path, body string) (*http.Response, string) {
		t.Helper()
		req, err := http.NewRequest(method, srv.URL+path, strings.NewReader(body))
		if err != nil {
			t.Fatal(err)
		}
		req.Header.Set("Authorization", "Bearer t")
		req.Header.Set("Content-Type", "application/json")
		resp, err := client.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		if resp.Header.Get("Content-Type") == "text/event-stream" {
			return resp, ""
		}
		defer resp.Body.Close()
		data, err := io.ReadAll(resp.Body)
		if err != nil {
			t.Fatal(err)
		}
		return resp, string(data)
	}

	if _, body := do(http.MethodPut, "/things/1", `{"name":"a"}`); body != `{"id":"1","name":"a"}` || gotBody != `{"name":"a"}` {
		t.Fatalf("bodies changed on the way: server got %q, client got %q", gotBody, body)
	}
	if errs := rec.errors(); len(errs) != 0 {
		t.Fatalf("a valid exchange reported: %v", errs)
	}

	resp, _ := do(http.MethodGet, "/stream", "")
	line := make([]byte, len(": connected\n"))
	if _, err := io.ReadFull(resp.Body, line); err != nil || string(line) != ": connected\n" {
		t.Fatalf("stream: %q, %v", line, err)
	}
	resp.Body.Close()
	if errs := rec.errors(); len(errs) != 0 {
		t.Fatalf("a valid stream reported: %v", errs)
	}

	do(http.MethodPut, "/things/bad", `{"name":"a"}`)
	if errs := rec.errors(); len(errs) != 1 || !strings.Contains(errs[0], `property "extra" is unsupported`) {
		t.Fatalf("an undocumented field: reported %v, want one error naming it", errs)
	}
}
