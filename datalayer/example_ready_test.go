package datalayer_test

import (
	"context"
	"errors"
	"log"

	"github.com/jackc/pgx/v5/pgconn"

	"github.com/prompt-improver/unifieddb/datalayer"
)

// New does not connect; WaitReady says at start-up whether the cluster is
// usable, and why not: at once for a fault waiting cannot cure.
func ExampleManager_WaitReady() {
	ctx := context.Background()
	cfg, err := datalayer.LoadConfig("config/database.yaml")
	if err != nil {
		log.Fatal(err)
	}
	m, err := datalayer.New(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	readyCtx, cancel := context.WithTimeout(ctx, cfg.FailoverTimeout)
	defer cancel()
	err = m.WaitReady(readyCtx)
	var unavailable *datalayer.UnavailableError
	var pgErr *pgconn.PgError
	switch {
	case err == nil:
		// A primary answered; replicas join rotation as their probes answer.
	case errors.As(err, &pgErr) && pgErr.Code == "28P01":
		log.Fatal("check the password: ", err) // never contains the password
	case errors.As(err, &unavailable) && unavailable.Permanent:
		log.Fatal("a fault waiting cannot cure: ", err)
	default:
		log.Fatal("no primary yet: ", err) // each node's last error, e.g. connection refused
	}
}
