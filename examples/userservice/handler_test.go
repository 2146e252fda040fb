package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb"
	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/testenv"
)

func testCtx(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	t.Cleanup(cancel)
	return ctx
}

var quiet = slog.New(slog.NewTextHandler(io.Discard, nil))

var databases atomic.Int64

// freshConfig is a Manager configuration for a new, empty database on the
// cluster, so that every test (and every -count run) starts clean.
func freshConfig(t *testing.T) datalayer.Config {
	t.Helper()
	name := fmt.Sprintf("userservice_%d", databases.Add(1))
	require.NoError(t, cluster.Nodes()[0].Exec(testCtx(t), "CREATE DATABASE "+name))
	cfg := testenv.Config(cluster)
	cfg.Database = name
	return cfg
}

// do sends one request and decodes the JSON answer into out (if not nil).
func do(t *testing.T, method, url, body string, out any) int {
	t.Helper()
	req, err := http.NewRequest(method, url, bytes.NewBufferString(body))
	require.NoError(t, err)
	resp, err := http.DefaultClient.Do(req)
	require.NoError(t, err)
	defer resp.Body.Close()
	assert.True(t, strings.HasPrefix(resp.Header.Get("Content-Type"), "application/json"), resp.Header.Get("Content-Type"))
	if out != nil {
		require.NoError(t, json.NewDecoder(resp.Body).Decode(out))
	}
	return resp.StatusCode
}

// The service end to end over HTTP on loopback, built from the injector.
func TestUserServiceOverHTTP(t *testing.T) {
	ctx := testCtx(t)
	r, cleanup, err := unifieddb.InitializeRepositories(ctx, freshConfig(t))
	require.NoError(t, err)
	closed := false
	t.Cleanup(func() {
		if !closed {
			cleanup()
		}
	})
	require.NoError(t, r.Manager.Registry().AutoMigrate(r.Manager.Conn(ctx, datalayer.Transactional)))
	srv := httptest.NewServer(NewHandler(r, quiet))
	defer srv.Close()
	url := srv.URL

	var status map[string]any
	require.Equal(t, http.StatusOK, do(t, "GET", url+"/readyz", "", &status))
	assert.Contains(t, []any{"healthy", "degraded"}, status["status"])
	assert.NotEmpty(t, status["nodes"], "the readiness body is the health report")

	var created user
	require.Equal(t, http.StatusCreated, do(t, "POST", url+"/users", `{"name":"Ada","email":"ada@example.com"}`, &created))
	assert.NotZero(t, created.ID)
	assert.True(t, created.Active)
	assert.False(t, created.CreatedAt.IsZero())

	var got user
	require.Equal(t, http.StatusOK, do(t, "GET", fmt.Sprintf("%s/users/%d", url, created.ID), "", &got))
	assert.Equal(t, created.Email, got.Email)
	assert.Equal(t, "Ada", got.Name)

	var e map[string]string
	assert.Equal(t, http.StatusConflict, do(t, "POST", url+"/users", `{"name":"Ada 2","email":"ada@example.com"}`, &e))
	assert.Equal(t, http.StatusBadRequest, do(t, "POST", url+"/users", `{"name":"x"}`, &e))
	assert.Equal(t, http.StatusBadRequest, do(t, "POST", url+"/users", `{"name":`, &e))
	assert.Equal(t, http.StatusBadRequest, do(t, "POST", url+"/users", `{"name":"x","email":"x@example.com","admin":true}`, &e))
	assert.Equal(t, http.StatusNotFound, do(t, "GET", url+"/users/2147483647", "", &e))
	assert.Equal(t, http.StatusBadRequest, do(t, "GET", url+"/users/abc", "", &e))
	assert.Equal(t, http.StatusBadRequest, do(t, "GET", url+"/users?limit=0", "", &e))
	assert.Equal(t, http.StatusBadRequest, do(t, "GET", url+"/users?after=-1", "", &e))

	for i := range 24 {
		body := fmt.Sprintf(`{"name":"u%d","email":"u%d@example.com","active":%t}`, i, i, i%3 != 0)
		require.Equal(t, http.StatusCreated, do(t, "POST", url+"/users", body, nil))
	}
	seen := map[uint]int{}
	next := ""
	pages := 0
	for {
		var page userPage
		require.Equal(t, http.StatusOK, do(t, "GET", url+"/users?limit=10"+next, "", &page))
		pages++
		for _, u := range page.Users {
			seen[u.ID]++
		}
		if page.NextAfter == nil {
			break
		}
		next = fmt.Sprintf("&after=%d", *page.NextAfter)
	}
	assert.Len(t, seen, 25)
	for id, n := range seen {
		assert.Equal(t, 1, n, "user %d listed %d times", id, n)
	}
	assert.Equal(t, 3, pages)

	// Once the pools are closed the service is not ready.
	cleanup()
	closed = true
	assert.Equal(t, http.StatusServiceUnavailable, do(t, "GET", url+"/readyz", "", &status))
	assert.Equal(t, http.StatusServiceUnavailable, do(t, "GET", fmt.Sprintf("%s/users/%d", url, created.ID), "", &e))
}

// run loads the configuration from a file, serves, and stops cleanly when its
// context ends.
func TestRunServesFromAConfigFile(t *testing.T) {
	ctx := testCtx(t)
	cfg := freshConfig(t)
	data, err := cfg.MarshalYAML()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "database.yaml")
	require.NoError(t, os.WriteFile(path, data, 0o600))

	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	runCtx, stop := context.WithCancel(ctx)
	done := make(chan error, 1)
	go func() { done <- run(runCtx, path, ln, true, quiet) }()

	url := "http://" + ln.Addr().String()
	var status map[string]any
	require.Equal(t, http.StatusOK, do(t, "GET", url+"/readyz", "", &status))
	require.Equal(t, http.StatusCreated, do(t, "POST", url+"/users", `{"name":"Run","email":"run@example.com"}`, nil))

	stop()
	select {
	case err := <-done:
		require.NoError(t, err)
	case <-time.After(30 * time.Second):
		t.Fatal("run did not return after its context ended")
	}
}

func TestExampleConfigParses(t *testing.T) {
	t.Setenv("PGHOST", "db.internal")
	cfg, err := datalayer.LoadConfig("database.example.yaml")
	require.NoError(t, err)
	assert.Equal(t, "db.internal", cfg.Host)
	assert.Equal(t, 5432, cfg.Port)
	assert.Empty(t, cfg.Warnings)
}
