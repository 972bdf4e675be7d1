package console

import (
	"bytes"
	"compress/gzip"
	"encoding/json"
	"io"
	"io/fs"
	"maps"
	"net/http"
	"net/http/httptest"
	"path"
	"regexp"
	"slices"
	"strings"
	"testing"
)

// files returns every embedded file by its path under static/.
func files(t *testing.T) map[string][]byte {
	t.Helper()
	out := map[string][]byte{}
	err := fs.WalkDir(static, "static", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := static.ReadFile(p)
		out[strings.TrimPrefix(p, "static/")] = b
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(out) == 0 {
		t.Fatal("no embedded files")
	}
	return out
}

func get(t *testing.T, method, target string, header http.Header) *http.Response {
	t.Helper()
	req := httptest.NewRequest(method, target, nil)
	maps.Copy(req.Header, header)
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, req)
	return rec.Result()
}

func checkSecurityHeaders(t *testing.T, name string, res *http.Response) {
	t.Helper()
	for header, want := range map[string]string{
		"Content-Security-Policy": CSP,
		"X-Content-Type-Options":  "nosniff",
		"Referrer-Policy":         "no-referrer",
	} {
		if got := res.Header.Get(header); got != want {
			t.Errorf("%s: %s = %q, want %q", name, header, got, want)
		}
	}
}

func TestCSPIsStrict(t *testing.T) {
	for _, want := range []string{"default-src 'self'", "script-src 'self'", "style-src 'self'", "connect-src 'self'", "frame-ancestors 'none'"} {
		if !strings.Contains(CSP, want) {
			t.Errorf("CSP lacks %q: %s", want, CSP)
		}
	}
	for _, bad := range []string{"unsafe-inline", "unsafe-eval", "*", "http:", "https:"} {
		if strings.Contains(CSP, bad) {
			t.Errorf("CSP allows %q: %s", bad, CSP)
		}
	}
}

func TestEveryFileIsServedWithTypeAndHeaders(t *testing.T) {
	wantType := map[string]string{
		".html": "text/html; charset=utf-8",
		".js":   "text/javascript; charset=utf-8",
		".css":  "text/css; charset=utf-8",
		".json": "application/json; charset=utf-8",
		".svg":  "image/svg+xml",
	}
	for name, body := range files(t) {
		target := Prefix + name
		plain := get(t, http.MethodGet, target, nil)
		got, _ := io.ReadAll(plain.Body)
		if plain.StatusCode != http.StatusOK {
			t.Errorf("%s: status %d", name, plain.StatusCode)
			continue
		}
		checkSecurityHeaders(t, name, plain)
		if ct := plain.Header.Get("Content-Type"); ct != wantType[path.Ext(name)] {
			t.Errorf("%s: Content-Type %q, want %q", name, ct, wantType[path.Ext(name)])
		}
		if !bytes.Equal(got, body) {
			t.Errorf("%s: body differs from the embedded file", name)
		}
		if plain.Header.Get("Content-Encoding") != "" {
			t.Errorf("%s: encoded without Accept-Encoding", name)
		}
		etag := plain.Header.Get("ETag")
		if etag == "" || plain.Header.Get("Cache-Control") != "no-cache" {
			t.Errorf("%s: ETag %q, Cache-Control %q", name, etag, plain.Header.Get("Cache-Control"))
		}

		zipped := get(t, http.MethodGet, target, http.Header{"Accept-Encoding": {"gzip, deflate, br"}})
		if zipped.Header.Get("Content-Encoding") == "gzip" {
			zr, err := gzip.NewReader(zipped.Body)
			if err != nil {
				t.Fatalf("%s: %v", name, err)
			}
			unzipped, _ := io.ReadAll(zr)
			if !bytes.Equal(unzipped, body) {
				t.Errorf("%s: gzipped body differs from the embedded file", name)
			}
			if zipped.Header.Get("ETag") == etag {
				t.Errorf("%s: the gzipped and plain bodies share the ETag %s", name, etag)
			}
		} else if len(body) > 1024 {
			t.Errorf("%s (%d bytes) not gzipped", name, len(body))
		}
		checkSecurityHeaders(t, name+" (gzip)", zipped)
		if v := zipped.Header.Get("Vary"); v != "Accept-Encoding" {
			t.Errorf("%s: Vary %q", name, v)
		}

		again := get(t, http.MethodGet, target, http.Header{"If-None-Match": {etag}})
		if again.StatusCode != http.StatusNotModified {
			t.Errorf("%s: If-None-Match with its ETag: status %d, want 304", name, again.StatusCode)
		}
	}
}

