package tests

import (
	"context"
	"errors"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/repos"
)

// gxOwner has many pets at a field index that a pet does not have: GORM
// registers the back-reference "_gxOwner_Pets" in the pet's relations, with
// the owner's field.
type gxOwner struct {
	ID     uint
	Name   string
	Email  string
	Age    int
	Active bool
	Note   string
	Pets   []gxPet `gorm:"foreignKey:OwnerID"`
}

type gxPet struct {
	ID      uint
	OwnerID uint
	Toys    []gxToy `gorm:"foreignKey:PetID"`
}

type gxToy struct {
	ID    uint
	PetID uint
	Name  string
}

func ownersAndPets(db *gorm.DB) (any, error) {
	var owners []gxOwner
	err := db.Order("id").Preload("Pets", func(db *gorm.DB) *gorm.DB { return db.Order("id") }).
		Preload("Pets.Toys", func(db *gorm.DB) *gorm.DB { return db.Order("id") }).Find(&owners).Error
	return owners, err
}

func migrateOwners(db *gorm.DB) error {
	if err := db.AutoMigrate(&gxOwner{}, &gxPet{}, &gxToy{}); err != nil {
		return err
	}
	return db.Create(&gxOwner{Name: "ann", Pets: []gxPet{{Toys: []gxToy{{Name: "ball"}}}}}).Error
}

// Item 1: nested association writes never panic and do what GORM does.
func TestGormExactNestedAssociationWrites(t *testing.T) {
	cases := map[string]func(db *gorm.DB) error{
		"create nested": func(db *gorm.DB) error {
			return db.Create(&gxOwner{Name: "bob", Pets: []gxPet{{Toys: []gxToy{{Name: "a"}, {Name: "b"}}}, {}}}).Error
		},
		"create a pet alone": func(db *gorm.DB) error { return db.Create(&gxPet{OwnerID: 1}).Error },
		"create pets with toys": func(db *gorm.DB) error {
			return db.Create(&[]gxPet{{OwnerID: 1, Toys: []gxToy{{Name: "c"}}}, {OwnerID: 1}}).Error
		},
		"save a pet with a new toy": func(db *gorm.DB) error {
			return db.Save(&gxPet{ID: 1, OwnerID: 1, Toys: []gxToy{{Name: "new"}}}).Error
		},
		"first or create a pet": func(db *gorm.DB) error {
			var p gxPet
			return db.Where(gxPet{OwnerID: 1}).FirstOrCreate(&p).Error
		},
		"updates a pet": func(db *gorm.DB) error {
			return db.Model(&gxPet{ID: 1}).Updates(map[string]any{"owner_id": 1}).Error
		},
		"association append": func(db *gorm.DB) error {
			return db.Model(&gxOwner{ID: 1}).Association("Pets").Append(&gxPet{Toys: []gxToy{{Name: "d"}}})
		},
		"association replace": func(db *gorm.DB) error {
			return db.Model(&gxPet{ID: 1}).Association("Toys").Replace(&gxToy{Name: "e"})
		},
		"delete a toy": func(db *gorm.DB) error { return db.Delete(&gxToy{ID: 1}).Error },
		"delete a pet with its toys": func(db *gorm.DB) error {
			return db.Select("Toys").Delete(&gxPet{ID: 1}).Error
		},
		"delete with clause.Associations": func(db *gorm.DB) error {
			return db.Select(clause.Associations).Delete(&gxOwner{ID: 1}).Error
		},
		"joins": func(db *gorm.DB) error {
			var pets []gxPet
			return db.Joins("JOIN gx_owners ON gx_owners.id = gx_pets.owner_id").Find(&pets).Error
		},
	}
	for name, op := range cases {
		t.Run(name, func(t *testing.T) {
			sameAsGORM(t, gormCase{setup: migrateOwners, op: op, rows: ownersAndPets})
		})
	}
}

type gxParent struct {
	ID       uint
	Name     string
	Children []gxChild `gorm:"foreignKey:ParentID"`
}

type gxChild struct {
	ID       uint
	ParentID uint
	Name     string
}

// gxRef keeps its parent from being deleted (a foreign key).
type gxRef struct {
	ID       uint
	ParentID uint
	Parent   gxParent
}

