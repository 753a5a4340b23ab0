package e2e

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/chromedp/chromedp"

	"github.com/botdesk/botdesk/telegram/telegramtest"
)

// Accounts of the click-through. The first admin is created with
// `botdesk user add` before the server starts; the admin creates the others
// on the Users page.
const (
	adminEmail    = "admin@example.com"
	operatorEmail = "operator@example.com"
	agentEmail    = "agent@example.com"
	password      = "correct horse battery staple"
)

// harness is what TestMain set up. It is written once, before m.Run, and
// only read by the tests.
type harness struct {
	// skip, when set, is why the suite cannot run (no Chromium).
	skip string
	// baseURL is the console of the botdesk binary under test.
	baseURL string
	// tg is the fake Bot API the binary talks to, in this process.
	tg *telegramtest.Server
	// browser is the chromedp context of the shared headless Chromium;
	// each session opens its own incognito browser context from it.
	browser context.Context
	// screenshots is where documentation screenshots go ("" = none).
	screenshots string
}

var suite harness

// require skips t when the suite cannot run here.
func (h *harness) require(t *testing.T) {
	t.Helper()
	if h.skip != "" {
		t.Skip(h.skip)
	}
}

func TestMain(m *testing.M) {
	os.Exit(runMain(m))
}

// runMain sets up the binary, the fake Telegram and the browser, runs the
// tests and tears everything down (deferred calls run before os.Exit).
func runMain(m *testing.M) int {
	chromium := findChromium()
	if chromium == "" {
		if os.Getenv("BOTDESK_E2E_REQUIRED") != "" {
			fmt.Fprintln(os.Stderr, "e2e: BOTDESK_E2E_REQUIRED is set but Chromium is not installed (run `make chromium`, or set BOTDESK_CHROMIUM to its path)")
			return 1
		}
		suite.skip = "browser tests skipped: Chromium not found (install it with `make chromium` or set BOTDESK_CHROMIUM; set BOTDESK_E2E_REQUIRED=1 to make this a failure)"
		fmt.Fprintln(os.Stderr, "e2e: "+suite.skip)
		return m.Run()
	}

	tmp, err := os.MkdirTemp("", "botdesk-e2e-")
	if err != nil {
		return fail("temp dir: %v", err)
	}
	defer os.RemoveAll(tmp)

	// BOTDESK_E2E_BINARY tests a binary built elsewhere (a release build,
	// or a clean checkout while the working tree is mid-edit).
	bin := os.Getenv("BOTDESK_E2E_BINARY")
	if bin == "" {
		bin = filepath.Join(tmp, "botdesk")
		if err := buildBinary(bin); err != nil {
			return fail("%v", err)
		}
	}

	suite.tg = telegramtest.New()
	tgURL := suite.tg.Start()
	defer suite.tg.Close()

	env := serverEnv(filepath.Join(tmp, "data"), tgURL)
	if err := userAdd(bin, env, adminEmail, "admin", password); err != nil {
		return fail("%v", err)
	}
	logPath := filepath.Join(tmp, "server.log")
	srv, err := startServer(bin, env, logPath)
	if err != nil {
		copyServerLog(logPath)
		return fail("%v", err)
	}
	suite.baseURL = srv.url

	if dir := os.Getenv("BOTDESK_SCREENSHOTS"); dir != "" {
		if !filepath.IsAbs(dir) {
			// Relative to the repository root, where make runs.
			dir = filepath.Join("..", dir)
		}
		if err := os.MkdirAll(dir, 0o755); err != nil {
			return fail("screenshots dir: %v", err)
		}
		suite.screenshots = dir
	}

	browser, closeBrowser, err := startBrowser(chromium, filepath.Join(tmp, "chromium-profile"))
	if err != nil {
		srv.stop()
		return fail("%v", err)
	}
	suite.browser = browser

	code := m.Run()

	closeBrowser()
	srv.stop()
	if code != 0 {
		copyServerLog(logPath)
	}
	return code
}

func fail(format string, args ...any) int {
	fmt.Fprintf(os.Stderr, "e2e: "+format+"\n", args...)
	return 1
}

// findChromium returns the browser to drive, or "" when none is installed.
func findChromium() string {
	if p := os.Getenv("BOTDESK_CHROMIUM"); p != "" {
		return p
	}
	for _, name := range []string{"chromium", "chromium-browser", "google-chrome", "google-chrome-stable"} {
		if p, err := exec.LookPath(name); err == nil {
			return p
		}
	}
	return ""
}

// buildBinary builds the real botdesk binary, without the race detector
// (only the test process runs with it).
func buildBinary(out string) error {
	cmd := exec.Command("go", "build", "-o", out, "./cmd/botdesk")
	cmd.Dir = ".."
	cmd.Env = append(os.Environ(), "CGO_ENABLED=1")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./cmd/botdesk: %v\n%s", err, b)
	}
	return nil
}

// serverEnv is the environment of every botdesk command of the suite; any
// BOTDESK_* setting of the caller's shell is dropped so it cannot leak in.
func serverEnv(dataDir, tgURL string) []string {
	var env []string
	for _, kv := range os.Environ() {
		if !strings.HasPrefix(kv, "BOTDESK_") {
			env = append(env, kv)
		}
	}
	return append(env,
		"BOTDESK_DATA_DIR="+dataDir,
		"BOTDESK_TELEGRAM_API="+tgURL,
		"BOTDESK_ALLOW_PRIVATE_CALLBACKS=1",
		"BOTDESK_POLL_TIMEOUT=1s",
		"BOTDESK_LOG_LEVEL=debug",
		"BOTDESK_SHUTDOWN_TIMEOUT=5s",
	)
}

