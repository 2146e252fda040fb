package plugin

import "gorm.io/gorm"

// BatchSize returns the rows per INSERT statement that bulk paths built on db
// should use (Options.BatchSize), or 0 when the plugin is not installed on db
// or has none.
func BatchSize(db *gorm.DB) int {
	if p := fromDB(db); p != nil {
		return p.opts.BatchSize
	}
	return 0
}
