package tests

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/registry"
)

// xjTicket (default cluster) belongs to an mcEvent (events cluster, by its
// table); its column mc_events is named like that table. xjNote (events, by
// registry.Place) belongs to an mcAudit (events).
type xjTicket struct {
	ID       uint
	EventID  uint
	Event    mcEvent
	McEvents int
}

type xjNote struct {
	ID      uint
	AuditID uint
	Audit   mcAudit
}

// A join or a subquery that needs both clusters is refused before it is
// sent, typed, naming both clusters and the tables; one within a cluster
// runs there, and a column named like the other cluster's table is no
// table.
func TestClustersRefuseJoinsAcrossClusters(t *testing.T) {
	cfg, _, defDB, evDB := twoClusters(t, 1, "mc_events")
	require.NoError(t, defDB.AutoMigrate(&mcUser{}))
	require.NoError(t, defDB.Exec("CREATE TABLE xj_tickets (id bigserial PRIMARY KEY, event_id bigint, mc_events bigint)").Error)
	require.NoError(t, evDB.AutoMigrate(&mcEvent{}, &mcAudit{}, &xjNote{}))

	reg := registry.New()
	require.NoError(t, reg.Place("events", &mcAudit{}, &xjNote{}))
	m := openManager(t, cfg, datalayer.WithRegistry(reg))
	ctx := testCtx(t)
	db := m.DB().WithContext(ctx)
	rw := m.Conn(ctx, datalayer.ReadWrite) // reads its writes without waiting for replicas

	ev := mcEvent{Kind: "login"}
	require.NoError(t, db.Create(&ev).Error)
	audit := mcAudit{What: "a"}
	require.NoError(t, db.Create(&audit).Error)
	require.NoError(t, db.Create(&xjNote{AuditID: audit.ID}).Error)
	require.NoError(t, db.Create(&xjTicket{EventID: ev.ID, McEvents: 1}).Error)

	// A statement that names only a table goes where the model placed
	// with that table goes (registry.Place), not to the default cluster.
	var byTable int64
	require.NoError(t, rw.Table("mc_audits").Count(&byTable).Error)
	assert.EqualValues(t, 1, byTable)

	refused := func(err error, op string, tables ...string) {
		t.Helper()
		require.ErrorIs(t, err, datalayer.ErrCrossCluster)
		var cce *datalayer.CrossClusterError
		require.ErrorAs(t, err, &cce)
		assert.Equal(t, []string{"default", "events"}, cce.Clusters)
		assert.Equal(t, tables, cce.Tables)
		assert.Equal(t, op, cce.Op)
	}
	var tickets []xjTicket
	var n int64

	// Joins: an association, a join string, raw SQL.
	refused(rw.Joins("Event").Find(&tickets).Error, "join", "xj_tickets", "mc_events")
	refused(rw.InnerJoins("Event").Find(&tickets).Error, "join", "xj_tickets", "mc_events")
	refused(rw.Joins("JOIN mc_audits a ON a.id = xj_tickets.event_id").Find(&tickets).Error, "join", "xj_tickets", "mc_audits")
	refused(rw.Raw("SELECT count(*) FROM xj_tickets t JOIN mc_events e ON e.id = t.event_id").Scan(&n).Error, "join", "xj_tickets", "mc_events")
	refused(rw.Exec("DELETE FROM mc_audits").Error, "raw SQL", "mc_audits")

	// Subqueries: WHERE ... IN (?), db.Table("(?) AS t"), raw SQL's.
	evIDs := db.Model(&mcEvent{}).Select("id")
	refused(rw.Where("event_id IN (?)", evIDs).Find(&tickets).Error, "subquery", "xj_tickets", "mc_events")
	refused(rw.Table("(?) AS t", evIDs).Count(&n).Error, "subquery", "t", "mc_events")
	refused(rw.Raw("SELECT count(*) FROM xj_tickets WHERE event_id IN (SELECT id FROM mc_events)").Scan(&n).Error, "subquery", "xj_tickets", "mc_events")

	// In a transaction too: the transaction's cluster is the statement's.
	err := rw.Transaction(func(tx *gorm.DB) error {
		if err := tx.Create(&xjTicket{EventID: ev.ID}).Error; err != nil {
			return err
		}
		return tx.Joins("Event").Find(&tickets).Error
	})
	refused(err, "join", "xj_tickets", "mc_events")
	require.NoError(t, defDB.Table("xj_tickets").Count(&n).Error)
	assert.EqualValues(t, 1, n, "the transaction rolled back")

	// Within one cluster: a join and a subquery of the events cluster run
	// there (routed by the statement's model), in a transaction too.
	var notes []xjNote
	require.NoError(t, rw.Joins("Audit").Find(&notes).Error)
	require.Len(t, notes, 1)
	assert.Equal(t, "a", notes[0].Audit.What, "joined on events")
	var audits []mcAudit
	require.NoError(t, rw.Where("id IN (?)", db.Model(&xjNote{}).Select("audit_id")).Find(&audits).Error)
	assert.Len(t, audits, 1)
	require.NoError(t, rw.Clauses(datalayer.OnCluster("events")).Raw("SELECT count(*) FROM mc_events e JOIN mc_audits a ON true WHERE e.id IN (SELECT id FROM mc_events)").Scan(&n).Error)
	assert.EqualValues(t, 1, n)
	require.NoError(t, rw.Clauses(datalayer.OnCluster("events")).Transaction(func(tx *gorm.DB) error {
		return tx.Joins("Audit").Find(&notes).Error
	}))
	require.NoError(t, rw.Where("id IN (?)", db.Model(&mcUser{}).Select("id")).Find(&[]mcUser{}).Error, "default's own subquery")

	// A column named like the events cluster's table is a column.
	require.NoError(t, rw.Where("mc_events > ?", 0).Find(&tickets).Error)
	assert.Len(t, tickets, 1)
	require.NoError(t, rw.Raw("SELECT mc_events FROM xj_tickets WHERE mc_events IS DISTINCT FROM 0").Scan(&n).Error)
	assert.EqualValues(t, 1, n)
	require.NoError(t, rw.Model(&xjTicket{}).Select("sum(mc_events)").Scan(&n).Error)
	assert.EqualValues(t, 1, n)
}
