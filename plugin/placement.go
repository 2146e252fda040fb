package plugin

import (
	"errors"
	"fmt"
	"reflect"
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"

	"github.com/prompt-improver/unifieddb/internal/cluster"
)

// Several clusters behind one handle (Options.Clusters). Each cluster is a
// site: its cluster.Cluster, its routes and its read-your-writes state. A
// statement goes to the site its explicit clause names (OnCluster,
// dbresolver.Use), else its model's (Placer, cached per *schema.Schema),
// else its table's (Options.Tables), else the default cluster's. With one
// cluster (p.sites nil) nothing is looked up.

// DefaultCluster is the name of the cluster the top-level options describe.
const DefaultCluster = "default"

var (
	// ErrCrossCluster is the error of a statement that would need two
	// clusters (one in a transaction of another cluster, a join of tables
	// placed on two): it is refused before it reaches a server. It comes
	// wrapped in a *CrossClusterError.
	ErrCrossCluster = errors.New("unifieddb: statement needs two clusters")
	// ErrUnknownCluster is returned for a cluster name no cluster has.
	ErrUnknownCluster = errors.New("unifieddb: unknown cluster")
)

// CrossClusterError names the clusters and tables a refused statement
// needed. It wraps ErrCrossCluster.
type CrossClusterError struct {
	Clusters []string
	Tables   []string
	Op       string // "transaction", "join" or "subquery": what needed the other cluster
}

func (e *CrossClusterError) Error() string {
	return fmt.Sprintf("%v: %s on cluster %s, tables %s", ErrCrossCluster, e.Op, strings.Join(e.Clusters, " and "), strings.Join(e.Tables, ", "))
}

func (e *CrossClusterError) Unwrap() error { return ErrCrossCluster }

// Placer says which cluster a model is placed on (*registry.Registry
// implements it). ok false: no placement, the model's table decides.
type Placer interface {
	ClusterOf(model any) (cluster string, ok bool)
}

// OnCluster returns a clause that sends the statement to the named cluster,
// whatever its model's or table's placement: for raw SQL and unusual cases.
// db.Clauses(plugin.OnCluster("events")).Transaction(...) begins there.
func OnCluster(name string) ClusterClause { return ClusterClause{Name: name} }

// ClusterClause is OnCluster's clause: it emits no SQL.
type ClusterClause struct{ Name string }

// clusterClause is the key under which a ClusterClause is kept in
// Statement.Clauses; dbresolverUsing is dbresolver.Use's.
const (
	clusterClause   = "unifieddb:cluster"
	dbresolverUsing = "gorm:db_resolver:using"
)

// ModifyStatement marks the statement with the cluster and, outside a
// transaction or a pinned connection, points it at that cluster's entry
// pool, so that a transaction begun from it begins there.
func (c ClusterClause) ModifyStatement(stmt *gorm.Statement) {
	stmt.Clauses[clusterClause] = clause.Clause{Expression: c}
	p := fromDB(stmt.DB)
	if p == nil || p.sites == nil {
		return
	}
	s := p.sites[c.Name]
	m := modeOf(stmt)
	if s == nil || !m.valid() {
		return // the routing callback says why
	}
	if keep, _ := kept(stmt, m, false); !keep {
		e := s.entries[m]
		if wantsPrepared(stmt.ConnPool) {
			e = e.prepared
		}
		stmt.ConnPool = e
	}
}

// Build implements clause.Expression; it writes nothing.
func (ClusterClause) Build(clause.Builder) {}

// openSites opens the named clusters of p.opts.Clusters.
func (p *Plugin) openSites() error {
	p.sites = map[string]*site{DefaultCluster: &p.site}
	names := make([]string, 0, len(p.opts.Clusters))
	for name := range p.opts.Clusters {
		names = append(names, name)
	}
	slices.Sort(names)
	for _, name := range names {
		o := p.opts.Clusters[name]
		s := &site{}
		co := p.clusterOptions(&o, s)
		co.Name = name
		c, err := cluster.New(co)
		if err != nil {
			return fmt.Errorf("unifieddb: cluster %s: %w", name, err)
		}
		s.c = c
		p.setRoutes(s, name, &o)
		p.sites[name] = s
	}
	p.placeTables()
	p.openLazy()
	return nil
}

