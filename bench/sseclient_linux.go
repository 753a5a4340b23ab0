package bench

import (
	"bytes"
	"errors"
	"fmt"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"syscall"
	"time"
)

// The live scenario's load client. Hundreds of streams each receiving a
// small event every 10 ms cost net/http's client a goroutine wake-up, a
// read through its buffers and a chunked-body decode per event: about
// 9 µs of CPU each, two-thirds of what the server spends writing the
// event, on the same two cores. One goroutine reading every stream's
// socket from an epoll set costs a fraction of that, so the figure
// measures the server rather than the client.

// streamSet reads many SSE responses over raw non-blocking sockets.
type streamSet struct {
	epfd     int
	streams  []*rawStream
	stopped  atomic.Bool
	started  bool // run was called
	done     chan struct{}
	stopOnce sync.Once
}

// rawStream is one connection's parse state: the response head, then
// chunked framing around the body, which goes to body.
type rawStream struct {
	fd     int
	head   []byte // until the blank line
	inBody bool
	status int
	// chunk framing: left bytes of the current chunk's data, or -1 while
	// a size line is read into sizeLine; skipCRLF after each chunk.
	left     int
	sizeLine []byte
	skipCRLF int
	body     func(b []byte, at time.Time)
	closed   func(err error)
	ended    bool
}

// newStreamSet makes an empty set.
func newStreamSet() (*streamSet, error) {
	epfd, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return nil, fmt.Errorf("bench: epoll: %w", err)
	}
	return &streamSet{epfd: epfd, done: make(chan struct{})}, nil
}

// open connects to addr (host:port on loopback) and sends a GET of path
// with the given headers; body receives the decoded body as it arrives
// (with the time its read returned), closed is called once when the
// stream ends. Call before run.
func (ss *streamSet) open(addr, path string, headers map[string]string, body func([]byte, time.Time), closed func(error)) error {
	tcp, err := net.ResolveTCPAddr("tcp4", addr)
	if err != nil {
		return err
	}
	fd, err := connectLoopback(tcp.Port)
	if err != nil {
		return err
	}
	var req bytes.Buffer
	fmt.Fprintf(&req, "GET %s HTTP/1.1\r\nHost: %s\r\nAccept: text/event-stream\r\n", path, addr)
	for k, v := range headers {
		fmt.Fprintf(&req, "%s: %s\r\n", k, v)
	}
	req.WriteString("\r\n")
	for b := req.Bytes(); len(b) > 0; {
		n, err := syscall.Write(fd, b)
		if err != nil {
			syscall.Close(fd)
			return fmt.Errorf("bench: send request: %w", err)
		}
		b = b[n:]
	}
	if err := watch(ss.epfd, fd, int32(len(ss.streams))); err != nil {
		syscall.Close(fd)
		return err
	}
	rs := &rawStream{fd: fd, left: -1, body: body, closed: closed}
	ss.streams = append(ss.streams, rs)
	return nil
}

// start runs the read loop (see run) in a goroutine of its own.
func (ss *streamSet) start(pace time.Duration) {
	ss.started = true
	go ss.run(pace)
}

// run reads every stream until stop; it returns when the loop ended.
// After a wake-up that found data it sleeps for pace before looking
// again, so the reads of one message's 500 events take a few wake-ups
// instead of 500: a read's time is then at most about pace late, which
// makes the figures slightly pessimistic, never optimistic.
func (ss *streamSet) run(pace time.Duration) {
	defer close(ss.done)
	buf := make([]byte, 64*1024)
	if err := pacedReads(ss.epfd, &ss.stopped, pace, func(i int32) { ss.streams[i].readAll(buf) }); err != nil {
		for _, rs := range ss.streams {
			rs.end(err)
		}
	}
}

// pacedReads calls ready with the data of every socket of epfd that has
// something to read, until stopped. After a wake-up that found data it
// sleeps for pace before looking again (see run).
func pacedReads(epfd int, stopped *atomic.Bool, pace time.Duration, ready func(data int32)) error {
	events := make([]syscall.EpollEvent, 1024)
	wait := 50 // ms; 0 right after a pause, to take what queued
	for !stopped.Load() {
		n, err := syscall.EpollWait(epfd, events, wait)
		if err != nil {
			if errors.Is(err, syscall.EINTR) {
				continue
			}
			return fmt.Errorf("bench: epoll wait: %w", err)
		}
		for _, ev := range events[:n] {
			ready(ev.Fd)
		}
		if n == 0 {
			wait = 50
			continue
		}
		time.Sleep(pace)
		wait = 0
	}
	return nil
}

