package plugin

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/driver/postgres"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/logger"

	"github.com/prompt-improver/unifieddb/registry"
)

// Models of the cross-cluster reference tests: xrUser and xrOrder are on
// the default cluster (unplaced), xrEvent and xrAudit placed on events,
// table xr_logs on events by Options.Tables.
type xrUser struct {
	ID   uint
	Name string
}

type xrEvent struct {
	ID     uint
	UserID uint
	User   xrUser
}

type xrAudit struct {
	ID      uint
	EventID uint
	Event   xrEvent
}

type xrOrder struct {
	ID      uint
	EventID uint
	Event   xrEvent
}

// crossRefsDB is a dry-run GORM (nothing connects, nothing is sent) whose
// statements are placed and checked as the routing callback does, on a
// plugin with a default and an events cluster and no server.
func crossRefsDB(t *testing.T) *gorm.DB {
	t.Helper()
	reg := registry.New()
	require.NoError(t, reg.Place("events", &xrEvent{}, &xrAudit{}))
	p := &Plugin{opts: Options{Placer: reg, Tables: map[string]string{"xr_logs": "events"}}}
	p.site.name = DefaultCluster
	p.sites = map[string]*site{DefaultCluster: &p.site, "events": {name: "events", named: true}}
	p.placeTables()

	db, err := gorm.Open(postgres.New(postgres.Config{DSN: "host=127.0.0.1 port=1"}),
		&gorm.Config{DryRun: true, DisableAutomaticPing: true, Logger: logger.Discard})
	require.NoError(t, err)
	check := func(db *gorm.DB) {
		if _, err := p.statementSite(db.Statement); err != nil {
			db.AddError(err)
		}
	}
	cb := db.Callback()
	require.NoError(t, cb.Query().Before("*").Register("test:refs", check))
	require.NoError(t, cb.Row().Before("*").Register("test:refs", check))
	require.NoError(t, cb.Raw().Before("*").Register("test:refs", check))
	require.NoError(t, cb.Update().Before("*").Register("test:refs", check))
	require.NoError(t, cb.Delete().Before("*").Register("test:refs", check))
	return db
}

// refused asserts err is a *CrossClusterError naming default and events,
// the tables and the op.
func refused(t *testing.T, err error, op string, tables ...string) {
	t.Helper()
	require.ErrorIs(t, err, ErrCrossCluster)
	var cce *CrossClusterError
	require.ErrorAs(t, err, &cce)
	assert.Equal(t, []string{DefaultCluster, "events"}, cce.Clusters)
	assert.Equal(t, tables, cce.Tables)
	assert.Equal(t, op, cce.Op)
}

// notRefused: a raw query in a dry run fails, but not for its tables.
func notRefused(t *testing.T, err error) {
	t.Helper()
	assert.NotErrorIs(t, err, ErrCrossCluster)
}

func TestCrossRefsJoins(t *testing.T) {
	db := crossRefsDB(t)
	var orders []xrOrder
	refused(t, db.Joins("Event").Find(&orders).Error, opJoin, "xr_orders", "xr_events")
	refused(t, db.InnerJoins("Event").Find(&orders).Error, opJoin, "xr_orders", "xr_events")
	// From events: the event's user is on default.
	var audits []xrAudit
	assert.NoError(t, db.Joins("Event").Find(&audits).Error, "both on events")
	err := db.Joins("Event.User").Find(&audits).Error
	require.ErrorAs(t, err, new(*CrossClusterError))
	assert.Equal(t, []string{"events", DefaultCluster}, err.(*CrossClusterError).Clusters, "the statement's cluster first")
	assert.Equal(t, []string{"xr_audits", "xr_users"}, err.(*CrossClusterError).Tables)

	// Raw join strings: tables placed by model or by Options.Tables.
	var users []xrUser
	refused(t, db.Joins("JOIN xr_events e ON e.user_id = xr_users.id").Find(&users).Error, opJoin, "xr_users", "xr_events")
	refused(t, db.Joins(`LEFT JOIN "public"."xr_logs" l ON l.id = ?`, 1).Find(&users).Error, opJoin, "xr_users", "public.xr_logs")
	assert.NoError(t, db.Joins("JOIN xr_whatever w ON w.id = xr_users.id").Find(&users).Error, "placed nowhere")
	assert.NoError(t, db.Clauses(OnCluster("events")).Joins("JOIN xr_logs l ON true").Find(&[]xrEvent{}).Error)
	refused(t, db.Clauses(clause.From{Tables: []clause.Table{{Name: "xr_users"}, {Name: "xr_logs"}}}).Find(&users).Error, opJoin, "xr_users", "xr_logs")
	refused(t, db.Table("xr_users u, xr_events e").Find(&users).Error, opJoin, "xr_users", "xr_events")
}

