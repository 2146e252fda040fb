package plugin

import (
	"context"
	"testing"
)

// A write that finishes while a read asks the primary for its WAL position
// may not be in that position: the next read must ask again.
func TestReadYourWritesKeepsAWriteThatFinishesDuringTheLSNQuery(t *testing.T) {
	ctx := WithReadYourWrites(context.Background())
	st := rywFrom(ctx)
	primaryLSN := int64(100)
	asked := 0
	current := func(context.Context) (int64, error) {
		asked++
		lsn := primaryLSN
		if asked == 1 {
			// The server answered; a second write commits (at 200) and
			// marks the context before this read records the answer.
			primaryLSN = 200
			wrote(ctx, nil)
		}
		return lsn, nil
	}

	wrote(ctx, nil)
	if got, _ := st.target(ctx, current); got != 100 {
		t.Fatalf("first read: target %d, want 100", got)
	}
	if got, _ := st.target(ctx, current); got != 200 {
		t.Fatalf("second read: target %d, want 200 (the write that finished during the first read's query)", got)
	}
	if got, _ := st.target(ctx, current); got != 200 || asked != 2 {
		t.Fatalf("third read: target %d after %d questions, want 200 after 2", got, asked)
	}
}
