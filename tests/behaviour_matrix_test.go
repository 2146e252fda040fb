package tests

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"slices"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
)

// The behaviour matrix runs the same GORM operations in every mode and
// checks, for each, both what GORM returned and which node served every
// statement GORM ran for the call (preloads, hooks, batches and savepoints
// included). The node comes from the Manager's echo: one "unifieddb: sql"
// record per statement, with the node's host:port.

// bmOwner, bmPet and bmNote are the matrix's own tables (bm_owners, bm_pets,
// bm_notes), created for each mode and dropped after it.
type bmOwner struct {
	ID   uint
	Name string
	Age  int
	Pets []bmPet `gorm:"foreignKey:OwnerID"`
}

type bmPet struct {
	ID      uint
	OwnerID uint
	Name    string
}

// bmNote reads its owner's age in AfterFind: a read GORM runs inside a hook,
// which must follow the call's mode.
type bmNote struct {
	ID        uint
	OwnerName string
	OwnerAge  int `gorm:"-"`
}

func (n *bmNote) AfterFind(tx *gorm.DB) error {
	return tx.Session(&gorm.Session{NewDB: true}).Model(&bmOwner{}).
		Where("name = ?", n.OwnerName).Select("age").Scan(&n.OwnerAge).Error
}

// served is where a case's statements must run in one mode.
type served int

const (
	onPrimary served = iota // every statement on the primary
	onReplica               // every statement on a replica
	refused                 // fails with ErrReadOnly before any statement runs
	noneRun                 // succeeds without running a statement (dry run)
	// readThenRefused runs reads on a replica (a read is allowed in
	// ReadOnly), then fails with ErrReadOnly: FirstOrCreate of a missing
	// row, whose write never runs.
	readThenRefused
	// perStatement: the case's seq gives each statement's node in turn
	// (onPrimary or onReplica), for a call that mixes reads and writes.
	perStatement
	// knownDefect skips the cell: the case's defect field names the plugin
	// defect that makes the plugin differ from plain GORM there.
	knownDefect
)

func (s served) String() string {
	return [...]string{"primary", "replica", "refused", "none", "read then refused", "per statement", "known defect"}[s]
}

// bmModes is the order of a case's where: Auto, ReadOnly, ReadWrite, Batch,
// Transactional.
var bmModes = []datalayer.Mode{datalayer.Auto, datalayer.ReadOnly, datalayer.ReadWrite, datalayer.Batch, datalayer.Transactional}

var (
	bmWrite   = [5]served{onPrimary, refused, onPrimary, onPrimary, onPrimary}
	bmRead    = [5]served{onReplica, onReplica, onPrimary, onPrimary, onPrimary}
	bmRawRead = [5]served{onPrimary, onReplica, onPrimary, onPrimary, onPrimary}
	bmDry     = [5]served{noneRun, noneRun, noneRun, noneRun, noneRun}
)

type bmCase struct {
	name string
	// setup writes the rows the case needs, in ReadWrite, before recording.
	setup func(db *gorm.DB) error
	// op is the operation under test; it returns what it read.
	op   func(db *gorm.DB) (any, error)
	want any
	// after, when set, is an integer query run on the primary outside the
	// plugin after op: wantAfter when op ran, unchanged when it was refused.
	after     string
	wantAfter int64
	where     [5]served
	// stmts is how many statements GORM runs for the call, sub-statements
	// included, when it runs: none may escape the echo, nor the mode.
	stmts int
	// seq is each statement's node, in order, in a perStatement cell.
	seq [5][]served
	// defect names the plugin defect behind a knownDefect cell.
	defect string
	// echoGap, when set, names why the echo does not show the call's
	// statements; op then returns a bmServed with the port of the server
	// that answered, checked instead.
	echoGap string
}

// bmServed is what an op returns when the echo cannot show where it ran.
type bmServed struct {
	port   int
	result any
}

// bmOwners creates owners named name with the given ages and ids from id.
func bmOwners(name string, id uint, ages ...int) func(db *gorm.DB) error {
	return func(db *gorm.DB) error {
		rows := make([]bmOwner, len(ages))
		for i, a := range ages {
			rows[i] = bmOwner{ID: id + uint(i), Name: name, Age: a}
		}
		return db.Create(&rows).Error
	}
}