// userAdd runs `botdesk user add` with the password on stdin.
func userAdd(bin string, env []string, email, role, pw string) error {
	cmd := exec.Command(bin, "user", "add", "--email", email, "--role", role)
	cmd.Env = env
	cmd.Stdin = strings.NewReader(pw + "\n")
	if b, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("botdesk user add --email %s: %v\n%s", email, err, b)
	}
	return nil
}

// server is the running `botdesk serve`.
type server struct {
	cmd  *exec.Cmd
	url  string
	done chan struct{} // closed when the process has exited
}

var servingLine = regexp.MustCompile(`msg="botdesk serving" url=(http://\S+)`)

// startServer runs `botdesk serve` on a free loopback port (the server
// picks it: BOTDESK_ADDR=127.0.0.1:0), learns the URL from its log and
// waits for /healthz.
func startServer(bin string, env []string, logPath string) (*server, error) {
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = append(env, "BOTDESK_ADDR=127.0.0.1:0")
	cmd.Stdout = logFile
	stderr, err := cmd.StderrPipe()
	if err != nil {
		return nil, err
	}
	if err := cmd.Start(); err != nil {
		return nil, fmt.Errorf("start botdesk serve: %w", err)
	}
	s := &server{cmd: cmd, done: make(chan struct{})}
	urls := make(chan string, 1)
	var copying sync.WaitGroup
	copying.Add(1)
	go func() {
		defer copying.Done()
		sc := bufio.NewScanner(stderr)
		sc.Buffer(make([]byte, 64*1024), 1024*1024)
		for sc.Scan() {
			line := sc.Text()
			fmt.Fprintln(logFile, line)
			if m := servingLine.FindStringSubmatch(line); m != nil {
				select {
				case urls <- m[1]:
				default:
				}
			}
		}
		_, _ = io.Copy(logFile, stderr)
	}()
	go func() {
		copying.Wait()
		_ = cmd.Wait()
		logFile.Close()
		close(s.done)
	}()

	select {
	case s.url = <-urls:
	case <-s.done:
		return nil, errors.New("botdesk serve exited before serving (see e2e/artifacts/server.log)")
	case <-time.After(30 * time.Second):
		s.stop()
		return nil, errors.New("botdesk serve did not report its URL within 30s (see e2e/artifacts/server.log)")
	}
	if err := waitHealthy(s.url+"/healthz", s.done); err != nil {
		s.stop()
		return nil, err
	}
	return s, nil
}

func waitHealthy(u string, exited <-chan struct{}) error {
	deadline := time.Now().Add(30 * time.Second)
	client := &http.Client{Timeout: 2 * time.Second}
	var last error
	for time.Now().Before(deadline) {
		resp, err := client.Get(u)
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
			err = fmt.Errorf("status %d", resp.StatusCode)
		}
		last = err
		select {
		case <-exited:
			return errors.New("botdesk serve exited while starting (see e2e/artifacts/server.log)")
		case <-time.After(50 * time.Millisecond):
		}
	}
	return fmt.Errorf("%s not healthy within 30s: %v", u, last)
}

// stop asks the server to shut down (SIGTERM) and kills it if it hangs.
func (s *server) stop() {
	_ = s.cmd.Process.Signal(syscall.SIGTERM)
	select {
	case <-s.done:
	case <-time.After(10 * time.Second):
		_ = s.cmd.Process.Kill()
		<-s.done
	}
}

// copyServerLog keeps the server log of a failed run in e2e/artifacts.
func copyServerLog(logPath string) {
	b, err := os.ReadFile(logPath)
	if err != nil {
		return
	}
	if err := os.MkdirAll("artifacts", 0o755); err == nil {
		_ = os.WriteFile(filepath.Join("artifacts", "server.log"), b, 0o644)
		fmt.Fprintln(os.Stderr, "e2e: server log saved to e2e/artifacts/server.log")
	}
}

// startBrowser starts one headless Chromium for the whole suite. The flags
// keep it off the network (the machine may have no internet; background
// services would retry connections for ever) and working as root in a
// container.
func startBrowser(path, profile string) (context.Context, func(), error) {
	opts := append(chromedp.DefaultExecAllocatorOptions[:],
		chromedp.ExecPath(path),
		chromedp.NoSandbox,
		chromedp.DisableGPU,
		chromedp.NoFirstRun,
		chromedp.UserDataDir(profile),
		chromedp.WindowSize(1280, 800),
		chromedp.Flag("disable-dev-shm-usage", true),
		chromedp.Flag("disable-background-networking", true),
		chromedp.Flag("disable-component-update", true),
		chromedp.Flag("disable-sync", true),
		chromedp.Flag("disable-domain-reliability", true),
		chromedp.Flag("no-pings", true),
		chromedp.Flag("password-store", "basic"),
		chromedp.Flag("use-mock-keychain", true),
	)
	allocCtx, cancelAlloc := chromedp.NewExecAllocator(context.Background(), opts...)
	browserCtx, cancelBrowser := chromedp.NewContext(allocCtx)
	started := make(chan error, 1)
	go func() { started <- chromedp.Do(browserCtx) }()
	select {
	case err := <-started:
		if err != nil {
			cancelBrowser()
			cancelAlloc()
			return nil, nil, fmt.Errorf("start chromium %s: %w", path, err)
		}
	case <-time.After(60 * time.Second):
		cancelBrowser()
		cancelAlloc()
		return nil, nil, fmt.Errorf("chromium %s did not start within 60s", path)
	}
	return browserCtx, func() {
		_ = chromedp.Cancel(browserCtx)
		cancelBrowser()
		cancelAlloc()
	}, nil
}
