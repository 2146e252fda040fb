package promptimprover

import "github.com/google/wire"

// ProviderSet provides every repository of the application from the
// Manager's *gorm.DB. Wire cannot use the generic repos.New directly: each
// instantiation has its own constructor.
var ProviderSet = wire.NewSet(NewUserRepository, NewPromptRepository, NewSessionRepository)