var errInner = errors.New("roll back the inner transaction")

func bmCases() []bmCase {
	return []bmCase{
		{
			name:  "create struct",
			stmts: 1,
			op: func(db *gorm.DB) (any, error) {
				return nil, db.Create(&bmOwner{Name: "create-struct", Age: 1}).Error
			},
			after: "SELECT count(*) FROM bm_owners WHERE name = 'create-struct'", wantAfter: 1,
			where: bmWrite,
		},
		{
			name:  "create slice",
			stmts: 1,
			op: func(db *gorm.DB) (any, error) {
				return nil, db.Create(&[]bmOwner{{Name: "create-slice", Age: 1}, {Name: "create-slice", Age: 2}}).Error
			},
			after: "SELECT count(*) FROM bm_owners WHERE name = 'create-slice'", wantAfter: 2,
			where: bmWrite,
		},
		{
			name:  "save",
			stmts: 1,
			setup: bmOwners("save", 1001, 1),
			op: func(db *gorm.DB) (any, error) {
				return nil, db.Save(&bmOwner{ID: 1001, Name: "save", Age: 2}).Error
			},
			after: "SELECT age FROM bm_owners WHERE id = 1001", wantAfter: 2,
			where: bmWrite,
		},
		{
			name:  "update",
			stmts: 1,
			setup: bmOwners("update", 1002, 1),
			op: func(db *gorm.DB) (any, error) {
				return nil, db.Model(&bmOwner{ID: 1002}).Update("age", 5).Error
			},
			after: "SELECT age FROM bm_owners WHERE id = 1002", wantAfter: 5,
			where: bmWrite,
		},
		{
			name:  "updates",
			stmts: 1,
			setup: bmOwners("updates", 1003, 1),
			op: func(db *gorm.DB) (any, error) {
				return nil, db.Model(&bmOwner{ID: 1003}).Updates(bmOwner{Name: "updates", Age: 6}).Error
			},
			after: "SELECT age FROM bm_owners WHERE id = 1003", wantAfter: 6,
			where: bmWrite,
		},
		{
			name:  "delete",
			stmts: 1,
			setup: bmOwners("delete", 1004, 1),
			op: func(db *gorm.DB) (any, error) {
				return nil, db.Delete(&bmOwner{}, 1004).Error
			},
			after: "SELECT count(*) FROM bm_owners WHERE id = 1004", wantAfter: 0,
			where: bmWrite,
		},
		{
			name:  "upsert",
			setup: bmOwners("upsert", 1016, 1),
			stmts: 1,
			op: func(db *gorm.DB) (any, error) {
				return nil, db.Clauses(clause.OnConflict{UpdateAll: true}).Create(&bmOwner{ID: 1016, Name: "upsert", Age: 2}).Error
			},
			after: "SELECT age FROM bm_owners WHERE id = 1016", wantAfter: 2,
			where: bmWrite,
		},
		{
			// SELECT ... FOR UPDATE takes row locks: a replica cannot run it.
			// In ReadOnly the plugin sends it to a replica, whose read-only
			// session refuses it (25006, given as ErrReadOnly): refused by the
			// server, not before reaching it as other writes are.
			name:  "locking read",
			setup: bmOwners("locking", 1017, 17),
			stmts: 1,
			op: func(db *gorm.DB) (any, error) {
				var o bmOwner
				err := db.Clauses(clause.Locking{Strength: "UPDATE"}).First(&o, 1017).Error
				return o.Age, err
			},
			want:  17,
			where: [5]served{onPrimary, readThenRefused, onPrimary, onPrimary, onPrimary},
		},
		{
			name:  "create with has-many",
			stmts: 2,
			op: func(db *gorm.DB) (any, error) {
				return nil, db.Create(&bmOwner{Name: "assoc", Pets: []bmPet{{Name: "a"}, {Name: "b"}}}).Error
			},
			after:     "SELECT count(*) FROM bm_pets p JOIN bm_owners o ON o.id = p.owner_id WHERE o.name = 'assoc'",
			wantAfter: 2,
			where:     bmWrite,
		},
		{
			name: "association append",
			setup: func(db *gorm.DB) error {
				return db.Create(&bmOwner{ID: 1018, Name: "append"}).Error
			},
			stmts: 1,
			op: func(db *gorm.DB) (any, error) {
				return nil, db.Model(&bmOwner{ID: 1018}).Association("Pets").Append(&bmPet{Name: "appended"})
			},
			after: "SELECT count(*) FROM bm_pets WHERE owner_id = 1018", wantAfter: 1,
			where: bmWrite,
		},
		{
			name: "delete with its has-many",
			setup: func(db *gorm.DB) error {
				return db.Create(&bmOwner{ID: 1019, Name: "delete-assoc", Pets: []bmPet{{Name: "d1"}, {Name: "d2"}}}).Error
			},
			stmts: 2,
			op: func(db *gorm.DB) (any, error) {
				return nil, db.Select("Pets").Delete(&bmOwner{ID: 1019}).Error
			},
			after: "SELECT (SELECT count(*) FROM bm_pets WHERE owner_id = 1019) + (SELECT count(*) FROM bm_owners WHERE id = 1019)", wantAfter: 0,
			where: bmWrite,
		},
		{
			name:  "preload has-many",
			stmts: 2,
			setup: func(db *gorm.DB) error {
				return db.Create(&bmOwner{ID: 1005, Name: "preload", Pets: []bmPet{{Name: "x"}, {Name: "y"}}}).Error
			},
			op: func(db *gorm.DB) (any, error) {
				var o bmOwner
				err := db.Preload("Pets", func(db *gorm.DB) *gorm.DB { return db.Order("name") }).First(&o, 1005).Error
				names := []string{o.Name}
				for _, p := range o.Pets {
					names = append(names, p.Name)
				}
				return names, err
			},
			want:  []string{"preload", "x", "y"},
			where: bmRead,
		},
		{
			name:  "hook reads another row",
			stmts: 2,
			setup: func(db *gorm.DB) error {
				if err := bmOwners("hook-owner", 1006, 42)(db); err != nil {
					return err
				}
				return db.Create(&bmNote{ID: 1006, OwnerName: "hook-owner"}).Error
			},
			op: func(db *gorm.DB) (any, error) {
				var n bmNote
				err := db.First(&n, 1006).Error
				return n.OwnerAge, err
			},
			want:  42,
			where: bmRead,
		},
		{
			name:  "joins",
			stmts: 1,
			setup: func(db *gorm.DB) error {
				return db.Create(&bmOwner{ID: 1007, Name: "joins", Pets: []bmPet{{Name: "j2"}, {Name: "j1"}}}).Error
			},
			op: func(db *gorm.DB) (any, error) {
				var names []string
				err := db.Table("bm_pets").Select("bm_pets.name").
					Joins("JOIN bm_owners o ON o.id = bm_pets.owner_id").
					Where("o.name = ?", "joins").Order("bm_pets.name").Scan(&names).Error
				return names, err
			},
			want:  []string{"j1", "j2"},
			where: bmRead,
		},
		{
			name:  "find in batches",
			stmts: 3,
			setup: bmOwners("batches", 1100, 1, 2, 3, 4, 5),
			op: func(db *gorm.DB) (any, error) {
				var sum, batches int
				var rows []bmOwner
				err := db.Where("name = ?", "batches").FindInBatches(&rows, 2, func(tx *gorm.DB, _ int) error {
					batches++
					for _, r := range rows {
						sum += r.Age
					}
					return nil
				}).Error
				return []int{batches, sum}, err
			},
			want:  []int{3, 15},
			where: bmRead,
		},
		{
			name:  "first or create",
			stmts: 2,
			op: func(db *gorm.DB) (any, error) {
				var o bmOwner
				err := db.Where(bmOwner{Name: "foc"}).Attrs(bmOwner{Age: 7}).FirstOrCreate(&o).Error
				return o.Age, err
			},
			want:  7,
			after: "SELECT count(*) FROM bm_owners WHERE name = 'foc'", wantAfter: 1,
			// Its read goes where its write goes: the primary in Auto.
			where: [5]served{onPrimary, readThenRefused, onPrimary, onPrimary, onPrimary},
		},
		{
			name:  "row",
			stmts: 1,
			setup: bmOwners("row", 1008, 8),
			op: func(db *gorm.DB) (any, error) {
				var age int
				err := db.Model(&bmOwner{}).Where("id = ?", 1008).Select("age").Row().Scan(&age)
				return age, err
			},
			want:  8,
			where: bmRead,
		},
		{
			name:  "rows",
			stmts: 1,
			setup: bmOwners("rows", 1200, 3, 1, 2),
			op: func(db *gorm.DB) (any, error) {
				rows, err := db.Model(&bmOwner{}).Where("name = ?", "rows").Select("age").Order("age").Rows()
				if err != nil {
					return nil, err
				}
				defer rows.Close()
				var ages []int
				for rows.Next() {
					var a int
					if err := rows.Scan(&a); err != nil {
						return nil, err
					}
					ages = append(ages, a)
				}
				return ages, rows.Err()
			},
			want:  []int{1, 2, 3},
			where: bmRead,
		},
		{
			name:  "scan",
			stmts: 1,
			setup: bmOwners("scan", 1009, 9),
			op: func(db *gorm.DB) (any, error) {
				var r struct {
					Name string
					Age  int
				}
				err := db.Model(&bmOwner{}).Select("name, age").Where("id = ?", 1009).Scan(&r).Error
				return fmt.Sprint(r.Name, r.Age), err
			},
			want:  "scan9",
			where: bmRead,
		},
		{
			name:  "pluck",
			stmts: 1,
			setup: bmOwners("pluck", 1300, 2, 1),
			op: func(db *gorm.DB) (any, error) {
				var ages []int
				err := db.Model(&bmOwner{}).Where("name = ?", "pluck").Order("age").Pluck("age", &ages).Error
				return ages, err
			},
			want:  []int{1, 2},
			where: bmRead,
		},
		{
			name:  "count",
			stmts: 1,
			setup: bmOwners("count", 1400, 1, 1, 1),
			op: func(db *gorm.DB) (any, error) {
				var n int64
				err := db.Model(&bmOwner{}).Where("name = ?", "count").Count(&n).Error
				return n, err
			},
			want:  int64(3),
			where: bmRead,
		},
		{
			name:  "raw",
			stmts: 1,
			setup: bmOwners("raw", 1010, 10),
			op: func(db *gorm.DB) (any, error) {
				var age int
				err := db.Raw("SELECT age FROM bm_owners WHERE id = ?", 1010).Scan(&age).Error
				return age, err
			},
			want:  10,
			where: bmRawRead,
		},
		{
			name:  "exec",
			stmts: 1,
			setup: bmOwners("exec", 1011, 11),
			op: func(db *gorm.DB) (any, error) {
				return nil, db.Exec("UPDATE bm_owners SET age = age + 1 WHERE id = ?", 1011).Error
			},
			after: "SELECT age FROM bm_owners WHERE id = 1011", wantAfter: 12,
			where: bmWrite,
		},
		{
			name:  "transaction",
			stmts: 2,
			op: func(db *gorm.DB) (any, error) {
				var n int64
				err := db.Transaction(func(tx *gorm.DB) error {
					if err := tx.Create(&bmOwner{Name: "tx", Age: 1}).Error; err != nil {
						return err
					}
					return tx.Model(&bmOwner{}).Where("name = ?", "tx").Count(&n).Error
				})
				return n, err
			},
			want:  int64(1),
			after: "SELECT count(*) FROM bm_owners WHERE name = 'tx'", wantAfter: 1,
			where: bmWrite,
		},
		{
			name:  "nested transaction",
			stmts: 4,
			op: func(db *gorm.DB) (any, error) {
				err := db.Transaction(func(tx *gorm.DB) error {
					if err := tx.Create(&bmOwner{Name: "nested-outer"}).Error; err != nil {
						return err
					}
					if err := tx.Transaction(func(tx *gorm.DB) error {
						if err := tx.Create(&bmOwner{Name: "nested-inner"}).Error; err != nil {
							return err
						}
						return errInner
					}); !errors.Is(err, errInner) {
						return fmt.Errorf("inner transaction: %w", err)
					}
					return nil
				})
				return nil, err
			},
			after: "SELECT count(*) FROM bm_owners WHERE name LIKE 'nested-%'", wantAfter: 1,
			where: bmWrite,
		},
		{
			// A savepoint is not a write: a read-only nested transaction runs
			// on a replica in ReadOnly.
			name:  "read-only nested transaction",
			stmts: 3,
			setup: bmOwners("ro-nested", 1012, 12),
			op: func(db *gorm.DB) (any, error) {
				var age int
				var n int64
				err := db.Transaction(func(tx *gorm.DB) error {
					if err := tx.Model(&bmOwner{}).Where("id = ?", 1012).Select("age").Scan(&age).Error; err != nil {
						return err
					}
					return tx.Transaction(func(tx *gorm.DB) error {
						return tx.Model(&bmOwner{}).Where("name = ?", "ro-nested").Count(&n).Error
					})
				})
				return []int64{int64(age), n}, err
			},
			want:  []int64{12, 1},
			where: [5]served{onPrimary, onReplica, onPrimary, onPrimary, onPrimary},
		},
		{
			name:  "prepared statements read",
			stmts: 2,
			setup: bmOwners("prepared", 1013, 13),
			op: func(db *gorm.DB) (any, error) {
				p := db.Session(&gorm.Session{PrepareStmt: true})
				var a, b int
				if err := p.Model(&bmOwner{}).Where("id = ?", 1013).Select("age").Scan(&a).Error; err != nil {
					return nil, err
				}
				err := p.Model(&bmOwner{}).Where("id = ?", 1013).Select("age").Scan(&b).Error
				return []int{a, b}, err
			},
			want:  []int{13, 13},
			where: bmRead,
		},
		{
			name:  "prepared statements write",
			stmts: 1,
			op: func(db *gorm.DB) (any, error) {
				return nil, db.Session(&gorm.Session{PrepareStmt: true}).Create(&bmOwner{Name: "prepared-write"}).Error
			},
			after: "SELECT count(*) FROM bm_owners WHERE name = 'prepared-write'", wantAfter: 1,
			where: bmWrite,
		},
		{
			// A handle whose last statement was an Auto read on a replica
			// begins its next transaction on the primary.
			name:  "read then transaction on one handle",
			setup: bmOwners("read-then-tx", 1015, 15),
			op: func(db *gorm.DB) (any, error) {
				var age int
				if err := db.Model(&bmOwner{}).Where("id = ?", 1015).Select("age").Scan(&age).Error; err != nil {
					return nil, err
				}
				err := db.Transaction(func(tx *gorm.DB) error {
					return tx.Model(&bmOwner{ID: 1015}).Update("age", age+1).Error
				})
				return age, err
			},
			want:  15,
			after: "SELECT age FROM bm_owners WHERE id = 1015", wantAfter: 16,
			where: [5]served{perStatement, readThenRefused, onPrimary, onPrimary, onPrimary},
			stmts: 2,
			seq:   [5][]served{{onReplica, onPrimary}},
		},
		{
			// Each batch's transaction begins on the primary, in Auto too,
			// while the batches themselves are reads.
			name:  "find in batches writing in a transaction",
			setup: bmOwners("batches-tx", 1500, 1, 2, 3),
			op: func(db *gorm.DB) (any, error) {
				var rows []bmOwner
				err := db.Where("name = ?", "batches-tx").FindInBatches(&rows, 2, func(tx *gorm.DB, _ int) error {
					ids := make([]uint, len(rows))
					for i, r := range rows {
						ids[i] = r.ID
					}
					return tx.Transaction(func(tx *gorm.DB) error {
						return tx.Session(&gorm.Session{NewDB: true}).Model(&bmOwner{}).
							Where("id IN ?", ids).Update("age", gorm.Expr("age + 10")).Error
					})
				}).Error
				return nil, err
			},
			after: "SELECT sum(age) FROM bm_owners WHERE name = 'batches-tx'", wantAfter: 36,
			where: [5]served{perStatement, readThenRefused, onPrimary, onPrimary, onPrimary},
			stmts: 4,
			seq:   [5][]served{{onReplica, onPrimary, onReplica, onPrimary}},
		},
		{
			// Every statement inside stays on the pinned connection: the
			// same backend answers each.
			name:  "connection",
			setup: bmOwners("connection", 1014, 14),
			op: func(db *gorm.DB) (any, error) {
				var pid1, pid2, age, port int
				err := db.Connection(func(tx *gorm.DB) error {
					if err := tx.Raw("SELECT pg_backend_pid()").Scan(&pid1).Error; err != nil {
						return err
					}
					if err := tx.Model(&bmOwner{}).Where("id = ?", 1014).Select("age").Scan(&age).Error; err != nil {
						return err
					}
					if err := tx.Raw("SELECT inet_server_port()").Scan(&port).Error; err != nil {
						return err
					}
					return tx.Raw("SELECT pg_backend_pid()").Scan(&pid2).Error
				})
				return []bool{pid1 != 0 && pid1 == pid2, age == 14, port != 0}, err
			},
			want: []bool{true, true, true},
			// ReadOnly pins a replica's read-only connection.
			where: [5]served{onPrimary, onReplica, onPrimary, onPrimary, onPrimary},
			stmts: 4,
		},
		{
			name: "dry run create",
			op: func(db *gorm.DB) (any, error) {
				q := db.Session(&gorm.Session{DryRun: true}).Create(&bmOwner{Name: "dry"})
				return q.Statement.SQL.String(), q.Error
			},
			want:  `INSERT INTO "bm_owners" ("name","age") VALUES ($1,$2) RETURNING "id"`,
			after: "SELECT count(*) FROM bm_owners WHERE name = 'dry'", wantAfter: 0,
			// ReadOnly too: a dry run sends nothing, so nothing is refused.
			where: [5]served{noneRun, noneRun, noneRun, noneRun, noneRun},
		},
		{
			name: "dry run",
			op: func(db *gorm.DB) (any, error) {
				dry := db.Session(&gorm.Session{DryRun: true})
				var o []bmOwner
				q := dry.Where("name = ?", "dry").Find(&o)
				if q.Error != nil {
					return nil, q.Error
				}
				return q.Statement.SQL.String(), nil
			},
			want:  `SELECT * FROM "bm_owners" WHERE name = $1`,
			where: bmDry,
		},
	}
}

