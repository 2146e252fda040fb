package datalayer_test

import (
	"context"
	"errors"
	"log"
	"os"

	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/models"
)

func ExampleNew() {
	ctx := context.Background()
	cfg, err := datalayer.LoadConfig("config/database.yaml")
	if err != nil {
		log.Fatal(err) // a *ConfigError names every bad key, never the password
	}
	m, err := datalayer.New(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	var users []models.User
	if err := m.DB().WithContext(ctx).Where("active").Find(&users).Error; err != nil {
		log.Fatal(err)
	}
}

func ExampleManager_Conn() {
	ctx := context.Background()
	m, err := datalayer.New(ctx, datalayer.DefaultConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	// A handle to keep: every statement runs on a replica, none accumulates
	// the conditions of another.
	ro := m.Conn(ctx, datalayer.ReadOnly)
	var n int64
	_ = ro.Model(&models.User{}).Count(&n).Error
	var u models.User
	err = ro.Where("email = ?", "a@example.com").First(&u).Error
	if errors.Is(err, gorm.ErrRecordNotFound) {
		log.Print("no such user")
	}
}

func ExampleManager_Transaction() {
	ctx := context.Background()
	m, err := datalayer.New(ctx, datalayer.DefaultConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	// Re-run on a serialization failure, a deadlock, or when the primary it
	// began on stopped taking writes: fn must be safe to run again.
	err = m.Transaction(ctx, func(tx *gorm.DB) error {
		if err := tx.Create(&models.User{Name: "a", Email: "a@example.com"}).Error; err != nil {
			return err
		}
		return tx.Model(&models.User{}).Where("email = ?", "a@example.com").Update("active", true).Error
	})
	if errors.Is(err, datalayer.ErrOutcomeUnknown) {
		log.Print("the commit may or may not have happened: check before retrying")
	}
}

func ExampleWithReadYourWrites() {
	ctx := context.Background()
	m, err := datalayer.New(ctx, datalayer.DefaultConfig())
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()

	// One request: its reads see its writes, and never go back in time.
	rctx := datalayer.WithReadYourWrites(ctx)
	u := models.User{Name: "b", Email: "b@example.com"}
	if err := m.DB().WithContext(rctx).Create(&u).Error; err != nil {
		log.Fatal(err)
	}
	var again models.User
	_ = m.DB().WithContext(rctx).First(&again, u.ID).Error // a replica that has it, or the primary
}

// Customer is an application's own model.
type Customer struct {
	ID   uint
	Name string
}

func ExampleManager_Migrate() {
	ctx := context.Background()
	// The application's SQL migrations (NNNNN_name.sql), here from a
	// directory; an embed.FS works too (fs.Sub it to the directory). Without
	// them Migrate runs AutoMigrate only.
	m, err := datalayer.New(ctx, datalayer.DefaultConfig(), datalayer.WithMigrations(os.DirFS("db/migrations")))
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	if err := m.Registry().Register(&Customer{}); err != nil {
		log.Fatal(err)
	}

	// The registered models (only those), then the SQL migrations, under an
	// advisory lock; returns once the replicas in rotation replayed them.
	applied, err := m.Migrate(ctx)
	if err != nil {
		log.Fatal(err)
	}
	for _, r := range applied {
		log.Print(r)
	}
}