// Item 2: an operation GORM makes atomic stays atomic.
func TestGormExactDeleteWithSelectedAssociationIsAtomic(t *testing.T) {
	setup := func(db *gorm.DB) error {
		if err := db.AutoMigrate(&gxParent{}, &gxChild{}, &gxRef{}); err != nil {
			return err
		}
		p := gxParent{Name: "p", Children: []gxChild{{Name: "a"}, {Name: "b"}}}
		if err := db.Create(&p).Error; err != nil {
			return err
		}
		return db.Create(&gxRef{ParentID: p.ID}).Error
	}
	counts := func(db *gorm.DB) (any, error) {
		var parents, children []string
		err := errors.Join(db.Model(&gxParent{}).Order("id").Pluck("name", &parents).Error,
			db.Model(&gxChild{}).Order("id").Pluck("name", &children).Error)
		return [2][]string{parents, children}, err
	}
	for name, op := range map[string]func(db *gorm.DB) error{
		"select children": func(db *gorm.DB) error { return db.Select("Children").Delete(&gxParent{ID: 1}).Error },
		"select associations": func(db *gorm.DB) error {
			return db.Select(clause.Associations).Delete(&gxParent{ID: 1}).Error
		},
		"save whose child fails": func(db *gorm.DB) error {
			// The parent's UPDATE runs, then the child's INSERT fails (name
			// too long for the check below): GORM rolls the UPDATE back.
			if err := db.Exec("ALTER TABLE gx_children ADD CONSTRAINT short_name CHECK (length(name) < 5)").Error; err != nil {
				return err
			}
			return db.Save(&gxParent{ID: 1, Name: "q", Children: []gxChild{{Name: "much too long"}}}).Error
		},
	} {
		t.Run(name, func(t *testing.T) {
			sameAsGORM(t, gormCase{setup: setup, op: op, rows: counts})
		})
	}
}

// gxItem is a plain model for the Create tests.
type gxItem struct {
	ID   uint
	Name string
}

// Item 5: Auto does not turn Create into CreateInBatches.
func TestGormExactCreateIsNotBatched(t *testing.T) {
	items := func(db *gorm.DB) (any, error) {
		var names []string
		err := db.Model(&gxItem{}).Order("id").Pluck("name", &names).Error
		return names, err
	}
	migrate := func(db *gorm.DB) error { return db.AutoMigrate(&gxItem{}) }
	for name, op := range map[string]func(db *gorm.DB) error{
		"empty slice": func(db *gorm.DB) error {
			err := db.Create(&[]gxItem{}).Error
			if !errors.Is(err, gorm.ErrEmptySlice) {
				return errors.New("not ErrEmptySlice")
			}
			return err
		},
		"map slice": func(db *gorm.DB) error {
			return db.Model(&gxItem{}).Create([]map[string]any{{"name": "a"}, {"name": "b"}}).Error
		},
		"array": func(db *gorm.DB) error { return db.Create(&[2]gxItem{{Name: "a"}, {Name: "b"}}).Error },
		"statement SQL": func(db *gorm.DB) error {
			tx := db.Create(&[]gxItem{{Name: "a"}})
			if tx.Error == nil && tx.Statement.SQL.Len() == 0 {
				return errors.New("empty Statement.SQL")
			}
			return tx.Error
		},
	} {
		t.Run(name, func(t *testing.T) {
			sameAsGORM(t, gormCase{setup: migrate, op: op, rows: items})
		})
	}
}

// Save runs GORM's update then, when no row matched, GORM's insert: two
// callback chains, each in its own default transaction in plain GORM too.
func TestGormExactSave(t *testing.T) {
	items := func(db *gorm.DB) (any, error) {
		var got []gxItem
		err := db.Order("id").Find(&got).Error
		return got, err
	}
	setup := func(db *gorm.DB) error {
		return errors.Join(db.AutoMigrate(&gxItem{}), db.Create(&gxItem{Name: "a"}).Error)
	}
	for name, op := range map[string]func(db *gorm.DB) error{
		"existing row":       func(db *gorm.DB) error { return db.Save(&gxItem{ID: 1, Name: "b"}).Error },
		"missing row":        func(db *gorm.DB) error { return db.Save(&gxItem{ID: 7, Name: "c"}).Error },
		"new row":            func(db *gorm.DB) error { return db.Save(&gxItem{Name: "d"}).Error },
		"rows, one existing": func(db *gorm.DB) error { return db.Save(&[]gxItem{{ID: 1, Name: "e"}, {ID: 9, Name: "f"}}).Error },
	} {
		t.Run(name, func(t *testing.T) {
			sameAsGORM(t, gormCase{setup: setup, op: op, rows: items})
		})
	}
}