// sqlRecorder is a slog handler keeping every echoed statement.
type sqlRecorder struct {
	mu    sync.Mutex
	stmts []echoed
}

type echoed struct{ node, mode, sql string }

func (r *sqlRecorder) Enabled(context.Context, slog.Level) bool { return true }
func (r *sqlRecorder) WithAttrs([]slog.Attr) slog.Handler       { return r }
func (r *sqlRecorder) WithGroup(string) slog.Handler            { return r }

func (r *sqlRecorder) Handle(_ context.Context, rec slog.Record) error {
	if rec.Message != "unifieddb: sql" {
		return nil
	}
	var e echoed
	rec.Attrs(func(a slog.Attr) bool {
		switch a.Key {
		case "node":
			e.node = a.Value.String()
		case "mode":
			e.mode = a.Value.String()
		case "sql":
			e.sql = a.Value.String()
		}
		return true
	})
	r.mu.Lock()
	r.stmts = append(r.stmts, e)
	r.mu.Unlock()
	return nil
}

// take returns the statements recorded since the last take and forgets them.
func (r *sqlRecorder) take() []echoed {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := r.stmts
	r.stmts = nil
	return s
}

func TestBehaviourMatrix(t *testing.T) {
	// No testCtx here: its watchdog would bound the whole matrix.
	pctx, cancel := context.WithTimeout(context.Background(), stmtTimeout)
	primary, err := shared.Primary(pctx)
	cancel()
	require.NoError(t, err)
	var replicas []string
	for _, n := range shared.Nodes() {
		if n != primary {
			replicas = append(replicas, n.Addr())
		}
	}
	require.NotEmpty(t, replicas)

	for i, mode := range bmModes {
		t.Run(mode.String(), func(t *testing.T) {
			// Each mode has its own deadline: the whole matrix may outlast
			// one on a loaded machine.
			ctx := testCtx(t)
			rec := &sqlRecorder{}
			cfg := testenv.Config(shared)
			cfg.Echo = true
			m, err := datalayer.New(ctx, cfg, datalayer.WithLogger(slog.New(rec)))
			require.NoError(t, err)
			t.Cleanup(func() { m.Close() })
			require.NoError(t, m.Conn(ctx, datalayer.Transactional).AutoMigrate(&bmOwner{}, &bmPet{}, &bmNote{}))
			t.Cleanup(func() {
				ctx, cancel := context.WithTimeout(context.Background(), stmtTimeout)
				defer cancel()
				assert.NoError(t, primary.Exec(ctx, "DROP TABLE IF EXISTS bm_pets, bm_notes, bm_owners"))
			})
			for _, c := range bmCases() {
				t.Run(c.name, func(t *testing.T) {
					runBehaviourCase(t, ctx, m, rec, primary, replicas, mode, c, c.where[i])
				})
			}
		})
	}
}

