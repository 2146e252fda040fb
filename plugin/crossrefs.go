package plugin

import (
	"slices"
	"strings"

	"gorm.io/gorm"
	"gorm.io/gorm/clause"
	"gorm.io/gorm/schema"
)

// Joins and subqueries that would need two clusters (issue 18). A
// statement runs on one cluster; every other table it reads must be there
// too, or the server answers "relation does not exist" (or reads a table
// of the same name that is not the one its model writes to). So, with several clusters only, before a statement is sent
// the tables it names besides its own are resolved to their clusters:
//   - association joins (Joins("Company"), InnerJoins, "Manager.Company"):
//     the related model's cluster, as if it were queried itself (unplaced:
//     the default cluster);
//   - subqueries passed as *gorm.DB (Where, Having, Select, Joins, Table,
//     Updates' values): the subquery's clause, model or table;
//   - SQL text (Raw, Exec, raw join strings, db.Table's text, condition
//     text): the tables a conservative scan finds after FROM and JOIN
//     (sqltables.go), placed by a model (TablePlacer) or by Options.Tables.
//     A table named in text and placed nowhere belongs to no cluster and is
//     never refused.
// One on another cluster refuses the statement with a *CrossClusterError.

const (
	opJoin     = "join"
	opSubquery = "subquery"
	// opRaw: raw SQL whose own (first) table is on another cluster; it
	// needs OnCluster, not a join of two.
	opRaw = "raw SQL"
)

// maxRefDepth bounds how deep subqueries of subqueries are followed.
const maxRefDepth = 8

// TablePlacer is what a Placer may add (*registry.Registry does): the
// cluster of a placed model by its table's name, for tables named in SQL
// text, where there is no model to ask about.
type TablePlacer interface {
	ClusterOfTable(table string) (cluster string, ok bool)
}

// refCheck gathers the tables of one statement placed on another cluster
// than at, the one the statement runs on.
type refCheck struct {
	p     *Plugin
	at    *site
	op    string // opJoin, or opSubquery inside a subquery
	first string // the first table SQL text names: raw SQL's own
	raw   bool   // the statement is raw SQL (Raw, Exec)
	hits  []refHit
	err   error
}

type refHit struct {
	table, op string
	s         *site
}

// crossRefs refuses a statement that reads a table of another cluster than
// at. Only called with several clusters.
func (p *Plugin) crossRefs(stmt *gorm.Statement, at *site) error {
	c := refCheck{p: p, at: at, op: opJoin}
	if stmt.SQL.Len() > 0 {
		c.raw = true
		c.sql(stmt.SQL.String(), false) // Raw, Exec: built already
	} else {
		c.statement(stmt, 0)
	}
	if c.err != nil || len(c.hits) == 0 {
		return c.err
	}
	own := stmt.Table
	if own == "" && stmt.Schema != nil {
		own = stmt.Schema.Table
	}
	if own == "" {
		own = c.first
	}
	return c.refusal(own)
}

// refusal names the statement's cluster and table first, then the others.
func (c *refCheck) refusal(own string) error {
	e := &CrossClusterError{Clusters: []string{c.at.name}, Op: opSubquery}
	var others []string
	for _, h := range c.hits {
		if !slices.Contains(e.Clusters[1:], h.s.name) {
			e.Clusters = append(e.Clusters, h.s.name)
		}
		if h.table != own && !slices.Contains(others, h.table) {
			others = append(others, h.table)
		}
		switch {
		case h.op == opJoin:
			e.Op = opJoin
		case h.op == opRaw && e.Op == opSubquery:
			e.Op = opRaw
		}
	}
	slices.Sort(e.Clusters[1:])
	slices.Sort(others)
	if own != "" {
		e.Tables = append(e.Tables, own)
	}
	e.Tables = append(e.Tables, others...)
	return e
}

func (c *refCheck) hit(table string, s *site, op string) {
	if s != nil && s != c.at {
		c.hits = append(c.hits, refHit{table: table, op: op, s: s})
	}
}