// placeTables makes, once, what places the tables SQL text names
// (tableSite): Options.Tables' sites, and the Placer when it can place a
// table by name.
func (p *Plugin) placeTables() {
	p.tableSites = make(map[string]*site, len(p.opts.Tables))
	for table, name := range p.opts.Tables {
		p.tableSites[table] = p.sites[name] // validated: the cluster exists
	}
	p.tablePlacer, _ = p.opts.Placer.(TablePlacer)
}

// allSites lists the sites, the default one first.
func (p *Plugin) allSites() []*site {
	out := []*site{&p.site}
	names := make([]string, 0, len(p.sites))
	for name := range p.sites {
		if name != DefaultCluster {
			names = append(names, name)
		}
	}
	slices.Sort(names)
	for _, name := range names {
		out = append(out, p.sites[name])
	}
	return out
}

// siteFor is the site a statement goes to, and whether a clause or a
// placement asked for it (not the default cluster by default).
func (p *Plugin) siteFor(stmt *gorm.Statement) (s *site, asked bool, err error) {
	if p.sites == nil {
		return &p.site, false, nil // one cluster: nothing to look up
	}
	return p.placement(stmt)
}

// statementSite is the site a statement goes to; with several clusters
// it is refused when it reads a table of another (crossrefs.go).
func (p *Plugin) statementSite(stmt *gorm.Statement) (*site, error) {
	if p.sites == nil {
		return &p.site, nil // one cluster: nothing to look up
	}
	s, _, err := p.placement(stmt)
	if err == nil {
		err = p.crossRefs(stmt, s)
	}
	return s, err
}

func (p *Plugin) placement(stmt *gorm.Statement) (*site, bool, error) {
	if name, ok := namedCluster(stmt); ok {
		s := p.sites[name]
		if s == nil {
			return nil, true, fmt.Errorf("%w: %q", ErrUnknownCluster, name)
		}
		return s, true, nil
	}
	if sc := stmt.Schema; sc != nil {
		s, err := p.placedSite(sc)
		if err != nil || s != nil {
			return s, true, err
		}
	}
	if stmt.Table != "" {
		if name, ok := p.tableCluster(stmt.Table); ok {
			return p.siteNamed(name)
		}
	}
	// A model without placement is on the default cluster; raw SQL names
	// none.
	return &p.site, stmt.Schema != nil, nil
}

// tableCluster is the cluster a statement that names only a table
// (db.Table("events")) goes to: that of the model placed with that table
// (TablePlacer), else Options.Tables', in the order a model's own
// placement is decided.
func (p *Plugin) tableCluster(table string) (string, bool) {
	if p.tablePlacer != nil {
		if name, ok := p.tablePlacer.ClusterOfTable(table); ok {
			return name, true
		}
	}
	name, ok := p.opts.Tables[table]
	return name, ok
}

// entryFor is the entry pool of mode m a mode clause points a statement
// at: that of the cluster its OnCluster or dbresolver.Use clause names,
// else the one that begins a transaction on its first statement's
// cluster (p.entry).
func (p *Plugin) entryFor(stmt *gorm.Statement, m Mode) *route {
	if p.sites != nil {
		if name, ok := namedCluster(stmt); ok {
			if s := p.sites[name]; s != nil {
				return s.entries[m]
			}
		}
	}
	return p.entry(m)
}

// placedSite is the site a model is placed on (cached), nil when it has
// none.
func (p *Plugin) placedSite(sc *schema.Schema) (*site, error) {
	if v, ok := p.placed.Load(sc); ok {
		return v.(*site), nil
	}
	s, err := p.placeModel(sc)
	if err != nil {
		return nil, err
	}
	p.placed.Store(sc, s)
	return s, nil
}

// placeModel is the site of a model: its Placer's answer, else its
// table's; nil when it has none.
func (p *Plugin) placeModel(sc *schema.Schema) (*site, error) {
	if p.opts.Placer != nil {
		if name, ok := p.opts.Placer.ClusterOf(reflect.New(sc.ModelType).Interface()); ok {
			s, _, err := p.siteNamed(name)
			return s, err
		}
	}
	if name, ok := p.opts.Tables[sc.Table]; ok {
		s, _, err := p.siteNamed(name)
		return s, err
	}
	if isJoinTable(sc) {
		return p.joinTableSite(sc)
	}
	return nil, nil
}

func (p *Plugin) siteNamed(name string) (*site, bool, error) {
	s := p.sites[name]
	if s == nil {
		return nil, true, fmt.Errorf("%w: %q", ErrUnknownCluster, name)
	}
	return s, true, nil
}

