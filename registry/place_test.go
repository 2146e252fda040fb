package registry

import (
	"errors"
	"testing"
)

type placedA struct{ ID uint }
type placedB struct{ ID uint }

func TestPlace(t *testing.T) {
	r := New()
	if err := r.Place("events", &placedA{}); err != nil {
		t.Fatal(err)
	}
	if c, ok := r.ClusterOf(placedA{}); !ok || c != "events" {
		t.Fatalf("ClusterOf = %q, %v; want events", c, ok)
	}
	if _, ok := r.Lookup(&placedA{}); !ok {
		t.Fatal("Place registers the model")
	}
	if _, ok := r.ClusterOf(&placedB{}); ok {
		t.Fatal("a model never placed has no cluster")
	}
	if err := r.Place("events", &placedA{}); err != nil {
		t.Fatalf("placing again on the same cluster: %v", err)
	}
	err := r.Place("other", &placedB{}, &placedA{})
	if !errors.Is(err, ErrPlaced) {
		t.Fatalf("placing on a second cluster: %v, want ErrPlaced", err)
	}
	if _, ok := r.ClusterOf(&placedB{}); ok {
		t.Fatal("nothing of a refused call is placed")
	}
	if c, ok := r.Clone().ClusterOf(&placedA{}); !ok || c != "events" {
		t.Fatalf("a clone keeps the placements: %q, %v", c, ok)
	}
	if err := r.Place("", &placedB{}); err == nil {
		t.Fatal("an empty cluster name is refused")
	}
}

func TestClusterOfTable(t *testing.T) {
	r := New()
	if err := r.Register(&placedB{}); err != nil {
		t.Fatal(err)
	}
	if err := r.Place("events", &placedA{}); err != nil {
		t.Fatal(err)
	}
	if c, ok := r.ClusterOfTable("placed_as"); !ok || c != "events" {
		t.Fatalf("ClusterOfTable(placed_as) = %q, %v; want events", c, ok)
	}
	if _, ok := r.ClusterOfTable("placed_bs"); ok {
		t.Fatal("a registered model never placed has no cluster")
	}
	if _, ok := r.ClusterOfTable("nope"); ok {
		t.Fatal("an unknown table has no cluster")
	}
}
