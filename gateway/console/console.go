// Package console is the agents' web console: static files (HTML, CSS,
// plain JavaScript modules and one text catalogue per language) embedded
// in the binary and served under /console/. There is no build step: the
// files in static/ are what the browser runs. The console talks only to
// the agent API of the same origin, so the server can send a strict
// Content Security Policy.
//
// It imports nothing of this module; the HTTP server mounts Handler.
package console

import (
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"net/http"
	"path"
	"strconv"
	"strings"
	"sync"
)

//go:embed static
var static embed.FS

// Prefix is the URL path the console is served under.
const Prefix = "/console/"

// CSP is the Content Security Policy of every answer: only the console's
// own files run and only the same origin is contacted; media may come
// from blob: URLs (a preview of a file being uploaded). Trusted Types are
// required so that no HTML string can become markup: the scripts build
// the page with DOM methods only.
const CSP = "default-src 'self'; img-src 'self' data: blob:; media-src 'self' blob:; style-src 'self'; " +
	"script-src 'self'; connect-src 'self'; object-src 'none'; frame-ancestors 'none'; base-uri 'none'; " +
	"form-action 'self'; require-trusted-types-for 'script'; trusted-types 'none'"

// contentTypes maps the extensions shipped in static/ to their types; a
// file of another extension is refused when the assets are loaded, so a
// new kind of file cannot go out with a sniffed type.
var contentTypes = map[string]string{
	".html": "text/html; charset=utf-8",
	".js":   "text/javascript; charset=utf-8",
	".css":  "text/css; charset=utf-8",
	".json": "application/json; charset=utf-8",
	".svg":  "image/svg+xml",
}

// asset is one file, ready to serve.
type asset struct {
	body        []byte
	gzipped     []byte // nil when compression does not make it smaller
	contentType string
	etag        string // of the identity body; the gzipped one adds a suffix
}

var (
	loadOnce sync.Once
	assets   map[string]*asset // by path under static/, e.g. "js/main.js"
	loadErr  error
)

// load reads, hashes and compresses every embedded file once.
func load() (map[string]*asset, error) {
	loadOnce.Do(func() {
		assets = map[string]*asset{}
		loadErr = fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			ct, ok := contentTypes[path.Ext(p)]
			if !ok {
				return fmt.Errorf("console: %s has no known content type", p)
			}
			body, err := static.ReadFile(p)
			if err != nil {
				return err
			}
			sum := sha256.Sum256(body)
			a := &asset{body: body, contentType: ct, etag: `"` + hex.EncodeToString(sum[:12]) + `"`}
			var buf bytes.Buffer
			zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
			_, _ = zw.Write(body)
			_ = zw.Close()
			if buf.Len() < len(body) {
				a.gzipped = buf.Bytes()
			}
			assets[strings.TrimPrefix(p, "static/")] = a
			return nil
		})
	})
	return assets, loadErr
}

// Handler serves the console: GET or HEAD of /console/ (index.html) and of
// the files under it, with the security headers above, an ETag (revalidated
// on every load, so a new binary's files are picked up at once) and gzip
// when the client accepts it. /console redirects to /console/.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	h := w.Header()
	h.Set("Content-Security-Policy", CSP)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("Referrer-Policy", "no-referrer")
	h.Set("X-Frame-Options", "DENY")
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		h.Set("Allow", "GET, HEAD")
		http.Error(w, "method not allowed: the console's files are read with GET", http.StatusMethodNotAllowed)
		return
	}
	if r.URL.Path == strings.TrimSuffix(Prefix, "/") {
		http.Redirect(w, r, Prefix, http.StatusMovedPermanently)
		return
	}
	name, ok := strings.CutPrefix(r.URL.Path, Prefix)
	if !ok {
		http.NotFound(w, r)
		return
	}
	if name == "" {
		name = "index.html"
	}
	all, err := load()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	a, ok := all[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	body, etag := a.body, a.etag
	h.Add("Vary", "Accept-Encoding")
	if a.gzipped != nil && acceptsGzip(r.Header.Get("Accept-Encoding")) {
		body, etag = a.gzipped, strings.TrimSuffix(a.etag, `"`)+`-gz"`
		h.Set("Content-Encoding", "gzip")
	}
	h.Set("Content-Type", a.contentType)
	h.Set("Cache-Control", "no-cache")
	h.Set("ETag", etag)
	if matches(r.Header.Get("If-None-Match"), etag) {
		w.WriteHeader(http.StatusNotModified)
		return
	}
	h.Set("Content-Length", fmt.Sprint(len(body)))
	w.WriteHeader(http.StatusOK)
	if r.Method == http.MethodGet {
		_, _ = w.Write(body)
	}
}

// acceptsGzip reads an Accept-Encoding header: gzip (or *) listed without q=0.
func acceptsGzip(header string) bool {
	for _, part := range strings.Split(header, ",") {
		coding, params, _ := strings.Cut(strings.TrimSpace(part), ";")
		coding = strings.ToLower(strings.TrimSpace(coding))
		if coding != "gzip" && coding != "*" {
			continue
		}
		if q, ok := strings.CutPrefix(strings.TrimSpace(params), "q="); ok {
			if v, err := strconv.ParseFloat(q, 64); err == nil && v == 0 {
				return false
			}
		}
		return true
	}
	return false
}

// matches reports whether an If-None-Match header names etag (or is "*").
func matches(header, etag string) bool {
	for _, tag := range strings.Split(header, ",") {
		tag = strings.TrimPrefix(strings.TrimSpace(tag), "W/")
		if tag == etag || tag == "*" {
			return true
		}
	}
	return false
}
