package cluster

import (
	"context"
	"database/sql/driver"
	"errors"
	"io"
	"net"
	"strings"
	"syscall"

	"github.com/jackc/pgx/v5/pgconn"
)

// SQLSTATE codes the cluster acts on.
const (
	codeReadOnlyTransaction = "25006" // read_only_sql_transaction
	codeAdminShutdown       = "57P01"
	codeCrashShutdown       = "57P02"
	codeCannotConnectNow    = "57P03"
)

// SQLState returns the SQLSTATE of a server error in err's chain, or "".
func SQLState(err error) string {
	var pgErr *pgconn.PgError
	if errors.As(err, &pgErr) {
		return pgErr.Code
	}
	return ""
}

// NotSent reports whether err proves the statement never reached a server: the
// connection could not be opened, or the driver failed before sending.
func NotSent(err error) bool {
	if err == nil {
		return false
	}
	var connectErr *pgconn.ConnectError
	if errors.As(err, &connectErr) || errors.Is(err, driver.ErrBadConn) || pgconn.SafeToRetry(err) {
		return true
	}
	return SQLState(err) == codeCannotConnectNow
}

// ConnectionClass reports whether err says the node or the connection is gone
// or unusable (refused, reset, EOF, class 08, admin or crash shutdown), as
// opposed to an error in the statement itself. A context's end is not
// (context.DeadlineExceeded satisfies net.Error): the caller's deadline says
// nothing of the node. A failed connect is, whatever its cause.
func ConnectionClass(err error) bool {
	if err == nil {
		return false
	}
	if NotSent(err) {
		return true
	}
	if errors.Is(err, context.DeadlineExceeded) || errors.Is(err, context.Canceled) {
		return false
	}
	switch code := SQLState(err); {
	case code == codeAdminShutdown, code == codeCrashShutdown, code == codeCannotConnectNow:
		return true
	case strings.HasPrefix(code, "08"):
		return true
	case code != "":
		return false
	}
	var netErr net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) ||
		errors.Is(err, syscall.ECONNRESET) || errors.Is(err, syscall.ECONNREFUSED) ||
		errors.Is(err, syscall.EPIPE) || errors.As(err, &netErr) ||
		errors.Is(err, net.ErrClosed) || errors.Is(err, pgconn.ErrConnClosed)
}

// ReadOnlyRefusal reports whether the server refused a write because the
// session or the node is read-only. It proves the statement did not run.
func ReadOnlyRefusal(err error) bool { return SQLState(err) == codeReadOnlyTransaction }
