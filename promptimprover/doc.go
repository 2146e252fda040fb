// Package promptimprover is prompt-improver, the first application of the
// unifieddb library, kept apart from it: the library (datalayer, registry,
// repos, migrations) knows nothing of it, and nothing here is registered or
// migrated unless the application asks.
//
// It holds what the application adds to the library: the registration of its
// models (package models), its SQL migrations (sql/, embedded), its typed
// repositories (UserRepository, PromptRepository, SessionRepository) and
// their Wire ProviderSet. Open assembles it:
//
//	m, err := promptimprover.Open(ctx, cfg) // registers the models, hands the migrations
//	res, err := m.Migrate(ctx)              // AutoMigrate, then sql/*.sql
//	users := promptimprover.NewUserRepository(m.DB())
package promptimprover
