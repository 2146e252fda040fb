package outsider_test

import (
	"context"
	"os"
	"testing"
	"time"

	"outsider.example/outsider"

	"github.com/prompt-improver/unifieddb/datalayer"
)

// ConfigEnv names the configuration file (YAML, a fresh database) the main
// module's TestOutsiderModule hands this test.
const ConfigEnv = "UNIFIEDDB_OUTSIDER_CONFIG"

func TestMigrateCreatesOnlyTheApplicationsSchema(t *testing.T) {
	path := os.Getenv(ConfigEnv)
	if path == "" {
		t.Skip(ConfigEnv + " is not set: run by the main module's TestOutsiderModule (tests/outsider_test.go)")
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cfg, err := datalayer.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	m, err := datalayer.New(ctx, cfg, datalayer.WithMigrations(outsider.Migrations()))
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := m.Registry().Register(&outsider.Shop{}, &outsider.Item{}); err != nil {
		t.Fatal(err)
	}

	res, err := m.Migrate(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var applied []string
	for _, r := range res {
		applied = append(applied, r.Source)
	}
	equal(t, "applied", applied, []string{"00001_items_sku.sql", "00002_seed.sql"})

	db := m.Conn(ctx, datalayer.ReadWrite)
	var tables, exts, indexes []string
	must(t, db.Raw(`SELECT tablename FROM pg_tables WHERE schemaname = 'public' ORDER BY 1`).Scan(&tables).Error)
	equal(t, "tables", tables, []string{"goose_db_version", "outsider_items", "outsider_shops"})
	must(t, db.Raw(`SELECT extname FROM pg_extension WHERE extname <> 'plpgsql' ORDER BY 1`).Scan(&exts).Error)
	equal(t, "extensions", exts, nil)
	must(t, db.Raw(`SELECT indexname FROM pg_indexes WHERE schemaname = 'public' AND indexname LIKE 'idx_%' ORDER BY 1`).Scan(&indexes).Error)
	equal(t, "indexes", indexes, []string{"idx_outsider_items_shop_id", "idx_outsider_items_sku"})

	// The has-many works, and so does the outsider's partial unique index.
	var shop outsider.Shop
	must(t, db.Where("name = ?", "seeded").Take(&shop).Error)
	shop.Items = []outsider.Item{{SKU: "a"}, {SKU: "b"}}
	must(t, db.Save(&shop).Error)
	var got outsider.Shop
	must(t, db.Preload("Items").First(&got, shop.ID).Error)
	if len(got.Items) != 2 {
		t.Fatalf("items: got %d, want 2", len(got.Items))
	}
	if err := db.Create(&outsider.Item{ShopID: shop.ID, SKU: "a"}).Error; err == nil {
		t.Fatal("a second live item with SKU a was accepted: the outsider's migration did not run")
	}

	// A second Migrate changes nothing.
	res, err = m.Migrate(ctx)
	must(t, err)
	if len(res) != 0 {
		t.Fatalf("second Migrate applied %v", res)
	}
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func equal(t *testing.T, what string, got, want []string) {
	t.Helper()
	if len(got) != len(want) {
		t.Fatalf("%s: got %q, want %q", what, got, want)
	}
	for i := range got {
		if got[i] != want[i] {
			t.Fatalf("%s: got %q, want %q", what, got, want)
		}
	}
}
