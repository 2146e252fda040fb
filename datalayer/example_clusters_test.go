package datalayer_test

import (
	"errors"
	"fmt"

	"github.com/prompt-improver/unifieddb/datalayer"
)

// A second cluster for the events table: it gives its own nodes and tables
// and inherits the rest (database, username, password, pool sizes...).
func ExampleConfig_PlacementTables() {
	cfg, err := datalayer.ParseConfig([]byte(`
database:
  host: db1.internal
  database: app
  pool_size: 20
  clusters:
    events:
      host: ev1.internal
      replica_hosts: [ev2.internal]
      tables: [events, event_attachments]
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	ev := cfg.Clusters["events"]
	fmt.Println(ev.Host, ev.Database, ev.PoolSize)
	fmt.Println(cfg.PlacementTables())

	// Every bad key is named with its path.
	_, err = datalayer.ParseConfig([]byte(`
database:
  host: db1.internal
  database: app
  clusters:
    events:
      host: ev1.internal
      pool_size: 0
      tables: [orders]
    audit:
      host: au1.internal
      tables: [orders]
`))
	var ce *datalayer.ConfigError
	if errors.As(err, &ce) {
		for _, f := range ce.Fields {
			fmt.Printf("%s: %s\n", f.Field, f.Problem)
		}
	}
	// Output:
	// ev1.internal app 20
	// map[event_attachments:events events:events]
	// clusters.events.pool_size: must be greater than 0, got 0
	// clusters.events.tables[0]: table "orders" is placed on two clusters, audit and events: a table lives on one cluster
}