func TestRoutes(t *testing.T) {
	index, _ := static.ReadFile("static/index.html")
	res := get(t, http.MethodGet, "/console/", nil)
	body, _ := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || !bytes.Equal(body, index) {
		t.Errorf("/console/: status %d, index.html served: %v", res.StatusCode, bytes.Equal(body, index))
	}
	res = get(t, http.MethodHead, "/console/", nil)
	body, _ = io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK || len(body) != 0 || res.Header.Get("Content-Length") == "" {
		t.Errorf("HEAD /console/: status %d, %d body bytes, Content-Length %q", res.StatusCode, len(body), res.Header.Get("Content-Length"))
	}
	res = get(t, http.MethodGet, "/console", nil)
	if res.StatusCode != http.StatusMovedPermanently || res.Header.Get("Location") != "/console/" {
		t.Errorf("/console: status %d, Location %q", res.StatusCode, res.Header.Get("Location"))
	}
	for _, target := range []string{"/console/nope.js", "/console/js/", "/console/../console.go", "/elsewhere"} {
		res = get(t, http.MethodGet, target, nil)
		if res.StatusCode != http.StatusNotFound {
			t.Errorf("%s: status %d, want 404", target, res.StatusCode)
		}
		checkSecurityHeaders(t, target, res)
	}
	res = get(t, http.MethodPost, "/console/", nil)
	if res.StatusCode != http.StatusMethodNotAllowed || res.Header.Get("Allow") != "GET, HEAD" {
		t.Errorf("POST /console/: status %d, Allow %q", res.StatusCode, res.Header.Get("Allow"))
	}
}

// TestGzippedSize keeps what a browser downloads small.
func TestGzippedSize(t *testing.T) {
	const limit = 150 << 10
	total := 0
	all := files(t)
	for _, name := range slices.Sorted(maps.Keys(all)) {
		body := all[name]
		var buf bytes.Buffer
		zw, _ := gzip.NewWriterLevel(&buf, gzip.BestCompression)
		_, _ = zw.Write(body)
		_ = zw.Close()
		total += min(buf.Len(), len(body))
		t.Logf("%-24s %6d bytes, %6d gzipped", name, len(body), buf.Len())
	}
	t.Logf("total gzipped: %d bytes", total)
	if total > limit {
		t.Errorf("the console weighs %d bytes gzipped, over the %d limit", total, limit)
	}
}

// TestNoOtherOriginNoInlineCode checks what the Content Security Policy
// would otherwise break at run time, and that nothing names another
// origin.
func TestNoOtherOriginNoInlineCode(t *testing.T) {
	// The SVG namespace is a name that is never fetched.
	const svgNS = `xmlns="http://www.w3.org/2000/svg"`
	url := regexp.MustCompile(`(?i)https?://|["'(]//[a-z0-9]`)
	inlineScript := regexp.MustCompile(`(?i)<script(\s[^>]*)?>`)
	inlineHandler := regexp.MustCompile(`(?i)\son[a-z]+\s*=`)
	styleAttr := regexp.MustCompile(`(?i)\sstyle\s*=|<style`)
	htmlSinks := regexp.MustCompile(`innerHTML|outerHTML|insertAdjacentHTML|document\.write|\beval\(|new Function|setAttribute\("style"`)
	imports := regexp.MustCompile(`(?m)^\s*import\s.*?from\s+"([^"]+)"`)
	all := files(t)
	for name, body := range all {
		text := string(body)
		if path.Ext(name) == ".svg" {
			text = strings.Replace(text, svgNS, "", 1)
		}
		if m := url.FindString(text); m != "" {
			t.Errorf("%s names another origin: %q", name, m)
		}
		switch path.Ext(name) {
		case ".html":
			for _, m := range inlineScript.FindAllStringSubmatch(text, -1) {
				if !strings.Contains(m[1], "src=") {
					t.Errorf("%s: inline script %q", name, m[0])
				}
			}
			if m := inlineHandler.FindString(text); m != "" {
				t.Errorf("%s: inline event handler %q", name, m)
			}
			if m := styleAttr.FindString(text); m != "" {
				t.Errorf("%s: inline style %q", name, m)
			}
		case ".js":
			if m := htmlSinks.FindString(text); m != "" {
				t.Errorf("%s: %s (markup is built with DOM methods; Trusted Types block HTML strings)", name, m)
			}
			for _, m := range imports.FindAllStringSubmatch(text, -1) {
				if !strings.HasPrefix(m[1], "./") {
					t.Errorf("%s imports %q: only the console's own modules", name, m[1])
				} else if _, ok := all[path.Join(path.Dir(name), m[1])]; !ok {
					t.Errorf("%s imports %q, which does not exist", name, m[1])
				}
			}
		}
	}
	index := string(all["index.html"])
	for _, m := range regexp.MustCompile(`(?:src|href)="(/console/[^"]+)"`).FindAllStringSubmatch(index, -1) {
		if _, ok := all[strings.TrimPrefix(m[1], Prefix)]; !ok {
			t.Errorf("index.html refers to %s, which does not exist", m[1])
		}
	}
}

