package pgcluster_test

import (
	"context"
	"fmt"
	"log"

	"github.com/prompt-improver/unifieddb/internal/pgcluster"
)

// A test package starts one cluster in TestMain and shares it.
func Example() {
	ctx := context.Background()
	c, err := pgcluster.Start(ctx, pgcluster.DefaultOptions())
	if err != nil {
		log.Fatal(err)
	}
	defer c.Close()

	primary := c.Node("primary")
	if err := primary.Exec(ctx, "CREATE TABLE t (id int)"); err != nil {
		log.Fatal(err)
	}

	// Fail over: crash the primary, promote replica1, make replica2 follow it
	// and bring the old primary back as a standby.
	_ = primary.Kill()
	r1 := c.Node("replica1")
	if err := r1.Promote(ctx); err != nil {
		log.Fatal(err)
	}
	if err := c.Node("replica2").Repoint(ctx, r1); err != nil {
		log.Fatal(err)
	}
	if err := primary.Repoint(ctx, r1); err != nil {
		log.Fatal(err)
	}
	p, _ := c.Primary(ctx)
	fmt.Println(p.Name()) // replica1
}
