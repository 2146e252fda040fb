// Command quickstart is the README's quick start: run it against the cluster
// of `unifieddb dev up --dir /tmp/mydb` (or name another database.yaml).
package main

import (
	"context"
	"errors"
	"fmt"
	"log"
	"os"
	"time"

	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
)

// Customer is your own model.
type Customer struct {
	ID        uint
	Name      string
	Email     string `gorm:"uniqueIndex"`
	Active    bool
	CreatedAt time.Time
}

func main() {
	path := "/tmp/mydb/database.yaml"
	if len(os.Args) > 1 {
		path = os.Args[1]
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	if err := run(ctx, path); err != nil {
		log.Fatal(err)
	}
}

func run(ctx context.Context, path string) error {
	cfg, err := datalayer.LoadConfig(path) // or datalayer.DefaultConfig() + fields
	if err != nil {
		return err // a *ConfigError names every bad key, never the password
	}
	m, err := datalayer.New(ctx, cfg) // prepares the pools; connects lazily
	if err != nil {
		return err
	}
	defer m.Close()
	// Fail now, with the reason, rather than at the first statement: at once
	// for a wrong password or an unknown database; when nothing answers,
	// WaitReady waits until its context ends, so bound it as statements are.
	wctx, wcancel := context.WithTimeout(ctx, cfg.FailoverTimeout)
	defer wcancel()
	if err := m.WaitReady(wctx); err != nil {
		return err
	}

	// Register your models; Migrate creates their tables (only those), then
	// runs the SQL migrations you hand it (datalayer.WithMigrations or
	// migrations_dir; none here), on the primary, under an advisory lock, so
	// many instances may start at once.
	if err := m.Registry().Register(&Customer{}); err != nil {
		return err
	}
	if _, err := m.Migrate(ctx); err != nil {
		return err
	}

	// Writes go to the primary.
	c := Customer{Name: "Ada", Email: fmt.Sprintf("ada-%d@example.com", time.Now().UnixNano()), Active: true}
	if err := m.Conn(ctx, datalayer.ReadWrite).Create(&c).Error; err != nil {
		return err
	}

	// Model reads in Auto (what m.DB() uses) go to a fresh replica. This
	// context also sees its own writes (read-your-writes).
	rctx := datalayer.WithReadYourWrites(ctx)
	if err := m.Conn(rctx, datalayer.ReadWrite).Model(&c).Update("name", "Ada L.").Error; err != nil {
		return err
	}
	var active []Customer
	if err := m.Conn(rctx, datalayer.Auto).Where("active = ?", true).Find(&active).Error; err != nil {
		return err
	}

	// ReadOnly refuses writes before they reach the server.
	err = m.Conn(ctx, datalayer.ReadOnly).Delete(&c).Error
	if !errors.Is(err, datalayer.ErrReadOnly) {
		return fmt.Errorf("a write in ReadOnly mode: want ErrReadOnly, got %v", err)
	}

	// A transaction on the primary's Transactional pool. fn is re-run after a
	// serialization failure or deadlock, so keep it free of outside effects.
	err = m.Transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Model(&c).Update("active", false).Error; err != nil {
			return err // rolls back
		}
		return tx.Create(&Customer{Name: "Grace", Email: fmt.Sprintf("grace-%d@example.com", time.Now().UnixNano())}).Error
	})
	if err != nil {
		return err
	}

	report, err := m.HealthCheck(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("%d active customers read; cluster %s, primary %s\n", len(active), report.Status, report.Primary)
	return nil
}