func TestCrossRefsSubqueries(t *testing.T) {
	db := crossRefsDB(t)
	var users []xrUser
	events := db.Model(&xrEvent{}).Select("user_id")
	refused(t, db.Where("id IN (?)", events).Find(&users).Error, opSubquery, "xr_users", "xr_events")
	refused(t, db.Where(map[string]any{"id": events}).Find(&users).Error, opSubquery, "xr_users", "xr_events")
	refused(t, db.Where("name = ?", "a").Or(clause.IN{Column: "id", Values: []any{events}}).Find(&users).Error, opSubquery, "xr_users", "xr_events")
	refused(t, db.Select("id, (?) AS n", events).Find(&users).Error, opSubquery, "xr_users", "xr_events")
	refused(t, db.Model(&xrUser{}).Group("name").Having("count(*) > (?)", events).Find(&[]map[string]any{}).Error, opSubquery, "xr_users", "xr_events")
	refused(t, db.Table("(?) AS t", events).Find(&[]map[string]any{}).Error, opSubquery, "t", "xr_events")
	refused(t, db.Where("id IN (?)", db.Table("xr_logs").Select("id")).Find(&users).Error, opSubquery, "xr_users", "xr_logs")
	refused(t, db.Where("id IN (?)", db.Clauses(OnCluster("events")).Table("anything").Select("id")).Find(&users).Error, opSubquery, "xr_users", "anything")
	refused(t, db.Where("id IN (SELECT user_id FROM xr_events)").Find(&users).Error, opSubquery, "xr_users", "xr_events")
	refused(t, db.Where("id IN (?)", db.Raw("SELECT user_id FROM xr_events")).Find(&users).Error, opSubquery, "xr_users", "xr_events")
	refused(t, db.Model(&xrUser{}).Where("id = 1").Update("name", db.Model(&xrEvent{}).Select("max(id)")).Error, opSubquery, "xr_users", "xr_events")
	refused(t, db.Where("id IN (?)", events).Delete(&xrUser{}).Error, opSubquery, "xr_users", "xr_events")
	// A subquery of a subquery.
	refused(t, db.Where("id IN (?)", db.Model(&xrUser{}).Where("id IN (?)", events).Select("id")).Find(&users).Error, opSubquery, "xr_users", "xr_events")

	// From events: an unplaced model is the default cluster's.
	err := db.Where("user_id IN (?)", db.Model(&xrUser{}).Select("id")).Find(&[]xrEvent{}).Error
	require.ErrorIs(t, err, ErrCrossCluster)

	// Same cluster, and the default cluster's own subqueries.
	assert.NoError(t, db.Where("event_id IN (?)", events).Find(&[]xrAudit{}).Error)
	assert.NoError(t, db.Where("id IN (?)", db.Model(&xrOrder{}).Select("id")).Find(&users).Error)
	assert.NoError(t, db.Where("id IN (?)", db.Table("xr_whatever").Select("id")).Find(&users).Error)
}

func TestCrossRefsRawSQL(t *testing.T) {
	db := crossRefsDB(t)
	var n int64
	refused(t, db.Raw("SELECT count(*) FROM xr_users u JOIN xr_events e ON e.user_id = u.id").Scan(&n).Error, opJoin, "xr_users", "xr_events")
	refused(t, db.Raw("SELECT count(*) FROM xr_users WHERE id IN (SELECT user_id FROM xr_logs)").Scan(&n).Error, opSubquery, "xr_users", "xr_logs")
	// Raw SQL whose own table is on another cluster: it needs OnCluster.
	refused(t, db.Exec("DELETE FROM xr_events WHERE id = ?", 1).Error, opRaw, "xr_events")
	_, err := db.Raw("SELECT count(*) FROM xr_events, xr_users").Rows()
	refused(t, err, opRaw, "xr_events")

	// A column, a string or a comment named like a table is not one.
	notRefused(t, db.Raw("SELECT xr_events, 'FROM xr_events' FROM xr_users -- JOIN xr_logs").Scan(&n).Error)
	notRefused(t, db.Raw("SELECT extract(epoch FROM xr_events) FROM xr_users WHERE a IS DISTINCT FROM xr_logs").Scan(&n).Error)
	assert.NoError(t, db.Where("xr_events = ? AND xr_logs IS NOT NULL", 1).Find(&[]xrUser{}).Error)
	// Placed nowhere, or where the statement runs.
	notRefused(t, db.Raw("SELECT count(*) FROM xr_users JOIN xr_whatever ON true").Scan(&n).Error)
	notRefused(t, db.Clauses(OnCluster("events")).Raw("SELECT count(*) FROM xr_events JOIN xr_logs ON true JOIN xr_whatever ON true").Scan(&n).Error)
	notRefused(t, db.Raw("SELECT count(*) FROM information_schema.columns, pg_catalog.pg_class").Scan(&n).Error)
	// Only FROM and JOIN are scanned: INSERT INTO is left to the server.
	assert.NoError(t, db.Exec("INSERT INTO xr_events (user_id) VALUES (1)").Error)
}

// A statement that names no other table costs the check no allocation.
func TestCrossRefsPlainStatementAllocatesNothing(t *testing.T) {
	db := crossRefsDB(t)
	p := &Plugin{}
	p.site.name = DefaultCluster
	p.sites = map[string]*site{DefaultCluster: &p.site}
	p.placeTables()
	stmt := db.Model(&xrUser{}).Where("name = ? AND id IN ?", "a", []int{1, 2}).Order("id").Limit(3).Statement
	raw := db.Raw("SELECT u.id FROM xr_users u JOIN xr_orders o ON o.id = u.id WHERE u.name = $1", "a").Statement
	assert.Zero(t, testing.AllocsPerRun(100, func() {
		_ = p.crossRefs(stmt, &p.site)
		_ = p.crossRefs(raw, &p.site)
	}))
}