// namedCluster is the cluster an explicit clause names: OnCluster, or
// dbresolver.Use (its clause type is dbresolver's own: read by its Use
// field).
func namedCluster(stmt *gorm.Statement) (string, bool) {
	if c, ok := stmt.Clauses[clusterClause]; ok {
		if cc, ok := c.Expression.(ClusterClause); ok {
			return cc.Name, true
		}
	}
	if c, ok := stmt.Clauses[dbresolverUsing]; ok && c.Expression != nil {
		v := reflect.ValueOf(c.Expression)
		if v.Kind() == reflect.Struct {
			if f := v.FieldByName("Use"); f.IsValid() && f.Kind() == reflect.String && f.String() != "" {
				return f.String(), true
			}
		}
	}
	return "", false
}

// crossCluster refuses a statement of a transaction begun on one cluster
// whose clause or placement names another, and a statement on a held
// connection that reads a table of another cluster than the transaction's
// (or, outside one, its own placement's).
func (p *Plugin) crossCluster(stmt *gorm.Statement) error {
	st := txOf(stmt.ConnPool)
	var at *site
	if st != nil {
		if at = st.cluster(); at == nil && st.lazy {
			var err error
			if at, err = p.bindLazy(stmt, st); at == nil {
				return err // or a savepoint, which waits for the first statement
			}
		}
	}
	if at == nil {
		if s, _, err := p.placement(stmt); err == nil {
			return p.crossRefs(stmt, s)
		}
		return nil // a held connection's statement was never refused for its clause
	}
	s, asked, err := p.placement(stmt)
	if err != nil {
		return err
	}
	if !asked || s == at {
		return p.crossRefs(stmt, at)
	}
	table := stmt.Table
	if table == "" && stmt.Schema != nil {
		table = stmt.Schema.Table
	}
	return &CrossClusterError{Clusters: []string{at.name, s.name}, Tables: []string{table}, Op: "transaction"}
}

// bindLazy binds a lazily begun transaction (lazytx.go) to the cluster of
// its first statement: its clause's or model's, raw SQL's first table's,
// else the default cluster. A savepoint binds nothing (nil): it waits for
// the first statement.
func (p *Plugin) bindLazy(stmt *gorm.Statement, st *txState) (*site, error) {
	s, asked, err := p.placement(stmt)
	if err != nil {
		return nil, err
	}
	if !asked && stmt.SQL.Len() > 0 {
		q := stmt.SQL.String()
		if isSavepoint(q) {
			return nil, nil
		}
		if n, ok := ownTable(q); ok {
			if t := p.tableSite(n.schema, n.table); t != nil {
				s = t
			}
		}
	}
	return st.bind(s), nil
}

// ownTable is the table raw SQL writes or reads first: INSERT INTO's or
// UPDATE's target, else the first after FROM or JOIN (sqltables.go).
func ownTable(q string) (tableName, bool) {
	t := strings.TrimSpace(q)
	for _, kw := range []string{"INSERT INTO ", "UPDATE "} {
		if len(t) > len(kw) && strings.EqualFold(t[:len(kw)], kw) {
			// The name up to a space or a column list, quotes dropped.
			name := strings.TrimSpace(t[len(kw):])
			if i := strings.IndexAny(name, " \t\n\r("); i >= 0 {
				name = name[:i]
			}
			if strings.Contains(name, `"`) {
				name = strings.ReplaceAll(name, `"`, "")
			} else {
				name = strings.ToLower(name) // as the server folds it
			}
			schema, table, qualified := strings.Cut(name, ".")
			if !qualified {
				schema, table = "", name
			}
			return tableName{schema: schema, table: table}, table != ""
		}
	}
	sc := newTableScanner(q, false)
	return sc.next()
}

// ClusterNames lists the clusters, DefaultCluster first.
func (p *Plugin) ClusterNames() []string {
	var out []string
	for _, s := range p.allSites() {
		out = append(out, s.name)
	}
	return out
}

// ClusterOf is the cluster a model's statements go to (its placement),
// DefaultCluster when it has none.
func (p *Plugin) ClusterOf(db *gorm.DB, model any) (string, error) {
	if p.sites == nil {
		return DefaultCluster, nil
	}
	stmt := &gorm.Statement{DB: db, Clauses: map[string]clause.Clause{}}
	if err := stmt.Parse(model); err != nil {
		return "", err
	}
	s, _, err := p.placement(stmt)
	if err != nil {
		return "", err
	}
	return s.name, nil
}