// gxHooked has a create hook, so repos.CreateMany inserts it with INSERTs
// (no COPY).
type gxHooked struct {
	ID   uint
	Name string
}

func (*gxHooked) BeforeCreate(*gorm.DB) error { return nil }

// batch_size still reaches the bulk path (repos.CreateMany), and a Batch
// handle's Create is GORM's Create.
func TestGormExactBatchSizeReachesCreateMany(t *testing.T) {
	ctx := testCtx(t)
	m := managerOn(t, freshDatabase(t), func(c *datalayer.Config) { c.BatchSize = 2 })
	require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).AutoMigrate(&gxHooked{}))
	var inserts atomic.Int64
	require.NoError(t, m.DB().Callback().Create().After("gorm:create").Register("gx:count", func(db *gorm.DB) {
		if db.Error == nil && db.Statement.Schema != nil && db.Statement.Schema.Table == "gx_hookeds" {
			inserts.Add(1)
		}
	}))
	t.Cleanup(func() { _ = m.DB().Callback().Create().Remove("gx:count") })

	require.NoError(t, repos.New[gxHooked](m.DB()).CreateMany(ctx, []gxHooked{{Name: "a"}, {Name: "b"}, {Name: "c"}}))
	assert.EqualValues(t, 2, inserts.Swap(0), "3 rows in INSERTs of batch_size 2")

	require.NoError(t, m.Conn(ctx, datalayer.Batch).Create(&[]gxHooked{{Name: "d"}, {Name: "e"}, {Name: "f"}}).Error)
	assert.EqualValues(t, 1, inserts.Swap(0), "Create in Batch mode: one INSERT, as GORM")
	err := m.Conn(ctx, datalayer.Batch).Create(&[]gxHooked{}).Error
	assert.ErrorIs(t, err, gorm.ErrEmptySlice)
}

// gxHome's kids are read from a view that says which server answered.
type gxHome struct {
	ID       uint
	Name     string
	Kids     []gxKid `gorm:"foreignKey:GxHomeID"`
	HookPort int     `gorm:"-"`
}

// AfterFind reads in a hook: GORM runs it in a new session.
func (h *gxHome) AfterFind(tx *gorm.DB) error { return scanPort(tx, &h.HookPort) }

type gxKid struct {
	ID       uint
	GxHomeID uint
	Name     string
	Port     int
}

func (gxKid) TableName() string { return "gx_kid_ports" }

type gxNote struct {
	ID       uint
	Name     string
	HookPort int `gorm:"-"`
}

func (n *gxNote) AfterCreate(tx *gorm.DB) error { return scanPort(tx, &n.HookPort) }

// scanPort is a model read (no raw SQL) of the port of the server that
// answers it.
func scanPort(db *gorm.DB, port *int) error {
	return db.Table("gx_kid_ports").Select("port").Limit(1).Scan(port).Error
}

// gxSchema creates the gx_ tables (and runs more, when given) on m's
// primary and waits for the replicas; it returns the primary's port and the
// replicas'.
func gxSchema(t *testing.T, ctx context.Context, m *datalayer.Manager, more ...string) (primary int, replicas map[int]bool) {
	t.Helper()
	rw := m.Conn(ctx, datalayer.ReadWrite).Session(&gorm.Session{})
	for _, q := range append([]string{
		"CREATE TABLE gx_homes (id bigserial PRIMARY KEY, name text)",
		"CREATE TABLE gx_kid_rows (id bigserial PRIMARY KEY, gx_home_id bigint, name text)",
		"CREATE VIEW gx_kid_ports AS SELECT *, inet_server_port() AS port FROM gx_kid_rows",
		"CREATE TABLE gx_notes (id bigserial PRIMARY KEY, name text)",
		"INSERT INTO gx_homes (name) VALUES ('h')",
		"INSERT INTO gx_kid_rows (gx_home_id, name) VALUES (1, 'a'), (1, 'b')",
	}, more...) {
		require.NoError(t, rw.Exec(q).Error, q)
	}
	waitReplicated(t, shared, shared.Nodes()[0])
	nodes := shared.Nodes()
	return nodes[0].Port(), map[int]bool{nodes[1].Port(): true, nodes[2].Port(): true}
}

