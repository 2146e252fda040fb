// Package dbresolverapp is a small application written against
// gorm.io/plugin/dbresolver: users on the default database, events on a
// second one (the "events" resolver), and queries that pick a side with
// dbresolver.Read, dbresolver.Write and dbresolver.Use("events").
//
// Only its set-up differs between the two builds: setup_dbresolver.go
// (build tag dbresolver) registers the resolvers with db.Use(dbresolver.
// Register(...)); setup_manager.go (the default) opens a unifieddb Manager
// on a configuration with `clusters: events: tables: [events]`. This file
// and the tests are the same for both. It is a module of its own, run by
// the main module's TestDBResolverAppModule (tests/dbresolverapp_module_test.go).
package dbresolverapp

import (
	"context"
	"errors"
	"fmt"
	"time"

	"gorm.io/gorm"
	"gorm.io/plugin/dbresolver"
)

// EventsResolver is the name of the events database's resolver (dbresolver)
// or cluster (unifieddb).
const EventsResolver = "events"

// ErrNotConfigured is returned by Open when the environment does not say
// where the databases are (the tests then skip).
var ErrNotConfigured = errors.New("dbresolverapp: databases not configured")

// User lives on the default database.
type User struct {
	ID        uint
	Name      string `gorm:"not null"`
	Email     string `gorm:"not null;uniqueIndex"`
	Active    bool   `gorm:"not null;default:true"`
	CreatedAt time.Time
}

// Event lives on the events database. UserID refers to a user of the other
// database: no foreign key can say so.
type Event struct {
	ID        uint
	UserID    uint   `gorm:"not null;index"`
	Kind      string `gorm:"not null"`
	CreatedAt time.Time
}

// App is the application: its queries on one *gorm.DB, whatever serves it.
type App struct {
	db *gorm.DB
}

// New is the application on db, as Open returns it.
func New(db *gorm.DB) *App { return &App{db: db} }

// Migrate creates each table on its own database: users on the default one,
// events on the events one.
func (a *App) Migrate(ctx context.Context) error {
	if err := a.db.WithContext(ctx).AutoMigrate(&User{}); err != nil {
		return fmt.Errorf("migrating users: %w", err)
	}
	if err := a.db.WithContext(ctx).Clauses(dbresolver.Use(EventsResolver), dbresolver.Write).AutoMigrate(&Event{}); err != nil {
		return fmt.Errorf("migrating events: %w", err)
	}
	return nil
}

// CreateUser inserts a user.
func (a *App) CreateUser(ctx context.Context, name, email string) (User, error) {
	u := User{Name: name, Email: email, Active: true}
	err := a.db.WithContext(ctx).Create(&u).Error
	return u, err
}

// UserByEmail reads a user from the primary: right after CreateUser, a
// replica may not have it yet.
func (a *App) UserByEmail(ctx context.Context, email string) (User, error) {
	var u User
	err := a.db.WithContext(ctx).Clauses(dbresolver.Write).Where("email = ?", email).Take(&u).Error
	return u, err
}

// CountActiveUsers counts the active users of an email domain on a
// replica: a report that may lag a little.
func (a *App) CountActiveUsers(ctx context.Context, domain string) (int64, error) {
	var n int64
	err := a.db.WithContext(ctx).Clauses(dbresolver.Read).Model(&User{}).
		Where("active AND email LIKE ?", "%@"+domain).Count(&n).Error
	return n, err
}

// Deactivate marks a user inactive.
func (a *App) Deactivate(ctx context.Context, id uint) error {
	return a.db.WithContext(ctx).Model(&User{}).Where("id = ?", id).Update("active", false).Error
}

// RecordEvent inserts one event; the model alone sends it to the events
// database.
func (a *App) RecordEvent(ctx context.Context, userID uint, kind string) (Event, error) {
	e := Event{UserID: userID, Kind: kind}
	err := a.db.WithContext(ctx).Create(&e).Error
	return e, err
}

// RecordEvents inserts several events in one transaction of the events
// database: all or none.
func (a *App) RecordEvents(ctx context.Context, userID uint, kinds ...string) error {
	return a.db.WithContext(ctx).Clauses(dbresolver.Use(EventsResolver), dbresolver.Write).Transaction(func(tx *gorm.DB) error {
		for _, kind := range kinds {
			if kind == "" {
				return errors.New("dbresolverapp: an event needs a kind")
			}
			if err := tx.Create(&Event{UserID: userID, Kind: kind}).Error; err != nil {
				return err
			}
		}
		return nil
	})
}

// EventsOf reads a user's events from the events primary, oldest first.
func (a *App) EventsOf(ctx context.Context, userID uint) ([]Event, error) {
	var events []Event
	err := a.db.WithContext(ctx).Clauses(dbresolver.Write).Where("user_id = ?", userID).Order("id").Find(&events).Error
	return events, err
}

// KindCount is one row of CountByKind.
type KindCount struct {
	Kind  string
	Count int64
}

// CountByKind is a raw-SQL report on an events replica: raw SQL names no
// model, so dbresolver.Use says which database.
func (a *App) CountByKind(ctx context.Context) ([]KindCount, error) {
	var out []KindCount
	err := a.db.WithContext(ctx).Clauses(dbresolver.Use(EventsResolver), dbresolver.Read).
		Raw("SELECT kind, count(*) AS count FROM events GROUP BY kind ORDER BY kind").Scan(&out).Error
	return out, err
}

// PurgeEventsOf deletes a user's events with raw SQL on the events primary.
func (a *App) PurgeEventsOf(ctx context.Context, userID uint) (int64, error) {
	res := a.db.WithContext(ctx).Clauses(dbresolver.Use(EventsResolver)).Exec("DELETE FROM events WHERE user_id = ?", userID)
	return res.RowsAffected, res.Error
}

// HasTable says whether table exists on the default database (resolver "")
// or on the named one, asked of its primary.
func (a *App) HasTable(ctx context.Context, resolver, table string) (bool, error) {
	db := a.db.WithContext(ctx).Clauses(dbresolver.Write)
	if resolver != "" {
		db = db.Clauses(dbresolver.Use(resolver))
	}
	var exists bool
	err := db.Raw("SELECT to_regclass(?) IS NOT NULL", "public."+table).Scan(&exists).Error
	return exists, err
}
