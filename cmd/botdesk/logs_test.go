package main

import (
	"context"
	"encoding/json"
	"io"
	"net/http"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
)

// With BOTDESK_LOG_FORMAT=json every line is one JSON object, and the
// lines of a request carry the id sent back in X-Request-Id.
func TestServeJSONLogsCarryRequestID(t *testing.T) {
	clearEnv(t)
	t.Setenv("BOTDESK_LOG_FORMAT", "json")
	t.Setenv("BOTDESK_LOG_LEVEL", "debug")
	dir := filepath.Join(t.TempDir(), "data")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &logSink{notify: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", dir, "--shutdown-timeout", "3s"}, nil, io.Discard, logs)
	}()
	base := logs.waitFor(t, regexp.MustCompile(`"msg":"botdesk serving".*"url":"(http://127\.0\.0\.1:\d+)"`), done)[1]
	resp, err := http.Get(base + "/api/v1/channels")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	id := resp.Header.Get("X-Request-Id")
	if id == "" {
		t.Fatal("no X-Request-Id")
	}
	logs.waitFor(t, regexp.MustCompile(`"request_id":"`+id+`"`), done)
	cancel()
	<-done
	found := false
	for _, line := range strings.Split(strings.TrimSpace(logs.String()), "\n") {
		var rec map[string]any
		if err := json.Unmarshal([]byte(line), &rec); err != nil {
			t.Fatalf("log line is not JSON: %q", line)
		}
		if rec["request_id"] == id && rec["msg"] == "http" && rec["path"] == "/api/v1/channels" && rec["status"] == float64(401) {
			found = true
		}
	}
	if !found {
		t.Errorf("no access line with request_id %s:\n%s", id, logs.String())
	}
	if err := run(context.Background(), []string{"serve", "--log-format", "xml", "--data-dir", t.TempDir()}, nil, io.Discard, io.Discard); err == nil ||
		!strings.Contains(err.Error(), "BOTDESK_LOG_FORMAT") {
		t.Errorf("bad log format accepted: %v", err)
	}
}