// statement looks through a statement GORM has not built yet.
func (c *refCheck) statement(st *gorm.Statement, depth int) {
	for _, j := range st.Joins {
		c.join(st, j.Name, j.Conds, j.Expression, depth)
	}
	// db.Table("users u, events e"), Table("(?) AS t", sub); not a table
	// alone (db.Table("events")): that is the statement's own, placed as
	// placement.go says.
	if te := st.TableExpr; te != nil && (len(te.Vars) > 0 || strings.ContainsAny(te.SQL, " ,(")) {
		c.sql(te.SQL, true)
		c.values(te.Vars, depth)
	}
	for _, cl := range st.Clauses {
		c.expr(cl.Expression, depth)
	}
	if m, ok := st.Dest.(map[string]any); ok { // Updates(map{"n": sub})
		for _, v := range m {
			c.value(v, depth)
		}
	}
}

// join is one of stmt.Joins: an association of the statement's model
// (nested ones too), else SQL text.
func (c *refCheck) join(st *gorm.Statement, name string, conds []any, expr clause.Expression, depth int) {
	if st.Schema != nil && c.association(st.Schema, name) {
		c.values(conds, depth)
		return
	}
	c.sql(name, false)
	c.values(conds, depth)
	if expr != nil {
		c.expr(expr, depth)
	}
}

// association resolves "Company" or "Manager.Company" through sc's
// relationships, as GORM's query callback does; false when name is not
// one (GORM then takes it as SQL).
func (c *refCheck) association(sc *schema.Schema, name string) bool {
	if rel, ok := sc.Relationships.Relations[name]; ok {
		c.model(rel.FieldSchema, opJoin)
		return true
	}
	if !strings.Contains(name, ".") {
		return false
	}
	// Nested: every part must be a relation, or GORM takes it as SQL.
	rels := sc.Relationships.Relations
	for rest := name; rest != ""; {
		part, tail, _ := strings.Cut(rest, ".")
		rel, ok := rels[part]
		if !ok {
			return false
		}
		rels, rest = rel.FieldSchema.Relationships.Relations, tail
	}
	rels = sc.Relationships.Relations
	for rest := name; rest != ""; {
		part, tail, _ := strings.Cut(rest, ".")
		rel := rels[part]
		c.model(rel.FieldSchema, opJoin)
		rels, rest = rel.FieldSchema.Relationships.Relations, tail
	}
	return true
}

// model is a table read through a model: where its statements would go.
func (c *refCheck) model(sc *schema.Schema, op string) {
	s, err := c.p.modelSite(sc)
	if err != nil {
		c.err = err
		return
	}
	c.hit(sc.Table, s, op)
}

// sql scans SQL text for the tables it reads.
func (c *refCheck) sql(text string, fromList bool) {
	sc := newTableScanner(text, fromList)
	for {
		n, ok := sc.next()
		if !ok {
			return
		}
		if c.first == "" {
			c.first = n.table
		}
		s := c.p.tableSite(n.schema, n.table)
		if s == nil || s == c.at {
			continue
		}
		op := c.op
		switch {
		case n.nested:
			op = opSubquery
		case c.raw && n.table == c.first:
			op = opRaw
		}
		table := n.table
		if n.schema != "" {
			table = n.schema + "." + table
		}
		c.hit(table, s, op)
	}
}

// expr looks through the clause expressions GORM's chain methods build for
// subqueries and SQL text.
func (c *refCheck) expr(e clause.Expression, depth int) {
	switch e := e.(type) {
	case clause.Where:
		c.exprs(e.Exprs, depth)
	case clause.AndConditions:
		c.exprs(e.Exprs, depth)
	case clause.OrConditions:
		c.exprs(e.Exprs, depth)
	case clause.NotConditions:
		c.exprs(e.Exprs, depth)
	case clause.Expr:
		c.sql(e.SQL, false)
		c.values(e.Vars, depth)
	case clause.NamedExpr:
		c.sql(e.SQL, false)
		c.values(e.Vars, depth)
	case clause.IN:
		c.values(e.Values, depth)
	case clause.Eq:
		c.value(e.Value, depth)
	case clause.Neq:
		c.value(e.Value, depth)
	case clause.Gt:
		c.value(e.Value, depth)
	case clause.Gte:
		c.value(e.Value, depth)
	case clause.Lt:
		c.value(e.Value, depth)
	case clause.Lte:
		c.value(e.Value, depth)
	case clause.Like:
		c.value(e.Value, depth)
	case clause.Select:
		c.expr(e.Expression, depth)
	case clause.GroupBy:
		c.exprs(e.Having, depth)
	case clause.OrderBy:
		c.expr(e.Expression, depth)
	case clause.Set:
		for _, a := range e {
			c.value(a.Value, depth)
		}
	case clause.From:
		c.from(e, depth)
	}
}

