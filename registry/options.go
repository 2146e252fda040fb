package registry

import (
	"log/slog"

	"gorm.io/gorm/schema"
)

// Option configures a [Registry] in [New] or [Registry.Clone].
type Option func(*Registry)

// WithStrict makes a table conflict an error (wrapping [ErrConflict]) instead of a logged
// warning. Default false.
func WithStrict(strict bool) Option {
	return func(r *Registry) { r.strict = strict }
}

// WithLogger sets the logger for conflict warnings. nil (the default) means slog.Default() at
// the time of logging.
func WithLogger(l *slog.Logger) Option {
	return func(r *Registry) { r.logger = l }
}

// WithNamer sets the naming strategy used to derive table names. The default is
// schema.NamingStrategy{}, GORM's default; nil keeps the default. The *gorm.DB given to
// [Registry.AutoMigrate] should use the same strategy, or tables will be named differently.
func WithNamer(n schema.Namer) Option {
	return func(r *Registry) {
		if n == nil {
			n = schema.NamingStrategy{}
		}
		r.namer = n
		r.namerSet = true
	}
}