// Item 3: every statement GORM runs for a call follows the call's mode.
func TestGormExactModeReachesSubStatements(t *testing.T) {
	ctx := testCtx(t)
	m := managerOn(t, freshDatabase(t), nil)
	primary, replicas := gxSchema(t, ctx, m)

	for _, mode := range []datalayer.Mode{datalayer.Auto, datalayer.ReadOnly, datalayer.ReadWrite, datalayer.Batch, datalayer.Transactional} {
		t.Run(mode.String(), func(t *testing.T) {
			onPrimary := mode != datalayer.Auto && mode != datalayer.ReadOnly
			where := func(what string, port int) {
				t.Helper()
				if onPrimary {
					assert.Equal(t, primary, port, "%s in %s", what, mode)
				} else {
					assert.True(t, replicas[port], "%s in %s served by %d, not a replica", what, mode, port)
				}
			}
			db := func() *gorm.DB { return m.Conn(ctx, mode).Session(&gorm.Session{}) }

			var home gxHome
			require.NoError(t, db().Preload("Kids").First(&home).Error)
			require.Len(t, home.Kids, 2)
			where("preload", home.Kids[0].Port)
			where("AfterFind read", home.HookPort)

			var kids []gxKid
			require.NoError(t, db().Model(&gxHome{ID: home.ID}).Association("Kids").Find(&kids))
			require.NotEmpty(t, kids)
			where("association find", kids[0].Port)

			var homes []gxHome
			var inner int
			require.NoError(t, db().FindInBatches(&homes, 10, func(tx *gorm.DB, _ int) error {
				return scanPort(tx, &inner)
			}).Error)
			where("FindInBatches callback read", inner)

			if mode == datalayer.ReadOnly {
				return
			}
			note := gxNote{Name: "n"}
			require.NoError(t, db().Session(&gorm.Session{SkipDefaultTransaction: true}).Create(&note).Error)
			if mode == datalayer.Auto {
				// An Auto read inside an Auto write's hook may use a replica.
				return
			}
			where("AfterCreate read", note.HookPort)
		})
	}
}

// Item 4: FirstOrCreate and FirstOrInit read where their write goes.
func TestGormExactFirstOrCreateReadsThePrimary(t *testing.T) {
	ctx := testCtx(t)
	m := managerOn(t, freshDatabase(t), func(c *datalayer.Config) { c.MaxReplicationLag = 0 })
	require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).AutoMigrate(&gxItem{}))
	waitReplicated(t, shared, shared.Nodes()[0])
	// The replicas stop replaying: they stay in rotation but never see
	// what is written from now on.
	for _, n := range shared.Nodes()[1:] {
		require.NoError(t, n.PauseReplay(ctx))
		t.Cleanup(func() {
			rctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
			defer cancel()
			assert.NoError(t, n.ResumeReplay(rctx), "resuming %s", n.Name())
		})
	}

	for range 2 {
		var it gxItem
		require.NoError(t, m.DB().WithContext(ctx).Where(gxItem{Name: "fo"}).FirstOrCreate(&it).Error)
		assert.NotZero(t, it.ID)
	}
	var n int64
	require.NoError(t, m.Conn(ctx, datalayer.ReadWrite).Model(&gxItem{}).Where("name = ?", "fo").Count(&n).Error)
	assert.EqualValues(t, 1, n, "FirstOrCreate twice creates one row")

	var found gxItem
	require.NoError(t, m.DB().WithContext(ctx).Where(gxItem{Name: "fo"}).FirstOrInit(&found).Error)
	assert.NotZero(t, found.ID, "FirstOrInit finds the row the primary has")

	// First stays an Auto read: the paused replica does not have the row.
	var first gxItem
	assert.ErrorIs(t, m.DB().WithContext(ctx).Where(gxItem{Name: "fo"}).First(&first).Error, gorm.ErrRecordNotFound)
}
