package handlers

// The OpenAPI checker every API test goes through: env.api validates each
// /api/v1 response against handlers/openapi.json (status, headers, body
// schema), so a handler whose output drifts from the description fails the
// test that called it. openapi_test.go adds the route-table check and one
// request to every described operation.

import (
	"context"
	"net/http"
	"strings"
	"sync"
	"testing"

	"github.com/getkin/kin-openapi/openapi3"
	"github.com/getkin/kin-openapi/openapi3filter"
	"github.com/getkin/kin-openapi/routers"
)

var openAPIOnce struct {
	sync.Once
	doc *openapi3.T
	err error
}

// openAPIDoc loads and validates the embedded description once per test binary.
func openAPIDoc(t testing.TB) *openapi3.T {
	t.Helper()
	openAPIOnce.Do(func() {
		l := openapi3.NewLoader()
		doc, err := l.LoadFromData(OpenAPISpec())
		if err == nil {
			err = doc.Validate(l.Context)
		}
		openAPIOnce.doc, openAPIOnce.err = doc, err
	})
	if openAPIOnce.err != nil {
		t.Fatalf("handlers/openapi.json: %v", openAPIOnce.err)
	}
	return openAPIOnce.doc
}

// apiPrefix is the server URL of every described path.
const apiPrefix = "/api/v1"

// specOperation finds the described operation for a request path under
// /api/v1: its template ("/channels/{id}"), the operation and the path
// parameters. Literal segments beat parameters, so "/x/search" wins over
// "/x/{id}". ok is false for an undescribed path or method.
func specOperation(doc *openapi3.T, method, urlPath string) (tmpl string, op *openapi3.Operation, params map[string]string, ok bool) {
	rest, found := strings.CutPrefix(urlPath, apiPrefix)
	if !found {
		return "", nil, nil, false
	}
	segs := strings.Split(strings.Trim(rest, "/"), "/")
	best := -1
	for key, item := range doc.Paths.Map() {
		o := item.GetOperation(method)
		if o == nil {
			continue
		}
		tsegs := strings.Split(strings.Trim(key, "/"), "/")
		if len(tsegs) != len(segs) {
			continue
		}
		p, literal, match := map[string]string{}, 0, true
		for i, ts := range tsegs {
			switch {
			case strings.HasPrefix(ts, "{") && strings.HasSuffix(ts, "}"):
				if segs[i] == "" {
					match = false
				}
				p[ts[1:len(ts)-1]] = segs[i]
			case ts == segs[i]:
				literal++
			default:
				match = false
			}
		}
		if match && literal > best {
			best, tmpl, op, params = literal, key, o, p
		}
	}
	return tmpl, op, params, best >= 0
}

// shapeOf reduces a path template to its shape, so "/channels/:id" (Echo)
// and "/channels/{id}" (OpenAPI) compare equal whatever the names.
func shapeOf(path string) string {
	segs := strings.Split(path, "/")
	for i, s := range segs {
		if strings.HasPrefix(s, ":") || (strings.HasPrefix(s, "{") && strings.HasSuffix(s, "}")) {
			segs[i] = "{}"
		}
	}
	return strings.Join(segs, "/")
}

// openAPIHits records which described operations answered 2xx in a valid
// shape, keyed "METHOD /template".
type openAPIHits struct {
	mu   sync.Mutex
	seen map[string]bool
}

func (h *openAPIHits) add(key string) {
	h.mu.Lock()
	defer h.mu.Unlock()
	if h.seen == nil {
		h.seen = map[string]bool{}
	}
	h.seen[key] = true
}

func (h *openAPIHits) has(key string) bool {
	h.mu.Lock()
	defer h.mu.Unlock()
	return h.seen[key]
}

// checkOpenAPI validates one API response against the description. Paths
// the description lacks are left to TestOpenAPIDescribesEveryRoute, which
// names them.
func (env *testEnv) checkOpenAPI(t testing.TB, req *http.Request, r *testResponse) {
	t.Helper()
	doc := openAPIDoc(t)
	tmpl, op, params, ok := specOperation(doc, req.Method, req.URL.Path)
	if !ok {
		return
	}
	item := doc.Paths.Value(tmpl)
	route := &routers.Route{Spec: doc, Path: tmpl, PathItem: item, Method: req.Method, Operation: op}
	opts := &openapi3filter.Options{IncludeResponseStatus: true, MultiError: true}
	in := &openapi3filter.ResponseValidationInput{
		RequestValidationInput: &openapi3filter.RequestValidationInput{Request: req, PathParams: params, Route: route, Options: opts},
		Status:                 r.Status, Header: r.Header, Options: opts}
	in.SetBodyBytes([]byte(r.Body))
	if err := openapi3filter.ValidateResponse(context.Background(), in); err != nil {
		t.Errorf("%s %s: response %d does not match handlers/openapi.json (%s %s): %v\nbody: %s",
			req.Method, req.URL.Path, r.Status, req.Method, tmpl, err, truncateForLog(r.Body, 1000))
		return
	}
	if r.Status >= 200 && r.Status < 300 {
		env.openapi.add(req.Method + " " + tmpl)
	}
}
