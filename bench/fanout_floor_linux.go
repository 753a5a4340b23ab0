package bench

import (
	"fmt"
	"net"
	"sync/atomic"
	"syscall"
	"time"
)

// fanOutFloor is what the live row's fan-out costs without botdesk: one
// goroutine writes size bytes to each of n loopback TCP connections, once
// per interval, rounds times, while one epoll loop reads them the way the
// live row's load client does (bench/sseclient_linux.go). It returns the
// mean wall time per write, i.e. the time one message's fan-out to n
// streams takes at the least on this machine, divided by n, and the
// process's CPU per write (writer and reader together).
func fanOutFloor(n, size, rounds int, interval time.Duration) (perWrite, cpuPerWrite time.Duration, err error) {
	ln, err := net.Listen("tcp4", "127.0.0.1:0")
	if err != nil {
		return 0, 0, err
	}
	defer ln.Close()
	accepted := make(chan net.Conn, n)
	go func() {
		for range n {
			c, err := ln.Accept()
			if err != nil {
				close(accepted)
				return
			}
			accepted <- c
		}
	}()
	ep, err := syscall.EpollCreate1(syscall.EPOLL_CLOEXEC)
	if err != nil {
		return 0, 0, err
	}
	defer syscall.Close(ep)
	port := ln.Addr().(*net.TCPAddr).Port
	var fds []int
	defer func() {
		for _, fd := range fds {
			syscall.Close(fd)
		}
	}()
	for range n {
		fd, err := connectLoopback(port)
		if err != nil {
			return 0, 0, err
		}
		fds = append(fds, fd)
		if err := watch(ep, fd, int32(fd)); err != nil {
			return 0, 0, err
		}
	}
	conns := make([]net.Conn, 0, n)
	for c := range accepted {
		conns = append(conns, c)
		defer c.Close()
		if len(conns) == n {
			break
		}
	}
	if len(conns) < n {
		return 0, 0, fmt.Errorf("bench: fan-out floor: %d of %d connections accepted", len(conns), n)
	}
	var stop atomic.Bool
	read := make(chan struct{})
	go func() {
		defer close(read)
		buf := make([]byte, 64*1024)
		_ = pacedReads(ep, &stop, time.Millisecond, func(fd int32) { _, _ = syscall.Read(int(fd), buf) })
	}()
	msg := make([]byte, size)
	var busy time.Duration
	var ru0, ru1 syscall.Rusage
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru0)
	for range rounds {
		t0 := time.Now()
		for _, c := range conns {
			if _, err := c.Write(msg); err != nil {
				stop.Store(true)
				<-read
				return 0, 0, fmt.Errorf("bench: fan-out floor: write: %w", err)
			}
		}
		busy += time.Since(t0)
		time.Sleep(interval)
	}
	_ = syscall.Getrusage(syscall.RUSAGE_SELF, &ru1)
	stop.Store(true)
	<-read
	writes := time.Duration(n * rounds)
	return busy / writes, (rusageCPU(ru1) - rusageCPU(ru0)) / writes, nil
}
