package tests

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/pgcluster"
	"github.com/prompt-improver/unifieddb/internal/testenv"
)

// dbresolverAppDir is a module of its own (tests/dbresolverapp/go.mod): an
// application written against gorm.io/plugin/dbresolver whose set-up is one
// file, setup_dbresolver.go (build tag dbresolver) or setup_manager.go (the
// default, a unifieddb Manager with `clusters: events:`).
const dbresolverAppDir = "dbresolverapp"

// managerWayReady turns on the Manager way of TestDBResolverAppModule. It
// needs the multi-cluster core (placement of the events table, the
// dbresolver clauses honoured): set it to true when that lands.
const managerWayReady = true

// TestDBResolverAppModule runs the dbresolver application's own tests two
// ways, on two local clusters (the shared one for users, one started here
// with a replica for events), each way on fresh databases: with dbresolver
// (go test -tags dbresolver), then with the Manager, nothing but the set-up
// file changed.
func TestDBResolverAppModule(t *testing.T) {
	// Generous: the first run compiles the library for the module.
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	events, err := pgcluster.Start(ctx, pgcluster.Options{Replicas: 1})
	require.NoError(t, err)
	defer events.Close()

	appTests := []string{"TestTablesAreOnTheirOwnDatabases", "TestUsers", "TestEvents"}
	for _, way := range []struct {
		name string
		tags []string
	}{
		{"dbresolver", []string{"-tags", "dbresolver"}},
		{"manager", nil},
	} {
		t.Run(way.name, func(t *testing.T) {
			if way.name == "manager" && !managerWayReady {
				t.Skip("the Manager way waits for the multi-cluster core (managerWayReady)")
			}
			def, ev := testenv.Config(shared), testenv.Config(events)
			def.Database, ev.Database = freshDatabaseOn(t, shared), freshDatabaseOn(t, events)
			env := append(dbresolverAppDSNs(def, ev), "DBRESOLVERAPP_CONFIG="+dbresolverAppConfig(t, def, ev))

			args := append([]string{"test", "-count=1", "-v"}, way.tags...)
			out, err := goInModule(ctx, dbresolverAppDir, env, append(args, ".")...)
			require.NoError(t, err, out)
			for _, name := range appTests {
				assert.Contains(t, out, "--- PASS: "+name+" ", "it ran, not skipped:\n%s", out)
			}
		})
	}
}

// dbresolverAppDSNs are the dbresolver set-up's variables: for each
// database, its primary's DSN and then its replicas', one a line.
func dbresolverAppDSNs(def, ev datalayer.Config) []string {
	dsns := func(c datalayer.Config) string {
		var lines []string
		for _, n := range c.Nodes() {
			lines = append(lines, "host="+n.Host+" port="+strconv.Itoa(n.Port)+" user="+c.Username+" password="+c.Password+
				" dbname="+c.Database+" sslmode=disable connect_timeout=5")
		}
		return strings.Join(lines, "\n")
	}
	return []string{"DBRESOLVERAPP_DEFAULT_DSNS=" + dsns(def), "DBRESOLVERAPP_EVENTS_DSNS=" + dsns(ev)}
}

// dbresolverAppConfig writes the Manager set-up's configuration: def's keys
// at the top level, ev as `clusters: events:` holding the events table.
func dbresolverAppConfig(t *testing.T, def, ev datalayer.Config) string {
	t.Helper()
	events := def.ClusterBase()
	events.Host, events.Port, events.ReplicaHosts = ev.Host, ev.Port, ev.ReplicaHosts
	events.Database, events.Username, events.Password = ev.Database, ev.Username, ev.Password
	events.Tables = []string{"events"}
	def.Clusters = map[string]datalayer.Config{"events": events}
	require.NoError(t, def.Validate())
	data, err := def.MarshalYAML()
	require.NoError(t, err)
	path := filepath.Join(t.TempDir(), "database.yaml")
	require.NoError(t, os.WriteFile(path, data, 0o600))
	return path
}
