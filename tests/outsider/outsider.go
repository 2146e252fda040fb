// Package outsider is an application outside the unifieddb module: its own
// models (a shop has many items) and its own SQL migrations, and no import
// of prompt-improver's packages. Its test proves that the library migrates
// only what an application hands it. It is a module of its own
// (tests/outsider/go.mod), run by the main module's TestOutsiderModule.
package outsider

import (
	"embed"
	"io/fs"
)

// Shop has many items.
type Shop struct {
	ID    uint
	Name  string `gorm:"not null"`
	Items []Item `gorm:"constraint:OnDelete:CASCADE"`
}

// TableName keeps the outsider's tables apart from anything else.
func (Shop) TableName() string { return "outsider_shops" }

// Item belongs to a shop.
type Item struct {
	ID      uint
	ShopID  uint   `gorm:"not null;index"`
	SKU     string `gorm:"not null"`
	Retired bool   `gorm:"not null"`
}

// TableName keeps the outsider's tables apart from anything else.
func (Item) TableName() string { return "outsider_items" }

//go:embed migrations/*.sql
var embedded embed.FS

// Migrations are the outsider's SQL migrations.
func Migrations() fs.FS {
	sub, err := fs.Sub(embedded, "migrations")
	if err != nil {
		panic(err) // "migrations" is a valid path: cannot happen
	}
	return sub
}
