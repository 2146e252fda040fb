// Command userservice is an example JSON service built only from the
// injected repositories (unifieddb.InitializeRepositories):
//
//	go run ./examples/userservice -config examples/userservice/database.example.yaml -migrate
//
// It serves POST /users, GET /users/{id}, GET /users?after=&limit= and
// GET /readyz (see NewHandler) until SIGINT or SIGTERM.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"syscall"
	"time"

	"github.com/prompt-improver/unifieddb"
	"github.com/prompt-improver/unifieddb/datalayer"
)

func main() {
	configPath := flag.String("config", "config/database.yaml", "configuration file (YAML, top-level key `database`)")
	addr := flag.String("addr", "127.0.0.1:8080", "listen address")
	migrate := flag.Bool("migrate", false, "apply prompt-improver's schema first: its models' tables, then its SQL migrations (Manager.Migrate)")
	flag.Parse()

	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	ln, err := net.Listen("tcp", *addr)
	if err == nil {
		err = run(ctx, *configPath, ln, *migrate, slog.Default())
	}
	if err != nil {
		fmt.Fprintln(os.Stderr, "userservice:", err)
		os.Exit(1)
	}
}

// run loads the configuration, builds the repositories with the injector and
// serves on ln until ctx ends, then shuts down and closes the pools.
func run(ctx context.Context, configPath string, ln net.Listener, migrate bool, log *slog.Logger) error {
	cfg, err := datalayer.LoadConfig(configPath)
	if err != nil {
		ln.Close()
		return err
	}
	r, cleanup, err := unifieddb.InitializeRepositories(ctx, cfg)
	if err != nil {
		ln.Close()
		return err
	}
	defer cleanup()
	if migrate {
		if _, err := r.Manager.Migrate(ctx); err != nil {
			ln.Close()
			return fmt.Errorf("migrating: %w", err)
		}
	}

	srv := &http.Server{Handler: NewHandler(r, log), ReadHeaderTimeout: 5 * time.Second}
	served := make(chan error, 1)
	go func() { served <- srv.Serve(ln) }()
	log.Info("userservice: listening", "addr", ln.Addr().String())

	select {
	case err := <-served:
		return err
	case <-ctx.Done():
	}
	shutdownCtx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 10*time.Second)
	defer cancel()
	if err := srv.Shutdown(shutdownCtx); err != nil {
		return err
	}
	if err := <-served; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
