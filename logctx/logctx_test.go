package logctx

import (
	"bytes"
	"context"
	"encoding/json"
	"log/slog"
	"strings"
	"testing"
)

func TestRequestIDOnEveryRecordOfTheContext(t *testing.T) {
	var buf bytes.Buffer
	log := slog.New(NewHandler(NewHandler(slog.NewJSONHandler(&buf, nil)))).With("component", "x")
	ctx := WithRequestID(context.Background(), "req-1")
	log.InfoContext(ctx, "one")
	log.WithGroup("g").WarnContext(ctx, "two", "k", "v")
	log.Info("three")
	lines := strings.Split(strings.TrimSpace(buf.String()), "\n")
	if len(lines) != 3 {
		t.Fatalf("lines = %q", lines)
	}
	for i, want := range []string{"req-1", "req-1", ""} {
		var rec map[string]any
		if err := json.Unmarshal([]byte(lines[i]), &rec); err != nil {
			t.Fatal(err)
		}
		got, _ := rec["request_id"].(string)
		if g, ok := rec["g"].(map[string]any); ok && got == "" {
			got, _ = g["request_id"].(string)
		}
		if got != want || rec["component"] != "x" {
			t.Errorf("line %d = %s, want request_id %q", i, lines[i], want)
		}
		if strings.Count(lines[i], "request_id") > 1 {
			t.Errorf("line %d has request_id twice: %s", i, lines[i])
		}
	}
}
