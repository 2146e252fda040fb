package faultproxy

import (
	"bufio"
	"errors"
	"io"
	"net"
	"os"
	"syscall"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// echo starts an upstream that writes back every line it reads.
func echo(t *testing.T) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				io.Copy(c, c)
			}()
		}
	}()
	return ln.Addr().String()
}

func start(t *testing.T) (*Proxy, net.Conn) {
	t.Helper()
	p, err := Start(echo(t))
	require.NoError(t, err)
	t.Cleanup(func() { p.Close() })
	c, err := net.Dial("tcp", p.Addr())
	require.NoError(t, err)
	t.Cleanup(func() { c.Close() })
	return p, c
}

func roundTrip(t *testing.T, c net.Conn, within time.Duration) (string, error) {
	t.Helper()
	c.SetDeadline(time.Now().Add(within))
	if _, err := c.Write([]byte("ping\n")); err != nil {
		return "", err
	}
	return bufio.NewReader(c).ReadString('\n')
}

func TestForwards(t *testing.T) {
	p, c := start(t)
	got, err := roundTrip(t, c, 10*time.Second)
	require.NoError(t, err)
	assert.Equal(t, "ping\n", got)
	assert.Equal(t, 1, p.Connections())
}

func TestBlackholeIsSilentAndHeals(t *testing.T) {
	p, c := start(t)
	p.Blackhole(true)
	_, err := roundTrip(t, c, 300*time.Millisecond)
	assert.ErrorIs(t, err, os.ErrDeadlineExceeded, "no answer, no EOF, no reset: half-open")

	p.Blackhole(false)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	got, err := bufio.NewReader(c).ReadString('\n')
	require.NoError(t, err)
	assert.Equal(t, "ping\n", got, "held bytes arrive once the link heals")
}

func TestLatency(t *testing.T) {
	p, c := start(t)
	p.SetLatency(200 * time.Millisecond)
	start := time.Now()
	_, err := roundTrip(t, c, 10*time.Second)
	require.NoError(t, err)
	assert.GreaterOrEqual(t, time.Since(start), 200*time.Millisecond)
}

func TestResetAll(t *testing.T) {
	p, c := start(t)
	_, err := roundTrip(t, c, 10*time.Second)
	require.NoError(t, err)
	p.ResetAll()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = c.Read(make([]byte, 1))
	assert.True(t, errors.Is(err, syscall.ECONNRESET), "reset, not %v", err)
	assert.Equal(t, 1, p.Resets())
}

func TestCutRepliesAfter(t *testing.T) {
	p, c := start(t)
	_, err := roundTrip(t, c, 10*time.Second)
	require.NoError(t, err)
	p.CutRepliesAfter(3)
	c.SetDeadline(time.Now().Add(10 * time.Second))
	_, err = c.Write([]byte("hello\n"))
	require.NoError(t, err)
	got, err := io.ReadAll(c)
	assert.Equal(t, "hel", string(got), "the first 3 reply bytes, then nothing")
	assert.True(t, errors.Is(err, syscall.ECONNRESET), "reset, not %v", err)
	assert.Equal(t, 1, p.Resets())
	assert.Zero(t, p.Connections())
}
