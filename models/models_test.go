package models_test

import (
	"context"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/models"
	"github.com/prompt-improver/unifieddb/registry"
)

// Importing models registers nothing: the application opts in (promptimprover.Register).
func TestImportingModelsRegistersNothing(t *testing.T) {
	all := models.All()
	require.Len(t, all, 3)
	for _, m := range all {
		_, ok := registry.Default().Lookup(m)
		require.False(t, ok, "%T", m)
	}
	require.Empty(t, registry.Default().Models())
	// All returns new values each time.
	require.NotSame(t, models.All()[0], models.All()[0])
}

func TestAllRegisterInStrictMode(t *testing.T) {
	r := registry.New(registry.WithStrict(true))
	require.NoError(t, r.Register(models.All()...))
	require.Equal(t, []string{"users", "prompts", "improvement_sessions"}, r.Tables())
}

// migrated returns a database where the models were auto-migrated through a registry filled in
// reverse dependency order.
func migrated(t *testing.T) *gorm.DB {
	t.Helper()
	db := openGorm(t, freshDSN(t))
	r := registry.New(registry.WithStrict(true))
	require.NoError(t, r.Register(&models.ImprovementSession{}, &models.Prompt{}, &models.User{}))
	require.NoError(t, r.AutoMigrate(db))
	require.NoError(t, r.AutoMigrate(db), "AutoMigrate is idempotent")
	return db
}

func TestAutoMigrateCreatesTablesForeignKeysAndIndexes(t *testing.T) {
	db := migrated(t)
	for _, table := range []string{"users", "prompts", "improvement_sessions"} {
		require.True(t, db.Migrator().HasTable(table), table)
	}
	require.True(t, db.Migrator().HasIndex(&models.User{}, "idx_users_email"))

	type fk struct {
		Table, Column, RefTable, OnDelete string
	}
	var fks []fk
	require.NoError(t, db.Raw(`
		SELECT c.conrelid::regclass::text AS table, a.attname AS column,
		       c.confrelid::regclass::text AS ref_table, c.confdeltype::text AS on_delete
		FROM pg_constraint c
		JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY (c.conkey)
		WHERE c.contype = 'f'
		ORDER BY 1, 2`).Scan(&fks).Error)
	require.Equal(t, []fk{
		{Table: "improvement_sessions", Column: "prompt_id", RefTable: "prompts", OnDelete: "c"},
		{Table: "prompts", Column: "user_id", RefTable: "users", OnDelete: "c"},
	}, fks)

	var unique bool
	require.NoError(t, db.Raw(`SELECT indisunique FROM pg_index WHERE indexrelid = 'idx_users_email'::regclass`).Scan(&unique).Error)
	require.True(t, unique)

	var notNull []string
	require.NoError(t, db.Raw(`
		SELECT column_name FROM information_schema.columns
		WHERE table_name = 'users' AND is_nullable = 'NO' ORDER BY column_name`).Scan(&notNull).Error)
	require.Equal(t, []string{"active", "created_at", "email", "id", "name", "updated_at"}, notNull)
}

func TestCascadeDelete(t *testing.T) {
	db := migrated(t).WithContext(context.Background())
	u := models.User{Name: "Ada", Email: "ada@example.com", Active: true}
	require.NoError(t, db.Create(&u).Error)
	p := models.Prompt{UserID: u.ID, Title: "t", Body: "b"}
	require.NoError(t, db.Create(&p).Error)
	s := models.ImprovementSession{PromptID: p.ID, Status: "done", ImprovedText: "better", Score: 0.9}
	require.NoError(t, db.Create(&s).Error)

	var loaded models.ImprovementSession
	require.NoError(t, db.Preload("Prompt.User").First(&loaded, s.ID).Error)
	require.Equal(t, "ada@example.com", loaded.Prompt.User.Email)
	require.InDelta(t, 0.9, loaded.Score, 1e-9)

	require.NoError(t, db.Delete(&models.User{}, u.ID).Error)
	var n int64
	require.NoError(t, db.Model(&models.Prompt{}).Count(&n).Error)
	require.Zero(t, n, "prompts of a deleted user are deleted")
	require.NoError(t, db.Model(&models.ImprovementSession{}).Count(&n).Error)
	require.Zero(t, n, "sessions of a deleted prompt are deleted")
}

func TestForeignKeyIsEnforced(t *testing.T) {
	db := migrated(t)
	err := db.Create(&models.Prompt{UserID: 12345, Title: "t", Body: "b"}).Error
	require.Error(t, err)
	require.Contains(t, err.Error(), "23503", "foreign_key_violation")
}

func TestActiveFalseIsStored(t *testing.T) {
	db := migrated(t)
	off := models.User{Name: "Off", Email: "off@example.com", Active: false}
	on := models.User{Name: "On", Email: "on@example.com", Active: true}
	require.NoError(t, db.Create(&off).Error)
	require.NoError(t, db.Create(&on).Error)

	var gotOff, gotOn models.User
	require.NoError(t, db.First(&gotOff, off.ID).Error)
	require.False(t, gotOff.Active)
	require.NoError(t, db.First(&gotOn, on.ID).Error)
	require.True(t, gotOn.Active)
	require.False(t, gotOn.CreatedAt.IsZero())
}

func TestEmailIsUnique(t *testing.T) {
	db := migrated(t)
	require.NoError(t, db.Create(&models.User{Name: "A", Email: "same@example.com"}).Error)
	err := db.Create(&models.User{Name: "B", Email: "same@example.com"}).Error
	require.Error(t, err)
	require.Contains(t, err.Error(), "23505", "unique_violation")
}

// BrokenColumn has a column type PostgreSQL does not know.
type BrokenColumn struct {
	ID    uint
	Value string `gorm:"type:no_such_type"`
}

func TestAutoMigrateErrorNamesTheModel(t *testing.T) {
	db := openGorm(t, freshDSN(t))
	r := registry.New()
	require.NoError(t, r.Register(&models.User{}, &BrokenColumn{}))
	err := r.AutoMigrate(db)
	require.Error(t, err)
	require.Contains(t, err.Error(), "github.com/prompt-improver/unifieddb/models_test.BrokenColumn")
	require.Contains(t, err.Error(), "broken_columns")
	require.True(t, db.Migrator().HasTable("users"), "models before the failing one were migrated")

	require.Error(t, registry.New().AutoMigrate(nil))
}
