package plugin

import (
	"slices"
	"strings"

	"gorm.io/gorm/schema"
)

// A many2many join table GORM makes itself (no model of the application's,
// so no Placer answer) is placed, unless `tables:` names it, on the cluster
// of the model whose field declares the many2many: Manager.AutoMigrate
// creates it there, with that model. When the models on both sides declare
// it (User.Languages and Language.Users, `many2many:user_languages`) and
// are on different clusters, each cluster has a table of that name and
// which one holds the rows is not clear: its statements are refused with
// *CrossClusterError until `tables:` places it.

// joinTableSite is the site of GORM's join table sc: its owners' one. nil
// when no owner is found (then the default cluster).
func (p *Plugin) joinTableSite(sc *schema.Schema) (*site, error) {
	var owners []*schema.Schema
	for _, rel := range sc.Relationships.Relations {
		if o := rel.FieldSchema; o != nil && declaresJoinTable(o, sc.Table) && !slices.Contains(owners, o) {
			owners = append(owners, o)
		}
	}
	// Relations is a map: sorted, the error names the same clusters each time.
	slices.SortFunc(owners, func(a, b *schema.Schema) int { return strings.Compare(a.Name, b.Name) })
	var at *site
	for _, o := range owners {
		s, err := p.modelSite(o)
		if err != nil {
			return nil, err
		}
		if at != nil && s != at {
			return nil, &CrossClusterError{Clusters: []string{at.name, s.name}, Tables: []string{sc.Table}, Op: "many2many join table declared by " + owners[0].Name + " and " + o.Name}
		}
		at = s
	}
	return at, nil
}

// declaresJoinTable reports whether model o has a many2many relation whose
// join table is named table.
func declaresJoinTable(o *schema.Schema, table string) bool {
	for _, rel := range o.Relationships.Many2Many {
		if rel.JoinTable != nil && rel.JoinTable.Table == table {
			return true
		}
	}
	return false
}
