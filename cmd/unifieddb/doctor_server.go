package main

import (
	"context"

	"github.com/prompt-improver/unifieddb/datalayer"
)

// oldestTestedServer is the oldest PostgreSQL (server_version_num) the
// project's tests run on (make test-versions: 14 to 18).
const oldestTestedServer = 140000

// server reports the primary's PostgreSQL version, warning on one older
// than the oldest the project is tested on.
func (d *doctor) server(ctx context.Context) {
	var v struct {
		Num     int
		Version string
	}
	err := d.s.m.Conn(ctx, datalayer.ReadWrite).Raw(`SELECT
  current_setting('server_version_num')::int AS num,
  current_setting('server_version') AS version`).Scan(&v).Error
	if err != nil {
		d.add("fail", "server", "reading server_version_num: %v", err)
		return
	}
	status, detail := serverFinding(v.Num, v.Version)
	d.add(status, "server", "%s", detail)
}

// serverFinding is the server check's status and detail for a primary of
// that server_version_num and server_version.
func serverFinding(num int, version string) (status, detail string) {
	if num < oldestTestedServer {
		return "warn", "PostgreSQL " + version + " on the primary: older than 14, the oldest version unifieddb is tested on (14 to 18)"
	}
	return "ok", "PostgreSQL " + version + " on the primary (tested: 14 to 18)"
}