func runBehaviourCase(t *testing.T, ctx context.Context, m *datalayer.Manager, rec *sqlRecorder,
	primary *pgcluster.Node, replicas []string, mode datalayer.Mode, c bmCase, where served) {
	if where == knownDefect {
		t.Skip(c.defect)
	}
	if c.setup != nil {
		require.NoError(t, c.setup(m.Conn(ctx, datalayer.ReadWrite)), "setup")
	}
	waitReplicated(t, shared, primary)
	var before int64
	if c.after != "" {
		require.NoError(t, stmt(t, ctx, "state before", func(ctx context.Context) (err error) {
			before, err = primary.QueryInt(ctx, c.after)
			return err
		}))
	}
	rec.take()

	var got any
	err := stmt(t, ctx, c.name, func(ctx context.Context) (err error) {
		got, err = c.op(m.Conn(ctx, mode))
		return err
	})
	stmts := rec.take()

	switch where {
	case refused:
		require.ErrorIs(t, err, datalayer.ErrReadOnly)
		assert.Empty(t, stmts, "a refused write runs no statement")
	case readThenRefused:
		require.ErrorIs(t, err, datalayer.ErrReadOnly)
		require.NotEmpty(t, stmts, "the read ran")
		for _, s := range stmts {
			assert.Contains(t, replicas, s.node, "%s ran on a replica", s.sql)
			assert.Regexp(t, `^SELECT `, s.sql, "only the read ran")
		}
	case noneRun:
		require.NoError(t, err)
		assert.Empty(t, stmts, "nothing runs")
	default:
		require.NoError(t, err)
		if c.echoGap != "" {
			sv, ok := got.(bmServed)
			require.True(t, ok, "op reports its server")
			got = sv.result
			addr := fmt.Sprintf("%s:%d", primary.Host(), sv.port)
			if where == onPrimary {
				assert.Equal(t, primary.Addr(), addr, "ran on the primary")
			} else {
				assert.Contains(t, replicas, addr, "ran on a replica")
			}
			t.Log(c.echoGap)
			break
		}
		each := func(int) served { return where }
		if where == perStatement {
			seq := c.seq[slices.Index(bmModes, mode)]
			require.Len(t, stmts, len(seq), "the statements GORM runs for the call")
			each = func(j int) served { return seq[j] }
		} else {
			require.Len(t, stmts, c.stmts, "the statements GORM runs for the call")
		}
		for j, s := range stmts {
			if each(j) == onPrimary {
				assert.Equal(t, primary.Addr(), s.node, "%s ran on the primary", s.sql)
			} else {
				assert.Contains(t, replicas, s.node, "%s ran on a replica", s.sql)
			}
			assert.Equal(t, mode.String(), s.mode, "%s ran in the call's mode", s.sql)
		}
	}
	if where != refused && where != readThenRefused && c.want != nil {
		assert.Equal(t, c.want, got)
	}
	if c.after != "" {
		var after int64
		require.NoError(t, stmt(t, ctx, "state after", func(ctx context.Context) (err error) {
			after, err = primary.QueryInt(ctx, c.after)
			return err
		}))
		want := c.wantAfter
		if where == refused || where == readThenRefused {
			want = before
		}
		assert.Equal(t, want, after, "state after the call")
	}
	if t.Failed() {
		t.Logf("expected in %s: %s", mode, where)
		for _, s := range stmts {
			t.Logf("ran on %s (%s): %s", s.node, s.mode, s.sql)
		}
	}
}
