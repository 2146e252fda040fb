package plugin

import (
	"reflect"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// Models of the join-table tests: jtUser declares a many2many to jtLang;
// jtA and jtB both declare jt_ab.
type jtUser struct {
	ID    uint
	Langs []jtLang `gorm:"many2many:jt_user_langs"`
}

type jtLang struct{ ID uint }

type jtA struct {
	ID uint
	Bs []jtB `gorm:"many2many:jt_ab"`
}

type jtB struct {
	ID uint
	As []jtA `gorm:"many2many:jt_ab"`
}

// typePlacer places models by their Go type's name.
type typePlacer map[string]string

func (tp typePlacer) ClusterOf(model any) (string, bool) {
	name, ok := tp[reflect.TypeOf(model).Elem().Name()]
	return name, ok
}

// sitesPlugin is a Plugin with a default and an "events" site, no cluster
// behind them: enough for placement.
func sitesPlugin(placer Placer, tables map[string]string) *Plugin {
	p := &Plugin{opts: Options{Placer: placer, Tables: tables}}
	p.site.name = DefaultCluster
	p.sites = map[string]*site{DefaultCluster: &p.site, "events": {name: "events", named: true}}
	return p
}

func joinTable(t *testing.T, cache *sync.Map, model any) *schema.Schema {
	t.Helper()
	s, err := schema.Parse(model, cache, schema.NamingStrategy{})
	require.NoError(t, err)
	return s.Relationships.Many2Many[0].JoinTable
}

func clusterOfSchema(p *Plugin, s *schema.Schema) (string, error) {
	got, _, err := p.placement(&gorm.Statement{Schema: s, Table: s.Table, Clauses: map[string]clause.Clause{}})
	if err != nil {
		return "", err
	}
	return got.name, nil
}

// GORM's own join table goes where the model declaring the many2many is
// (where AutoMigrate creates it), not to the default cluster.
func TestJoinTableFollowsItsOwner(t *testing.T) {
	cache := &sync.Map{}
	jt := joinTable(t, cache, &jtUser{})
	require.True(t, isJoinTable(jt))
	users, err := schema.Parse(&jtUser{}, cache, schema.NamingStrategy{})
	require.NoError(t, err)
	assert.False(t, isJoinTable(users))
	assert.False(t, isJoinTable(nil))

	got, err := clusterOfSchema(sitesPlugin(typePlacer{"jtUser": "events"}, nil), jt)
	require.NoError(t, err)
	assert.Equal(t, "events", got, "with its owner")
	got, err = clusterOfSchema(sitesPlugin(typePlacer{"jtLang": "events"}, nil), jt)
	require.NoError(t, err)
	assert.Equal(t, DefaultCluster, got, "the other side does not declare it")
	got, err = clusterOfSchema(sitesPlugin(typePlacer{"jtUser": "events"}, map[string]string{"jt_user_langs": DefaultCluster}), jt)
	require.NoError(t, err)
	assert.Equal(t, DefaultCluster, got, "tables: first")
}

// Declared by the models of both sides, on two clusters: refused, typed,
// the same way each time; on one cluster, there.
func TestJoinTableDeclaredOnTwoClusters(t *testing.T) {
	cache := &sync.Map{}
	jt := joinTable(t, cache, &jtA{})
	_, err := schema.Parse(&jtB{}, cache, schema.NamingStrategy{})
	require.NoError(t, err)
	for range 3 {
		_, err := clusterOfSchema(sitesPlugin(typePlacer{"jtB": "events"}, nil), jt)
		var cce *CrossClusterError
		require.ErrorAs(t, err, &cce)
		assert.ErrorIs(t, err, ErrCrossCluster)
		assert.Equal(t, []string{DefaultCluster, "events"}, cce.Clusters)
		assert.Equal(t, []string{"jt_ab"}, cce.Tables)
		assert.Contains(t, cce.Op, "jtA and jtB")
	}
	got, err := clusterOfSchema(sitesPlugin(typePlacer{"jtA": "events", "jtB": "events"}, nil), jt)
	require.NoError(t, err)
	assert.Equal(t, "events", got)
	got, err = clusterOfSchema(sitesPlugin(typePlacer{"jtB": "events"}, map[string]string{"jt_ab": "events"}), jt)
	require.NoError(t, err)
	assert.Equal(t, "events", got, "tables: makes it clear")
}
