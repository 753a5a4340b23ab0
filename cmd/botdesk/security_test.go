package main

import (
	"bufio"
	"context"
	"fmt"
	"io"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

func TestSecurityConfig(t *testing.T) {
	clearEnv(t)
	for _, tc := range []struct {
		name, env, value, wantErr string
	}{
		{"public url with a path", "BOTDESK_PUBLIC_URL", "https://desk.example.test/botdesk", "BOTDESK_PUBLIC_URL"},
		{"public url not absolute", "BOTDESK_PUBLIC_URL", "desk.example.test", "BOTDESK_PUBLIC_URL"},
		{"bad proxy", "BOTDESK_TRUSTED_PROXIES", "10.0.0.0/8, nonsense", "BOTDESK_TRUSTED_PROXIES"},
		{"bad max age", "BOTDESK_SESSION_MAX_AGE", "forever", "BOTDESK_SESSION_MAX_AGE"},
		{"bad api rate", "BOTDESK_API_RATE", "-1", "BOTDESK_API_RATE"},
		{"bad burst", "BOTDESK_API_BURST", "0", "BOTDESK_API_BURST"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Setenv(tc.env, tc.value)
			err := run(context.Background(), []string{"serve", "--data-dir", t.TempDir()}, nil, io.Discard, io.Discard)
			if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
				t.Errorf("serve with %s=%q: %v, want an error naming %s", tc.env, tc.value, err, tc.wantErr)
			}
		})
	}
	nets, err := parseCIDRs("10.0.0.0/8, 192.0.2.7 ,2001:db8::/32")
	if err != nil || len(nets) != 3 || nets[1].String() != "192.0.2.7/32" {
		t.Errorf("parseCIDRs = %v, %v", nets, err)
	}
	if u, err := parsePublicURL("https://desk.example.test/"); err != nil || u != "https://desk.example.test" {
		t.Errorf("parsePublicURL = %q, %v", u, err)
	}
}

// TestSetupLinkUsesPublicURL: the link printed at first start is the one
// users open, not the listen address behind the proxy.
func TestSetupLinkUsesPublicURL(t *testing.T) {
	clearEnv(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	logs := &logSink{notify: make(chan struct{}, 1)}
	done := make(chan error, 1)
	go func() {
		done <- run(ctx, []string{"serve", "--addr", "127.0.0.1:0", "--data-dir", t.TempDir(), "--public-url", "https://desk.example.test",
			"--telegram-api", "http://127.0.0.1:1"}, nil, io.Discard, logs)
	}()
	m := logs.waitFor(t, regexp.MustCompile(`setup_url="?([^"\s]+)`), done)
	if !strings.HasPrefix(m[1], "https://desk.example.test/setup?token=") {
		t.Errorf("setup link %q, want it on the public URL", m[1])
	}
	cancel()
	<-done
}

// TestHelperServe is not a test: TestParallelLoginsBoundedMemory runs the
// test binary again with BOTDESK_HELPER_SERVE=1 to get a real server
// process whose memory it can read from /proc.
func TestHelperServe(t *testing.T) {
	if os.Getenv("BOTDESK_HELPER_SERVE") != "1" {
		return
	}
	args := strings.Fields(os.Getenv("BOTDESK_HELPER_ARGS"))
	if err := run(context.Background(), args, os.Stdin, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	os.Exit(0)
}

// TestParallelLoginsBoundedMemory: 64 parallel sign-ins (argon2id, 64 MiB
// each) against a real server process keep its peak RSS under 400 MB,
// because hashing is bounded and the rest are refused at once with 429.
func TestParallelLoginsBoundedMemory(t *testing.T) {
	if _, err := os.Stat("/proc/self/status"); err != nil {
		t.Skip("needs /proc to read the server's memory")
	}
	clearEnv(t)
	dir := filepath.Join(t.TempDir(), "data")
	if err := run(context.Background(), []string{"user", "add", "--email", "root@example.test", "--role", "admin", "--data-dir", dir},
		strings.NewReader("a long enough password\n"), io.Discard, io.Discard); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(os.Args[0], "-test.run=^TestHelperServe$")
	cmd.Env = append(os.Environ(), "BOTDESK_HELPER_SERVE=1",
		"BOTDESK_HELPER_ARGS=serve --addr 127.0.0.1:0 --data-dir "+dir+" --telegram-api http://127.0.0.1:1")
	stderr, err := cmd.StderrPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { _ = cmd.Process.Kill(); _ = cmd.Wait() }()
	urlc := make(chan string, 1)
	go func() {
		sc := bufio.NewScanner(stderr)
		re := regexp.MustCompile(`"botdesk serving" url=(http://127\.0\.0\.1:\d+)`)
		for sc.Scan() {
			if m := re.FindStringSubmatch(sc.Text()); m != nil {
				urlc <- m[1]
			}
		}
	}()
	var base string
	select {
	case base = <-urlc:
	case <-time.After(60 * time.Second): // hang guard
		t.Fatal("server did not start")
	}

	statuses := map[int]int{}
	var mu sync.Mutex
	var wg sync.WaitGroup
	start := make(chan struct{})
	for i := range 64 {
		jar, _ := cookiejar.New(nil)
		hc := &http.Client{Jar: jar, CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse }}
		tok := csrfFrom(t, hc, base+"/login")
		wg.Add(1)
		go func() {
			defer wg.Done()
			<-start
			form := url.Values{"csrf_token": {tok}, "email": {"nobody" + strconv.Itoa(i) + "@example.test"}, "password": {"wrong password " + strconv.Itoa(i)}}
			resp, err := hc.PostForm(base+"/login", form)
			if err != nil {
				t.Error(err)
				return
			}
			_, _ = io.Copy(io.Discard, resp.Body)
			resp.Body.Close()
			mu.Lock()
			statuses[resp.StatusCode]++
			mu.Unlock()
		}()
	}
	close(start)
	wg.Wait()
	hwm := peakRSS(t, cmd.Process.Pid)
	t.Logf("64 parallel sign-ins: statuses %v, server peak RSS %.0f MB", statuses, float64(hwm)/(1<<20))
	if statuses[http.StatusUnauthorized]+statuses[http.StatusTooManyRequests] != 64 {
		t.Errorf("statuses %v, want only 401 and 429", statuses)
	}
	if statuses[http.StatusTooManyRequests] == 0 {
		t.Errorf("no sign-in was refused with 429: hashing is not bounded (%v)", statuses)
	}
	// The bound is the 400 MB for a normal build (158 MB measured);
	// under -race the detector's shadow memory roughly doubles RSS, so the
	// race run checks the same bound scaled by its overhead.
	limit := uint64(400 << 20)
	if raceEnabled {
		limit *= 2
	}
	if uint64(hwm) >= limit {
		t.Errorf("peak RSS %d MB, want under %d MB", hwm>>20, limit>>20)
	}
}

var csrfMeta = regexp.MustCompile(`name="csrf-token" content="([^"]+)"`)

func csrfFrom(t *testing.T, hc *http.Client, u string) string {
	t.Helper()
	resp, err := hc.Get(u)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	m := csrfMeta.FindSubmatch(b)
	if m == nil {
		t.Fatalf("no csrf token on %s", u)
	}
	return string(m[1])
}

// peakRSS reads VmHWM (peak resident set) of pid, in bytes.
func peakRSS(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, line := range strings.Split(string(b), "\n") {
		if rest, ok := strings.CutPrefix(line, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 10, 64)
			if err != nil {
				t.Fatal(err)
			}
			return kb << 10
		}
	}
	t.Fatal("no VmHWM in /proc status")
	return 0
}
