package promptimprover

import (
	"context"
	"embed"
	"fmt"
	"io/fs"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/models"
	"github.com/prompt-improver/unifieddb/registry"
)

//go:embed sql/*.sql
var embedded embed.FS

// Migrations returns the application's SQL migrations (sql/*.sql at the
// root), for datalayer.WithMigrations or migrations.WithFS. They assume
// AutoMigrate has created the tables of the models.
func Migrations() fs.FS {
	sub, err := fs.Sub(embedded, "sql")
	if err != nil {
		// fs.Sub fails only on an invalid path name; "sql" is valid.
		panic(fmt.Sprintf("promptimprover: %v", err))
	}
	return sub
}

// Register registers the application's models (models.All) with r; a
// conflict with a model already in r is an error in strict mode.
func Register(r *registry.Registry) error {
	if r == nil {
		return fmt.Errorf("promptimprover: Register: nil registry")
	}
	if err := r.Register(models.All()...); err != nil {
		return fmt.Errorf("promptimprover: registering the models: %w", err)
	}
	return nil
}

// Open opens a Manager for the application: datalayer.New(ctx, cfg, opts...)
// with its SQL migrations handed (WithMigrations) and its models registered
// in the Manager's registry. Nothing is migrated yet: call m.Migrate.
func Open(ctx context.Context, cfg datalayer.Config, opts ...datalayer.Option) (*datalayer.Manager, error) {
	opts = append([]datalayer.Option{datalayer.WithMigrations(Migrations())}, opts...)
	m, err := datalayer.New(ctx, cfg, opts...)
	if err != nil {
		return nil, err
	}
	if err := Register(m.Registry()); err != nil {
		_ = m.Close()
		return nil, err
	}
	return m, nil
}