// connectLoopback connects a blocking TCP socket to port on 127.0.0.1.
func connectLoopback(port int) (int, error) {
	fd, err := syscall.Socket(syscall.AF_INET, syscall.SOCK_STREAM|syscall.SOCK_CLOEXEC, 0)
	if err != nil {
		return 0, fmt.Errorf("bench: socket: %w", err)
	}
	if err := syscall.Connect(fd, &syscall.SockaddrInet4{Port: port, Addr: [4]byte{127, 0, 0, 1}}); err != nil {
		syscall.Close(fd)
		return 0, fmt.Errorf("bench: connect to port %d: %w", port, err)
	}
	return fd, nil
}

// watch makes fd non-blocking and adds it to epfd, reported with data.
func watch(epfd, fd int, data int32) error {
	if err := syscall.SetNonblock(fd, true); err != nil {
		return err
	}
	ev := syscall.EpollEvent{Events: syscall.EPOLLIN | syscall.EPOLLRDHUP, Fd: data}
	if err := syscall.EpollCtl(epfd, syscall.EPOLL_CTL_ADD, fd, &ev); err != nil {
		return fmt.Errorf("bench: epoll add: %w", err)
	}
	return nil
}

// rusageCPU is the user and system time of r.
func rusageCPU(r syscall.Rusage) time.Duration {
	return time.Duration(r.Utime.Nano() + r.Stime.Nano())
}

// stop ends the loop (if started) and closes every socket; it may be
// called more than once.
func (ss *streamSet) stop() {
	ss.stopOnce.Do(func() {
		ss.stopped.Store(true)
		if ss.started {
			<-ss.done
		}
		for _, rs := range ss.streams {
			rs.end(errors.New("stopped"))
		}
		syscall.Close(ss.epfd)
	})
}

// readAll reads what the socket holds. A read that did not fill buf
// took everything (epoll is level-triggered: anything left is reported
// again), which saves the read that would answer EAGAIN.
func (rs *rawStream) readAll(buf []byte) {
	for !rs.ended {
		n, err := syscall.Read(rs.fd, buf)
		if n > 0 {
			if perr := rs.feed(buf[:n], time.Now()); perr != nil {
				rs.end(perr)
				return
			}
			if n < len(buf) {
				return
			}
		}
		switch {
		case errors.Is(err, syscall.EAGAIN):
			return
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			rs.end(err)
			return
		case n == 0:
			rs.end(errors.New("bench: stream closed by the server"))
			return
		}
	}
}

func (rs *rawStream) end(err error) {
	if rs.ended {
		return
	}
	rs.ended = true
	syscall.Close(rs.fd)
	rs.closed(err)
}

// feed parses b: the response head, then the chunked body.
func (rs *rawStream) feed(b []byte, at time.Time) error {
	if !rs.inBody {
		rs.head = append(rs.head, b...)
		i := bytes.Index(rs.head, []byte("\r\n\r\n"))
		if i < 0 {
			return nil
		}
		head := rs.head[:i]
		line, _, _ := bytes.Cut(head, []byte("\r\n"))
		f := bytes.Fields(line)
		if len(f) < 2 {
			return fmt.Errorf("bench: bad status line %q", line)
		}
		rs.status, _ = strconv.Atoi(string(f[1]))
		if rs.status != 200 {
			return fmt.Errorf("bench: stream status %d", rs.status)
		}
		if !bytes.Contains(bytes.ToLower(head), []byte("transfer-encoding: chunked")) {
			return errors.New("bench: stream is not chunked")
		}
		rs.inBody = true
		b = rs.head[i+4:]
		rs.head = nil
	}
	for len(b) > 0 {
		switch {
		case rs.skipCRLF > 0:
			k := min(rs.skipCRLF, len(b))
			rs.skipCRLF -= k
			b = b[k:]
		case rs.left < 0:
			i := bytes.IndexByte(b, '\n')
			if i < 0 {
				rs.sizeLine = append(rs.sizeLine, b...)
				return nil
			}
			rs.sizeLine = append(rs.sizeLine, b[:i]...)
			b = b[i+1:]
			hex, _, _ := bytes.Cut(bytes.TrimSpace(rs.sizeLine), []byte(";"))
			size, err := strconv.ParseInt(string(hex), 16, 64)
			rs.sizeLine = rs.sizeLine[:0]
			if err != nil {
				return fmt.Errorf("bench: bad chunk size %q", hex)
			}
			if size == 0 {
				return errors.New("bench: stream ended by the server")
			}
			rs.left = int(size)
		default:
			k := min(rs.left, len(b))
			rs.body(b[:k], at)
			b = b[k:]
			rs.left -= k
			if rs.left == 0 {
				rs.left, rs.skipCRLF = -1, 2
			}
		}
	}
	return nil
}
