package plugin

import (
	"context"
	"database/sql"
	"errors"
	"syscall"
	"testing"

	"github.com/stretchr/testify/assert"
	"gorm.io/gorm"
)

// writeOutcome turns an error met while a write's RETURNING rows were read
// into ErrOutcomeUnknown, and leaves everything else as it is.
func TestWriteOutcome(t *testing.T) {
	ended, cancel := context.WithCancel(context.Background())
	cancel()
	reset := &opError{syscall.ECONNRESET}
	write, read := &route{}, &route{read: true}
	cases := []struct {
		name    string
		pool    gorm.ConnPool
		ctx     context.Context
		err     error
		unknown bool
	}{
		{"reset while scanning a write's rows", write, context.Background(), reset, true},
		{"context ended while scanning a write's rows", write, ended, context.Canceled, true},
		{"context error with the context still live", write, context.Background(), context.Canceled, false},
		{"a server error", write, context.Background(), errors.New("ERROR: duplicate key (SQLSTATE 23505)"), false},
		{"already classified", write, context.Background(), ErrNoPrimary, false},
		{"a read", read, context.Background(), reset, false},
		{"in a transaction", &sql.Tx{}, context.Background(), reset, false},
		{"no error", write, context.Background(), nil, false},
	}
	p := &Plugin{}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			db := &gorm.DB{Statement: &gorm.Statement{ConnPool: c.pool, Context: c.ctx}, Error: c.err}
			p.writeOutcome(db)
			assert.Equal(t, c.unknown, errors.Is(db.Error, ErrOutcomeUnknown), "%v", db.Error)
			if c.err != nil {
				assert.ErrorIs(t, db.Error, c.err, "the cause stays in the chain")
			}
		})
	}
}

// opError stands in for the *net.OpError pgx returns.
type opError struct{ err error }

func (e *opError) Error() string { return "read tcp: " + e.err.Error() }
func (e *opError) Unwrap() error { return e.err }
