package repos_test

import (
	"context"
	"errors"
	"fmt"
	"log"
	"sync/atomic"

	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/testenv"
	"github.com/prompt-improver/unifieddb/models"
	"github.com/prompt-improver/unifieddb/promptimprover"
	"github.com/prompt-improver/unifieddb/repos"
)

func Example() {
	ctx := context.Background()
	cfg := exampleConfig() // an application: datalayer.LoadConfig("config/database.yaml")
	// prompt-improver's Manager: its models registered, its SQL migrations handed.
	m, err := promptimprover.Open(ctx, cfg)
	if err != nil {
		log.Fatal(err)
	}
	defer m.Close()
	if err := m.Registry().AutoMigrate(m.Conn(ctx, datalayer.Transactional)); err != nil {
		log.Fatal(err)
	}

	users := promptimprover.NewUserRepository(m.DB())
	prompts := promptimprover.NewPromptRepository(m.DB())

	ada := models.User{Name: "Ada", Email: "ada@example.com", Active: true}
	if err := users.Create(ctx, &ada); err != nil {
		log.Fatal(err)
	}
	err = users.Create(ctx, &models.User{Name: "Ada again", Email: "ada@example.com"})
	fmt.Println(errors.Is(err, repos.ErrDuplicate))

	got, err := users.Get(ctx, ada.ID)
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(got.Name)

	// A unit of work across two repositories: both writes or neither.
	err = m.Transaction(ctx, func(tx *gorm.DB) error {
		if err := users.WithTx(tx).Deactivate(ctx, ada.ID); err != nil {
			return err
		}
		return prompts.WithTx(tx).Create(ctx, &models.Prompt{UserID: ada.ID, Title: "Hello", Body: "Make this better."})
	})
	if err != nil {
		log.Fatal(err)
	}

	// Bulk load (COPY on the Batch pool), then page by key.
	more := make([]models.User, 250)
	for i := range more {
		more[i] = models.User{Name: fmt.Sprint("user ", i), Email: fmt.Sprintf("user%d@example.com", i), Active: true}
	}
	if err := users.CreateMany(ctx, more); err != nil {
		log.Fatal(err)
	}
	pages, active := 0, 0
	page := repos.Page{Limit: 100}
	for {
		batch, err := users.ListActive(ctx, page)
		if err != nil {
			log.Fatal(err)
		}
		pages++
		active += len(batch)
		if len(batch) < page.Limit {
			break
		}
		page.AfterID = batch[len(batch)-1].ID
	}
	n, err := prompts.Count(ctx, repos.Eq("UserID", ada.ID))
	if err != nil {
		log.Fatal(err)
	}
	fmt.Println(active, "active users in", pages, "pages;", n, "prompt")

	_, err = users.FindByEmail(ctx, "nobody@example.com")
	fmt.Println(errors.Is(err, repos.ErrNotFound))
	// Output:
	// true
	// Ada
	// 250 active users in 3 pages; 1 prompt
	// true
}

var exampleDBs atomic.Int64

// exampleConfig starts the package's local cluster if needed and returns a
// configuration for a new, empty database on it.
func exampleConfig() datalayer.Config {
	c, err := startCluster()
	if err != nil {
		log.Fatal(err)
	}
	name := fmt.Sprintf("example_%d", exampleDBs.Add(1))
	if err := c.Nodes()[0].Exec(context.Background(), "CREATE DATABASE "+name); err != nil {
		log.Fatal(err)
	}
	cfg := testenv.Config(c)
	cfg.Database = name
	return cfg
}
