package static

import (
	"bytes"
	"io/fs"
	"net/http"
	"net/http/httptest"
	"regexp"
	"strings"
	"testing"
)

func TestFilesContainsAssets(t *testing.T) {
	for _, name := range []string{
		"css/app.css",
		"js/app.js",
		"vendor/htmx.min.js",
		"vendor/sse.min.js",
	} {
		t.Run(name, func(t *testing.T) {
			data, err := fs.ReadFile(Files(), name)
			if err != nil {
				t.Fatalf("read %s: %v", name, err)
			}
			if len(data) == 0 {
				t.Fatalf("%s is empty", name)
			}
		})
	}
}

func TestAxeIsEmbeddedButNotServed(t *testing.T) {
	a := Axe()
	if !bytes.Contains(a[:min(len(a), 200)], []byte("axe v4.")) {
		t.Fatalf("Axe() does not look like axe-core 4.x: %q", a[:min(len(a), 60)])
	}
	a[0] = 'X' // callers get a copy
	if Axe()[0] == 'X' {
		t.Fatal("Axe() exposes the embedded slice")
	}
	if _, err := fs.Stat(Files(), "vendor/axe.min.js"); err == nil {
		t.Fatal("axe.min.js must not be part of Files()")
	}
	rec := httptest.NewRecorder()
	Handler().ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/static/vendor/axe.min.js", nil))
	if rec.Code != http.StatusNotFound {
		t.Fatalf("axe served with status %d, want 404", rec.Code)
	}
}

func TestHTMXVersion(t *testing.T) {
	data, err := fs.ReadFile(Files(), "vendor/htmx.min.js")
	if err != nil {
		t.Fatal(err)
	}
	m := regexp.MustCompile(`version:"([^"]+)"`).FindSubmatch(data)
	if m == nil {
		t.Fatal("no version string in htmx.min.js")
	}
	if v := string(m[1]); !strings.HasPrefix(v, "2.0.") {
		t.Fatalf("htmx version %q, want 2.0.x", v)
	}
	sse, err := fs.ReadFile(Files(), "vendor/sse.min.js")
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Contains(sse, []byte(`defineExtension("sse"`)) {
		t.Fatal("sse.min.js does not define the htmx sse extension")
	}
}

func TestPath(t *testing.T) {
	versioned := regexp.MustCompile(`^/static/css/app\.css\?v=[0-9a-f]{12}$`)
	if p := Path("css/app.css"); !versioned.MatchString(p) {
		t.Fatalf("Path(css/app.css) = %q", p)
	}
	if Path("/css/app.css") != Path("css/app.css") {
		t.Fatal("leading slash changes the path")
	}
	if Path("js/app.js") == Path("css/app.css") {
		t.Fatal("different files share a path")
	}
	if p := Path("css/missing.css"); p != "/static/css/missing.css" {
		t.Fatalf("Path(missing) = %q", p)
	}
}

func TestHandler(t *testing.T) {
	h := Handler()
	tests := []struct {
		name     string
		method   string
		url      string
		code     int
		ctype    string
		cache    string
		wantBody bool
	}{
		{"versioned css", http.MethodGet, Path("css/app.css"), 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable", true},
		{"versioned js", http.MethodGet, Path("js/app.js"), 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", true},
		{"htmx", http.MethodGet, Path("vendor/htmx.min.js"), 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", true},
		{"sse", http.MethodGet, Path("vendor/sse.min.js"), 200, "text/javascript; charset=utf-8", "public, max-age=31536000, immutable", true},
		{"unversioned", http.MethodGet, "/static/css/app.css", 200, "text/css; charset=utf-8", "no-cache", true},
		{"stale version", http.MethodGet, "/static/js/app.js?v=000000000000", 200, "text/javascript; charset=utf-8", "no-cache", true},
		{"prefix stripped", http.MethodGet, "/css/app.css", 200, "text/css; charset=utf-8", "no-cache", true},
		{"head", http.MethodHead, Path("css/app.css"), 200, "text/css; charset=utf-8", "public, max-age=31536000, immutable", false},
		{"missing", http.MethodGet, "/static/css/nope.css", 404, "", "", false},
		{"directory", http.MethodGet, "/static/css/", 404, "", "", false},
		{"traversal", http.MethodGet, "/static/../static.go", 404, "", "", false},
		{"license not served", http.MethodGet, "/static/vendor/LICENSE-htmx.org.txt", 404, "", "", false},
		{"post", http.MethodPost, Path("css/app.css"), 405, "", "", false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rec := httptest.NewRecorder()
			h.ServeHTTP(rec, httptest.NewRequest(tt.method, tt.url, nil))
			if rec.Code != tt.code {
				t.Fatalf("status %d, want %d", rec.Code, tt.code)
			}
			if tt.code != 200 {
				return
			}
			if got := rec.Header().Get("Content-Type"); got != tt.ctype {
				t.Errorf("Content-Type %q, want %q", got, tt.ctype)
			}
			if got := rec.Header().Get("Cache-Control"); got != tt.cache {
				t.Errorf("Cache-Control %q, want %q", got, tt.cache)
			}
			if rec.Header().Get("X-Content-Type-Options") != "nosniff" {
				t.Error("missing nosniff")
			}
			if rec.Header().Get("ETag") == "" {
				t.Error("missing ETag")
			}
			if tt.wantBody != (rec.Body.Len() > 0) {
				t.Errorf("body length %d, want body=%v", rec.Body.Len(), tt.wantBody)
			}
		})
	}
}

func TestHandlerRevalidates(t *testing.T) {
	h := Handler()
	rec := httptest.NewRecorder()
	h.ServeHTTP(rec, httptest.NewRequest(http.MethodGet, "/static/js/app.js", nil))
	etag := rec.Header().Get("ETag")

	req := httptest.NewRequest(http.MethodGet, "/static/js/app.js", nil)
	req.Header.Set("If-None-Match", etag)
	rec = httptest.NewRecorder()
	h.ServeHTTP(rec, req)
	if rec.Code != http.StatusNotModified {
		t.Fatalf("conditional GET: status %d, want 304", rec.Code)
	}
}

func TestNames(t *testing.T) {
	names := Names()
	want := map[string]bool{"css/app.css": true, "js/app.js": true, "vendor/htmx.min.js": true, "vendor/sse.min.js": true}
	for _, n := range names {
		delete(want, n)
		if strings.Contains(n, "axe") {
			t.Errorf("Names() lists %q", n)
		}
	}
	if len(want) != 0 {
		t.Fatalf("Names() misses %v (got %v)", want, names)
	}
}