func (c *refCheck) exprs(es []clause.Expression, depth int) {
	for _, e := range es {
		c.expr(e, depth)
	}
}

// from is a FROM clause set by hand (Clauses(clause.From{...})) or by
// GORM's association queries (a many2many join table).
func (c *refCheck) from(f clause.From, depth int) {
	for _, t := range f.Tables {
		c.table(t)
	}
	for _, j := range f.Joins {
		c.table(j.Table)
		c.exprs(j.ON.Exprs, depth)
		if j.Expression != nil {
			c.expr(j.Expression, depth)
		}
	}
}

func (c *refCheck) table(t clause.Table) {
	switch {
	case t.Name == "" || t.Name == clause.CurrentTable:
	case t.Raw:
		c.sql(t.Name, true)
	default:
		c.hit(t.Name, c.p.tableSite("", t.Name), c.op)
	}
}

func (c *refCheck) values(vs []any, depth int) {
	for _, v := range vs {
		c.value(v, depth)
	}
}

func (c *refCheck) value(v any, depth int) {
	switch v := v.(type) {
	case *gorm.DB:
		c.subquery(v, depth+1)
	case clause.Expression:
		c.expr(v, depth)
	case []any:
		c.values(v, depth)
	}
}

// subquery is a *gorm.DB passed as a value: it runs inside the statement,
// so its own table and everything it reads must be on the same cluster.
func (c *refCheck) subquery(sub *gorm.DB, depth int) {
	if sub == nil || sub.Statement == nil || depth > maxRefDepth {
		return
	}
	op := c.op
	c.op = opSubquery
	defer func() { c.op = op }()
	st := sub.Statement
	if s, table := c.p.subquerySite(sub); s != nil {
		c.hit(table, s, opSubquery)
	}
	if st.SQL.Len() > 0 {
		c.sql(st.SQL.String(), false) // db.Raw("SELECT ...") as a value
		return
	}
	c.statement(st, depth)
}

// subquerySite is where a subquery's own statement would go, and its
// table: its clause's cluster, its model's, its table's; nil when it names
// none of them.
func (p *Plugin) subquerySite(sub *gorm.DB) (*site, string) {
	st := sub.Statement
	if name, ok := namedCluster(st); ok {
		return p.sites[name], st.Table // unknown: the statement's own error says so
	}
	sc := st.Schema
	if sc == nil && st.Model != nil {
		// GORM parses a subquery only when it builds it, after routing.
		// A statement of our own, so the caller's is left as it was.
		tmp := gorm.Statement{DB: sub}
		if tmp.Parse(st.Model) == nil {
			sc = tmp.Schema
		}
	}
	if sc != nil {
		s, err := p.modelSite(sc)
		if err != nil {
			return nil, ""
		}
		return s, sc.Table
	}
	if st.Table != "" {
		return p.tableSite("", st.Table), st.Table
	}
	return nil, ""
}

// modelSite is the site a model's statements go to: its placement, else
// the default cluster.
func (p *Plugin) modelSite(sc *schema.Schema) (*site, error) {
	s, err := p.placedSite(sc)
	if err != nil || s != nil {
		return s, err
	}
	return &p.site, nil
}

// tableSite is the site of a table named in SQL text: its placed model's
// (TablePlacer), else Options.Tables'; nil when it is placed nowhere. A
// qualified name is looked up as written, then without its schema, as GORM
// places db.Table("public.events") by "events"; the system catalogs'
// schemas hold no placed table.
func (p *Plugin) tableSite(schemaName, table string) *site {
	if schemaName != "" {
		switch schemaName {
		case "pg_catalog", "information_schema", "pg_toast":
			return nil
		}
		if s := p.tableSiteNamed(schemaName + "." + table); s != nil {
			return s
		}
	}
	return p.tableSiteNamed(table)
}

func (p *Plugin) tableSiteNamed(table string) *site {
	if p.tablePlacer != nil {
		if name, ok := p.tablePlacer.ClusterOfTable(table); ok {
			return p.sites[name]
		}
	}
	return p.tableSites[table]
}
