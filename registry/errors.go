package registry

import "errors"

var (
	// ErrConflict is wrapped by the error [Registry.Register] returns in strict mode when two
	// different Go types map to the same table. Outside strict mode the first type wins, a
	// warning is logged and the conflict is recorded in [Registry.Conflicts].
	ErrConflict = errors.New("registry: two different types map to the same table")

	// ErrInvalidModel is wrapped by the error [Registry.Register] returns when a value is not a
	// usable model: nil, not a (pointer to a) named struct, rejected by GORM's schema parser
	// (unsupported field, broken relation) or without a primary key.
	ErrInvalidModel = errors.New("registry: invalid model")
)

// Conflict records two different Go types that map to one table. Kept is the type that was
// registered first and stays registered; Rejected is the type that was refused. Type names are
// fully qualified: "github.com/prompt-improver/unifieddb/models.User".
type Conflict struct {
	Table    string
	Kept     string
	Rejected string
}
