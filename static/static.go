// Package static embeds the console's stylesheet, scripts and vendored
// third-party assets (htmx 2 and its SSE extension) so the binary serves
// every asset itself: no CDN, nothing to install next to it.
//
// Templates link assets through Path, which appends a content hash; Handler
// serves such versioned URLs as immutable for a year, so a new release is
// picked up on the next page load without stale caches.
//
// The accessibility test engine (axe-core) is embedded separately and is
// never served; browser tests inject it from Axe.
package static

import (
	"bytes"
	"crypto/sha256"
	"embed"
	"encoding/hex"
	"fmt"
	"io/fs"
	"mime"
	"net/http"
	"path"
	"sort"
	"strings"
	"sync"
	"time"
)

// Prefix is the URL path under which Handler expects to be mounted.
const Prefix = "/static/"

//go:embed css/*.css js/*.js img/*.svg audio/*.wav vendor/htmx.min.js vendor/sse.min.js
var files embed.FS

// axe is kept out of files so it can never be served to users.
//
//go:embed vendor/axe.min.js
var axe []byte

// asset is one servable file with its precomputed validators.
type asset struct {
	data    []byte
	version string // first 12 hex chars of the SHA-256 of data
	etag    string
	ctype   string
	path    string // its URL with ?v=version (Path, on every page)
}

// index hashes every embedded file once, on first use; the map is never
// written after that.
var index = sync.OnceValue(func() map[string]asset {
	m := make(map[string]asset)
	err := fs.WalkDir(files, ".", func(name string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		data, err := files.ReadFile(name)
		if err != nil {
			return err
		}
		sum := sha256.Sum256(data)
		full := hex.EncodeToString(sum[:])
		m[name] = asset{
			data:    data,
			version: full[:12],
			etag:    `"` + full[:32] + `"`,
			ctype:   contentType(name),
			path:    Prefix + name + "?v=" + full[:12],
		}
		return nil
	})
	if err != nil {
		// Only reachable if the embedded FS is corrupt: a build defect.
		panic(fmt.Sprintf("static: index embedded files: %v", err))
	}
	return m
})

func contentType(name string) string {
	switch path.Ext(name) {
	case ".css":
		return "text/css; charset=utf-8"
	case ".js":
		return "text/javascript; charset=utf-8"
	case ".wav": // not in every system's MIME table
		return "audio/wav"
	}
	if t := mime.TypeByExtension(path.Ext(name)); t != "" {
		return t
	}
	return "application/octet-stream"
}

// Files returns the servable assets, rooted so that names look like
// "css/app.css", "js/app.js" and "vendor/htmx.min.js".
func Files() fs.FS {
	return files
}

// Names lists the servable asset names in lexical order.
func Names() []string {
	m := index()
	names := make([]string, 0, len(m))
	for n := range m {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

// Axe returns a copy of the vendored axe-core script (axe.min.js) for
// browser accessibility tests. It is not reachable through Handler.
func Axe() []byte {
	return bytes.Clone(axe)
}

// Path returns the URL of the named asset with a content-hash query, such
// as "/static/css/app.css?v=1a2b3c4d5e6f", for use in templates. An unknown
// name yields the unversioned URL (which Handler answers with 404), so a
// typo shows up as a broken asset rather than a crashed page.
func Path(name string) string {
	name = strings.TrimPrefix(name, "/")
	if a, ok := index()[name]; ok {
		return a.path
	}
	return Prefix + name
}

// Favicon is the asset browsers get for /favicon.ico, the address they
// ask for on every page load whatever the page links.
const Favicon = "img/favicon.svg"

// Handler serves the embedded assets. It accepts request paths with or
// without Prefix, so it can be mounted directly ("/static/*") or behind
// http.StripPrefix. A request whose ?v= matches the current content hash
// is cacheable for a year as immutable; any other request must revalidate
// with the ETag.
func Handler() http.Handler {
	return http.HandlerFunc(serve)
}

func serve(w http.ResponseWriter, r *http.Request) {
	if r.Method != http.MethodGet && r.Method != http.MethodHead {
		w.Header().Set("Allow", "GET, HEAD")
		http.Error(w, http.StatusText(http.StatusMethodNotAllowed), http.StatusMethodNotAllowed)
		return
	}
	name := strings.TrimPrefix(r.URL.Path, Prefix)
	name = strings.TrimPrefix(name, "/")
	a, ok := index()[name]
	if !ok {
		http.NotFound(w, r)
		return
	}
	h := w.Header()
	h.Set("Content-Type", a.ctype)
	h.Set("X-Content-Type-Options", "nosniff")
	h.Set("ETag", a.etag)
	if v := r.URL.Query().Get("v"); v != "" && v == a.version {
		h.Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		h.Set("Cache-Control", "no-cache")
	}
	http.ServeContent(w, r, name, time.Time{}, bytes.NewReader(a.data))
}
