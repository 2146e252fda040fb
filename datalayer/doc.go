// Package datalayer is what an application imports to use unifieddb: the
// unified configuration (Config, LoadConfig, ParseConfig, the legacy layout's
// migration), the Manager (one GORM handle in front of a PostgreSQL primary
// and its replicas, routing each statement by Mode), its health reports and
// metrics, and the errors to test with errors.Is.
//
// A Manager routes; it does not change what GORM does. Every GORM call made
// through m.DB() or m.Conn(ctx, mode) gives the same results, errors and
// atomicity as with GORM alone, on the node the mode picks, and no call
// outlives its context. See the README for the configuration keys, the
// modes, failover and the differences from plain GORM that remain.
package datalayer
