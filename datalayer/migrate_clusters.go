package datalayer

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"

	"github.com/prompt-improver/unifieddb/plugin"
)

// SQL migrations per cluster: each cluster (the default one and every named
// one) has its own migrations, run on its own migration_host or primary,
// under its own advisory lock, recorded in its own goose version table.

// migrationSite is one cluster's SQL migrations and where they run.
type migrationSite struct {
	name string // the cluster's name
	// label is the name said in errors and results: "" with one cluster,
	// so that a single cluster's messages are what they always were.
	label      string
	fsys       fs.FS  // its migrations; nil: none handed
	cfg        Config // its configuration: migration_host, migrations_dir, pgbouncer, port
	connConfig plugin.ConnConfigFunc
	direct     directDB
}

// field is the path of one of the site's keys, as validation names it:
// "migrations_dir" for the default cluster, "clusters.events.migrations_dir"
// for a named one.
func (s *migrationSite) field(key string) string {
	if s.name == DefaultCluster {
		return key
	}
	return "clusters." + s.name + "." + key
}

// errorf is fmt.Errorf with the prefix of the site's errors: "unifieddb: ",
// and the cluster's name when there are several.
func (s *migrationSite) errorf(format string, args ...any) error {
	prefix := "unifieddb: "
	if s.label != "" {
		prefix += "cluster " + s.label + ": "
	}
	return fmt.Errorf(prefix+format, args...)
}

// handedBy says how the site's migrations are handed, for the error of a
// cluster that has none.
func (s *migrationSite) handedBy() string {
	if s.name == DefaultCluster {
		return "datalayer.WithMigrations or migrations_dir"
	}
	return fmt.Sprintf("datalayer.WithClusterMigrations(%q, ...) or %s", s.name, s.field("migrations_dir"))
}

// WithClusterMigrations hands the SQL migrations of the named cluster, as
// WithMigrations hands the default cluster's (WithClusterMigrations
// (DefaultCluster, fsys) is WithMigrations(fsys)). Migrate runs them on
// that cluster's migration_host or primary, after the default cluster's;
// MigrationsOn(name) gives their runner. New rejects a nil fsys, a name no
// cluster of the configuration has (ErrUnknownCluster), and fsys together
// with clusters.NAME.migrations_dir.
func WithClusterMigrations(name string, fsys fs.FS) Option {
	return func(o *options) {
		if name == DefaultCluster {
			o.migrations, o.migrationsSet = fsys, true
			return
		}
		if o.clusterMigrations == nil {
			o.clusterMigrations = map[string]fs.FS{}
		}
		o.clusterMigrations[name] = fsys
	}
}

// migrationSites are the SQL migrations of every cluster of cfg and where
// they run (connConfig: the default cluster's pgx settings, WithConnConfig
// applied; clusters: the named clusters' plugin options). It refuses
// migrations handed two ways, nil or to an unknown cluster.
func (o *options) migrationSites(cfg Config, connConfig plugin.ConnConfigFunc, clusters map[string]plugin.Options) (map[string]*migrationSite, error) {
	def, err := o.migrationsFS(cfg)
	if err != nil {
		return nil, err
	}
	label := func(name string) string {
		if len(cfg.Clusters) == 0 {
			return ""
		}
		return name
	}
	sites := map[string]*migrationSite{DefaultCluster: {name: DefaultCluster, label: label(DefaultCluster),
		fsys: def, cfg: cfg, connConfig: connConfig}}
	if err := o.unknownClusterMigrations(cfg); err != nil {
		return nil, err
	}
	for _, name := range cfg.ClusterNames() {
		cc := cfg.Clusters[name]
		fsys, err := o.clusterMigrationsFS(name, cc)
		if err != nil {
			return nil, err
		}
		sites[name] = &migrationSite{name: name, label: label(name), fsys: fsys, cfg: cc, connConfig: clusters[name].ConnConfig}
	}
	return sites, nil
}

// unknownClusterMigrations refuses WithClusterMigrations of a name no
// cluster of cfg has.
func (o *options) unknownClusterMigrations(cfg Config) error {
	for name := range o.clusterMigrations {
		if _, ok := cfg.Clusters[name]; !ok {
			known := append([]string{DefaultCluster}, cfg.ClusterNames()...)
			return fmt.Errorf("%w: %q in WithClusterMigrations (the configuration's clusters: %s)",
				ErrUnknownCluster, name, strings.Join(known, ", "))
		}
	}
	return nil
}

// clusterMigrationsFS is migrationsFS for the named cluster whose
// configuration is cc.
func (o *options) clusterMigrationsFS(name string, cc Config) (fs.FS, error) {
	fsys, set := o.clusterMigrations[name]
	switch {
	case set && fsys == nil:
		return nil, fmt.Errorf("unifieddb: WithClusterMigrations(%q): nil fs.FS", name)
	case set && cc.MigrationsDir != "":
		return nil, &ConfigError{Fields: []FieldError{{Field: "clusters." + name + ".migrations_dir",
			Problem: fmt.Sprintf("is set and WithClusterMigrations(%q, ...) hands that cluster's migrations too: hand them one way", name)}}}
	case set:
		return fsys, nil
	case cc.MigrationsDir != "":
		return os.DirFS(cc.MigrationsDir), nil
	}
	return nil, nil
}

// migrationsFS returns the default cluster's SQL migrations, handed one way
// only: WithMigrations or migrations_dir (validated by cfg.Validate).
func (o *options) migrationsFS(cfg Config) (fs.FS, error) {
	switch {
	case o.migrationsSet && o.migrations == nil:
		return nil, errors.New("unifieddb: WithMigrations: nil fs.FS")
	case o.migrationsSet && cfg.MigrationsDir != "":
		return nil, &ConfigError{Fields: []FieldError{{Field: "migrations_dir",
			Problem: "is set and WithMigrations hands migrations too: hand them one way"}}}
	case o.migrationsSet:
		return o.migrations, nil
	case cfg.MigrationsDir != "":
		return os.DirFS(cfg.MigrationsDir), nil
	}
	return nil, nil
}
