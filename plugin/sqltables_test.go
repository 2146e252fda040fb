package plugin

import (
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
)

// scanTables lists what a scan of sql reports: "schema.table", a nested
// one (in a subquery) with a trailing "*".
func scanTables(sql string, fromList bool) []string {
	var out []string
	sc := newTableScanner(sql, fromList)
	for {
		n, ok := sc.next()
		if !ok {
			return out
		}
		s := n.table
		if n.schema != "" {
			s = n.schema + "." + s
		}
		if n.nested {
			s += "*"
		}
		out = append(out, s)
	}
}

func TestScanTables(t *testing.T) {
	for _, c := range []struct {
		sql  string
		want []string
	}{
		{"SELECT count(*) FROM mc_events", []string{"mc_events"}},
		{"select * from Users u join ORDERS o on o.user_id = u.id", []string{"users", "orders"}},
		{"SELECT * FROM a, b AS x, ONLY c LEFT OUTER JOIN d USING (id), e", []string{"a", "b", "c", "d", "e"}},
		{"SELECT * FROM a JOIN b ON a.id = b.id, c WHERE x IN (1, 2), y", []string{"a", "b", "c"}},
		{`SELECT * FROM "Events" JOIN "we""ird" ON true`, []string{"Events", `we"ird`}},
		{`SELECT * FROM public.users, "Analytics"."Events" e, db.s.t`, []string{"public.users", "Analytics.Events", "s.t"}},
		{"SELECT * FROM users WHERE id IN (SELECT user_id FROM events)", []string{"users", "events*"}},
		{"SELECT * FROM (SELECT * FROM events) s JOIN (a JOIN b ON true) ON true", []string{"events*", "a", "b"}},
		{"SELECT * FROM generate_series(1, 3) g, pg_catalog.unnest('{1}'::int[]) u, t", []string{"t"}},
		{"SELECT * FROM a CROSS JOIN LATERAL (SELECT * FROM b) x JOIN LATERAL f(a.id) y ON true", []string{"a", "b*"}},
		{"SELECT * FROM (VALUES (1), (2)) v(x), w", []string{"w"}},
		{"DELETE FROM events WHERE id = $1", []string{"events"}},
		{"UPDATE users SET n = 1 FROM events e WHERE e.id = users.id RETURNING id, n", []string{"events"}},
		{"INSERT INTO audit (a, b) SELECT a, b FROM events", []string{"events"}},
		{"INSERT INTO events (kind) VALUES ('login') ON CONFLICT (id) DO UPDATE SET kind = excluded.kind", nil},
		{"SELECT 1; SELECT * FROM events", []string{"events"}},
		{"WITH events AS (SELECT * FROM raw_events), b(x) AS (SELECT 1) SELECT * FROM events, b, real", []string{"raw_events*", "real"}},
		{"SELECT now()::timestamp with time zone, x FROM a, b", []string{"a", "b"}},
		{"SELECT * FROM unnest(array[1]) WITH ORDINALITY AS t(x, n), c", []string{"c"}},
	} {
		assert.Equal(t, c.want, scanTables(c.sql, false), c.sql)
	}
}

// A column, a string or a comment that reads like a table is never one.
func TestScanTablesIgnoresColumnsStringsAndComments(t *testing.T) {
	for _, sql := range []string{
		"SELECT events FROM",
		"SELECT id, events, orders FROM users WHERE events > 0 AND orders IS NOT NULL",
		"SELECT EXTRACT(YEAR FROM events) FROM users",
		"SELECT substring(name FROM 2 FOR 3), trim(both FROM events), overlay(x placing 'y' from 2) FROM users",
		"SELECT * FROM users WHERE a IS DISTINCT FROM events AND b IS NOT DISTINCT FROM orders",
		"SELECT 'FROM events', E'it\\'s FROM events', $$ FROM events $$, $q$ JOIN events $q$ FROM users",
		"SELECT 1 -- FROM events\nFROM users /* JOIN events /* nested */ JOIN orders */",
		`SELECT "from", "join" FROM users`,
		"SELECT x FROM users ORDER BY events, orders",
		"SELECT users.events FROM users GROUP BY events HAVING count(events) > 1",
		"SELECT * FROM users u WHERE u.id = ANY($1) AND $2 = 'x'",
		"SELECT * FROM users FOR UPDATE OF users",
	} {
		got := scanTables(sql, false)
		for _, table := range got {
			assert.NotContains(t, []string{"events", "orders"}, strings.TrimSuffix(table, "*"), sql)
		}
	}
}

// db.Table's text starts in a FROM list; GORM's raw join strings start
// with JOIN.
func TestScanTablesFromListAndJoinStrings(t *testing.T) {
	assert.Equal(t, []string{"users", "events"}, scanTables("users u, events e", true))
	assert.Equal(t, []string{"users"}, scanTables(`"users"`, true))
	assert.Empty(t, scanTables("(?) as t", true))
	assert.Equal(t, []string{"events*"}, scanTables("(SELECT * FROM events) AS t", true))
	assert.Equal(t, []string{"events"}, scanTables("LEFT JOIN events e ON e.user_id = users.id AND e.kind = ?", false))
	assert.Empty(t, scanTables("Company", false), "an association's name is no SQL")
	assert.Empty(t, scanTables("users u, events e", false), "not in a FROM list")
}

// Unterminated strings, comments and quotes end the scan, and deep
// nesting reports nothing past its bound: no panic, no guess.
func TestScanTablesMalformed(t *testing.T) {
	for _, sql := range []string{"SELECT * FROM 'x", `SELECT * FROM "x`, "SELECT /* x", "SELECT $a$ x", "SELECT ((((", ")))) FROM", "SELECT * FROM a.", "$", "E'"} {
		assert.NotPanics(t, func() { scanTables(sql, false) }, sql)
	}
	deep := "SELECT * FROM " + strings.Repeat("(", 40) + "SELECT * FROM events" + strings.Repeat(")", 40) + " x, users"
	assert.Equal(t, []string{"users"}, scanTables(deep, false))
	many := "WITH a1 AS (SELECT 1), a2 AS (SELECT 1), a3 AS (SELECT 1), a4 AS (SELECT 1), a5 AS (SELECT 1), a6 AS (SELECT 1), a7 AS (SELECT 1), a8 AS (SELECT 1), a9 AS (SELECT 1) SELECT * FROM events"
	assert.Empty(t, scanTables(many, false), "past maxCTEs nothing is reported")
}

func TestScanTablesAllocatesNothing(t *testing.T) {
	sql := `SELECT * FROM public.users u JOIN "Events" e ON e.uid = u.id WHERE u.id IN (SELECT id FROM orders) -- x`
	n := testing.AllocsPerRun(100, func() {
		sc := newTableScanner(sql, false)
		for {
			if _, ok := sc.next(); !ok {
				break
			}
		}
	})
	assert.Zero(t, n)
}
