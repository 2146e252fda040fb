package datalayer

import (
	"fmt"
	"strconv"
	"strings"

	"github.com/jackc/pgx/v5"

	"github.com/prompt-improver/unifieddb/plugin"
)

// connConfig returns the pgx settings of one node. The password is set on the
// parsed config, never written into a DSN string, so no error that quotes a
// DSN can carry it.
func (c Config) connConfig(addr plugin.Addr) (*pgx.ConnConfig, error) {
	var dsn strings.Builder
	kv := func(k, v string) {
		if v == "" {
			return
		}
		dsn.WriteString(k)
		dsn.WriteString("=")
		dsn.WriteString(quoteDSN(v))
		dsn.WriteString(" ")
	}
	kv("host", addr.Host)
	kv("port", strconv.Itoa(addr.Port))
	kv("dbname", c.Database)
	kv("user", c.Username)
	kv("sslmode", c.SSLMode)
	kv("application_name", c.ApplicationName)
	cc, err := pgx.ParseConfig(dsn.String())
	if err != nil {
		return nil, fmt.Errorf("connection settings for %s: %w", addr, err)
	}
	if c.Password != "" {
		cc.Password = c.Password
	}
	cc.ConnectTimeout = c.ConnectionTimeout
	cc.DialFunc = c.dialer().DialContext
	cc.StatementCacheCapacity = c.StatementCacheSize
	cc.DescriptionCacheCapacity = c.PreparedStatementCacheSize
	switch {
	case c.SimpleProtocol || c.PgBouncer:
		cc.DefaultQueryExecMode = pgx.QueryExecModeSimpleProtocol
	case c.StatementCacheSize > 0:
		cc.DefaultQueryExecMode = pgx.QueryExecModeCacheStatement
	case c.PreparedStatementCacheSize > 0:
		cc.DefaultQueryExecMode = pgx.QueryExecModeCacheDescribe
	default:
		cc.DefaultQueryExecMode = pgx.QueryExecModeDescribeExec
	}
	return cc, nil
}

// quoteDSN quotes a keyword/value DSN value.
func quoteDSN(v string) string {
	v = strings.ReplaceAll(v, `\`, `\\`)
	v = strings.ReplaceAll(v, `'`, `\'`)
	return "'" + v + "'"
}
