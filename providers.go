// Package unifieddb assembles prompt-improver, the library's first
// application, with Wire: InitializeRepositories opens a Manager from a
// Config with the application's models registered and its SQL migrations
// handed (package promptimprover), and returns every repository on it, with
// a cleanup that closes the Manager's pools. It migrates nothing: call
// r.Manager.Migrate.
package unifieddb

import (
	"context"

	"github.com/google/wire"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/promptimprover"
)

// ManagerSet provides the Manager (with a cleanup that closes it) and its
// *gorm.DB.
var ManagerSet = wire.NewSet(ProvideManager, ProvideDB)

// ProvideManager opens prompt-improver's Manager on cfg
// (promptimprover.Open: its models registered, its SQL migrations handed);
// the cleanup closes every pool and stops its background jobs.
func ProvideManager(ctx context.Context, cfg datalayer.Config) (*datalayer.Manager, func(), error) {
	m, err := promptimprover.Open(ctx, cfg)
	if err != nil {
		return nil, nil, err
	}
	return m, func() { _ = m.Close() }, nil
}

// ProvideDB is the Manager's GORM handle, in Auto mode.
func ProvideDB(m *datalayer.Manager) *gorm.DB { return m.DB() }

// Repositories is everything an application needs of the data layer.
type Repositories struct {
	// Manager is there for health and readiness checks and for
	// m.Transaction units of work (repository.WithTx(tx)).
	Manager  *datalayer.Manager
	Users    *promptimprover.UserRepository
	Prompts  *promptimprover.PromptRepository
	Sessions *promptimprover.SessionRepository
}
