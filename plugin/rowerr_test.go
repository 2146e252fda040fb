package plugin

import (
	"context"
	"errors"
	"testing"
)

func TestErrRowCarriesTheError(t *testing.T) {
	want := &PoolTimeoutError{Node: "n", Pool: "read", MaxOpen: 1}
	ctx, cancel := context.WithCancel(context.Background())
	cancel() // a done context must not replace the error
	row := errRow(ctx, want)
	if err := row.Err(); !errors.Is(err, ErrPoolTimeout) {
		t.Fatalf("Err() = %v, want ErrPoolTimeout", err)
	}
	var v int
	if err := row.Scan(&v); !errors.Is(err, ErrPoolTimeout) {
		t.Fatalf("Scan() = %v, want ErrPoolTimeout", err)
	}
	if err := errRow(context.Background(), nil).Err(); err == nil {
		t.Fatal("errRow(nil) gives no error")
	}
}
