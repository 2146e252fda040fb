//go:build wireinject

package unifieddb

import (
	"context"

	"github.com/google/wire"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/promptimprover"
)

// InitializeRepositories opens a Manager on cfg and builds every repository
// on it. Call the returned cleanup when done: it closes the Manager.
func InitializeRepositories(ctx context.Context, cfg datalayer.Config) (*Repositories, func(), error) {
	wire.Build(ManagerSet, promptimprover.ProviderSet, wire.Struct(new(Repositories), "*"))
	return nil, nil, nil
}
