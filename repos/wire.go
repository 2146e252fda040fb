package repos

import "github.com/google/wire"

// ProviderSet provides every concrete repository from the Manager's
// *gorm.DB. Wire cannot use the generic New directly: each instantiation has
// its own constructor.
var ProviderSet = wire.NewSet(NewUserRepository, NewPromptRepository, NewSessionRepository)