// TestTexts checks that every text key the markup and the scripts use is
// in every catalogue, that the catalogues have the same keys and the same
// placeholders, and that no text is unused.
func TestTexts(t *testing.T) {
	all := files(t)
	used := map[string]string{} // key -> a file using it
	call := regexp.MustCompile(`\bt\("([^"]+)"`)
	attr := regexp.MustCompile(`data-i18n(?:-label|-placeholder)?="([^"]+)"`)
	for name, body := range all {
		var re *regexp.Regexp
		switch path.Ext(name) {
		case ".js":
			re = call
		case ".html":
			re = attr
		default:
			continue
		}
		for _, m := range re.FindAllStringSubmatch(string(body), -1) {
			used[m[1]] = name
		}
	}
	if len(used) < 50 {
		t.Fatalf("only %d text keys found in the scripts and markup: the patterns no longer match", len(used))
	}
	dynamic := regexp.MustCompile("\\bt\\((?:[^\"]|$)")
	for name, body := range all {
		// i18n.js defines t and resolves the markup's data-i18n keys, seen above.
		if path.Ext(name) == ".js" && name != "js/i18n.js" && dynamic.Match(body) {
			t.Errorf("%s calls t with a computed key (%q): keys must be literals so this test sees them", name, dynamic.Find(body))
		}
	}
	placeholders := regexp.MustCompile(`\{\w+\}`)
	catalogues := map[string]map[string]string{}
	for _, lang := range []string{"en", "es", "pt", "fr"} {
		var cat map[string]string
		if err := json.Unmarshal(all["i18n/"+lang+".json"], &cat); err != nil {
			t.Fatalf("i18n/%s.json: %v", lang, err)
		}
		catalogues[lang] = cat
		for key, file := range used {
			if strings.TrimSpace(cat[key]) == "" {
				t.Errorf("%s uses %q, missing from i18n/%s.json", file, key, lang)
			}
		}
	}
	en := catalogues["en"]
	for key := range en {
		if _, ok := used[key]; !ok {
			t.Errorf("i18n/en.json: %q is used nowhere", key)
		}
	}
	for lang, cat := range catalogues {
		for key, text := range cat {
			if _, ok := en[key]; !ok {
				t.Errorf("i18n/%s.json: %q is not in en.json", lang, key)
				continue
			}
			want := placeholders.FindAllString(en[key], -1)
			got := placeholders.FindAllString(text, -1)
			slices.Sort(want)
			slices.Sort(got)
			if !slices.Equal(got, want) {
				t.Errorf("i18n/%s.json %q has placeholders %v, en.json %v", lang, key, got, want)
			}
		}
	}
}

func TestAcceptsGzip(t *testing.T) {
	for header, want := range map[string]bool{
		"":                     false,
		"gzip":                 true,
		"deflate, gzip;q=0.5":  true,
		"br, GZIP":             true,
		"gzip;q=0":             false,
		"gzip; q=0.000, br":    false,
		"*":                    true,
		"identity":             false,
		"gzipx":                false,
		"deflate, gzip;q=bad":  true,
		"gzip;q=0.001":         true,
		"compress, x-gzip;q=1": false,
	} {
		if got := acceptsGzip(header); got != want {
			t.Errorf("acceptsGzip(%q) = %v, want %v", header, got, want)
		}
	}
}

func TestMatches(t *testing.T) {
	for _, c := range []struct {
		header, etag string
		want         bool
	}{
		{`"a"`, `"a"`, true},
		{`"b", "a"`, `"a"`, true},
		{`W/"a"`, `"a"`, true},
		{`*`, `"a"`, true},
		{`"b"`, `"a"`, false},
		{``, `"a"`, false},
	} {
		if got := matches(c.header, c.etag); got != c.want {
			t.Errorf("matches(%q, %q) = %v, want %v", c.header, c.etag, got, c.want)
		}
	}
}
