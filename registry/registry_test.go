package registry_test

import (
	"bytes"
	"errors"
	"fmt"
	"log/slog"
	"reflect"
	"sync"
	"testing"

	"github.com/stretchr/testify/require"
	"gorm.io/gorm/schema"

	"github.com/prompt-improver/unifieddb/models"
	"github.com/prompt-improver/unifieddb/registry"
)

const pkg = "github.com/prompt-improver/unifieddb/registry_test."

type Widget struct {
	ID   uint
	Name string
}

// Gadget maps to the same table as Widget.
type Gadget struct {
	ID    uint
	Label string
}

func (Gadget) TableName() string { return "widgets" }

type NoKey struct {
	Name string
}

type Unknown struct{ Name string }

type BadRelation struct {
	ID    uint
	Owner Unknown // a struct field that is neither a relation nor a Valuer/Scanner
}

// Cycle: Chicken belongs to Egg and Egg belongs to Chicken.
type Chicken struct {
	ID    uint
	EggID *uint
	Egg   *Egg
}

type Egg struct {
	ID        uint
	ChickenID *uint
	Chicken   *Chicken
}

// Parent has many Child, but Child has no belongs-to field: the has-many side must still order
// parents before children.
type Parent struct {
	ID       uint
	Children []Child
}

type Child struct {
	ID       uint
	ParentID uint
}

func typeNames(t *testing.T, ms []any) []string {
	t.Helper()
	out := make([]string, len(ms))
	for i, m := range ms {
		v := reflect.ValueOf(m)
		require.Equal(t, reflect.Pointer, v.Kind(), "Models() returns pointers")
		out[i] = v.Elem().Type().Name()
	}
	return out
}

func TestRegisterAndLookup(t *testing.T) {
	r := registry.New()
	require.False(t, r.Strict())
	require.NoError(t, r.Register(&Widget{}))

	table, ok := r.Lookup(Widget{})
	require.True(t, ok)
	require.Equal(t, "widgets", table)
	table, ok = r.Lookup((*Widget)(nil))
	require.True(t, ok)
	require.Equal(t, "widgets", table)

	_, ok = r.Lookup(&NoKey{})
	require.False(t, ok)
	_, ok = r.Lookup(nil)
	require.False(t, ok)

	require.Equal(t, []string{"widgets"}, r.Tables())
	require.Equal(t, []string{"Widget"}, typeNames(t, r.Models()))
	require.Empty(t, r.Conflicts())
}

func TestRegisterDedupes(t *testing.T) {
	r := registry.New(registry.WithStrict(true))
	require.NoError(t, r.Register(&Widget{}))
	require.NoError(t, r.Register(&Widget{}), "same type twice is a no-op")
	require.NoError(t, r.Register(Widget{}), "value and pointer are the same model")
	require.NoError(t, r.Register(&Widget{}, Widget{}, (*Widget)(nil)), "duplicates inside one call")
	require.Equal(t, []string{"widgets"}, r.Tables())
	require.Empty(t, r.Conflicts())
}

func TestConflictStrict(t *testing.T) {
	r := registry.New(registry.WithStrict(true))
	require.True(t, r.Strict())
	require.NoError(t, r.Register(&Widget{}))

	err := r.Register(&Gadget{})
	require.ErrorIs(t, err, registry.ErrConflict)
	require.Contains(t, err.Error(), pkg+"Widget")
	require.Contains(t, err.Error(), pkg+"Gadget")
	require.Contains(t, err.Error(), "widgets")

	_, ok := r.Lookup(&Gadget{})
	require.False(t, ok, "the conflicting type is not registered")
	require.Equal(t, []string{"widgets"}, r.Tables())
	require.Empty(t, r.Conflicts(), "strict conflicts are errors, not records")
}

func TestConflictStrictIsAllOrNothing(t *testing.T) {
	r := registry.New(registry.WithStrict(true))
	err := r.Register(&models.User{}, &Widget{}, &Gadget{})
	require.ErrorIs(t, err, registry.ErrConflict)
	require.Empty(t, r.Tables(), "nothing from a failed call is registered")
}

func TestConflictNonStrict(t *testing.T) {
	var buf bytes.Buffer
	logger := slog.New(slog.NewTextHandler(&buf, nil))
	r := registry.New(registry.WithLogger(logger))

	require.NoError(t, r.Register(&Widget{}))
	require.NoError(t, r.Register(&Gadget{}), "outside strict mode a conflict is not an error")
	require.NoError(t, r.Register(&Gadget{}), "a repeated conflict is recorded once")

	table, ok := r.Lookup(&Widget{})
	require.True(t, ok, "first wins")
	require.Equal(t, "widgets", table)
	_, ok = r.Lookup(&Gadget{})
	require.False(t, ok)
	require.Equal(t, []string{"widgets"}, r.Tables())
	require.Equal(t, []registry.Conflict{{Table: "widgets", Kept: pkg + "Widget", Rejected: pkg + "Gadget"}}, r.Conflicts())

	require.Contains(t, buf.String(), "level=WARN")
	require.Contains(t, buf.String(), pkg+"Gadget")
}

func TestConflictInsideOneCall(t *testing.T) {
	r := registry.New(registry.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, r.Register(&Gadget{}, &Widget{}))
	require.Equal(t, []registry.Conflict{{Table: "widgets", Kept: pkg + "Gadget", Rejected: pkg + "Widget"}}, r.Conflicts())
}

func TestDependencyOrder(t *testing.T) {
	r := registry.New()
	require.NoError(t, r.Register(&models.ImprovementSession{}, &models.Prompt{}, &models.User{}))
	require.Equal(t, []string{"User", "Prompt", "ImprovementSession"}, typeNames(t, r.Models()))
	require.Equal(t, []string{"users", "prompts", "improvement_sessions"}, r.Tables())
}

func TestDependencyOrderKeepsRegistrationOrderForTies(t *testing.T) {
	r := registry.New()
	require.NoError(t, r.Register(&Widget{}, &models.Prompt{}, &Other{}, &models.User{}))
	require.Equal(t, []string{"widgets", "others", "users", "prompts"}, r.Tables())
}

type Other struct{ ID int64 }

func (Other) TableName() string { return "others" }

func TestDependencyOrderHasMany(t *testing.T) {
	r := registry.New()
	require.NoError(t, r.Register(&Child{}, &Parent{}))
	require.Equal(t, []string{"parents", "children"}, r.Tables())
}

func TestDependencyCycleEnds(t *testing.T) {
	r := registry.New()
	require.NoError(t, r.Register(&Egg{}, &Chicken{}))
	require.ElementsMatch(t, []string{"eggs", "chickens"}, r.Tables())
	require.Len(t, r.Models(), 2)
}

func TestInvalidModel(t *testing.T) {
	r := registry.New()

	err := r.Register(&NoKey{})
	require.ErrorIs(t, err, registry.ErrInvalidModel)
	require.Contains(t, err.Error(), pkg+"NoKey")
	require.Contains(t, err.Error(), "primary key")

	err = r.Register(&BadRelation{})
	require.ErrorIs(t, err, registry.ErrInvalidModel)
	require.Contains(t, err.Error(), pkg+"BadRelation")
	require.Contains(t, err.Error(), "Owner", "the field GORM names is in the error")

	err = r.Register(&Widget{}, &NoKey{})
	require.ErrorIs(t, err, registry.ErrInvalidModel)
	require.Empty(t, r.Tables(), "nothing from a failed call is registered")
}

func TestNilAndNonStruct(t *testing.T) {
	r := registry.New()
	var nilIface any
	n := 3
	for _, bad := range []any{nil, nilIface, 42, "users", &n, []Widget{}, map[string]any{}, struct{ ID uint }{}} {
		t.Run(fmt.Sprintf("%T", bad), func(t *testing.T) {
			var err error
			require.NotPanics(t, func() { err = r.Register(bad) })
			require.ErrorIs(t, err, registry.ErrInvalidModel)
		})
	}
	require.Empty(t, r.Tables())

	// A typed nil pointer names its type and is accepted.
	require.NoError(t, r.Register((*Widget)(nil)))
	require.Equal(t, []string{"widgets"}, r.Tables())
}

func TestConcurrentRegister(t *testing.T) {
	r := registry.New(registry.WithLogger(slog.New(slog.DiscardHandler)))
	all := []any{&models.ImprovementSession{}, &models.Prompt{}, &models.User{}, &Widget{}, &Gadget{}, Widget{}, &Parent{}, &Child{}}
	var wg sync.WaitGroup
	errs := make(chan error, 64*len(all))
	for i := range 64 {
		wg.Go(func() {
			for j := range all {
				if err := r.Register(all[(i+j)%len(all)]); err != nil {
					errs <- err
				}
				_ = r.Models()
				_, _ = r.Lookup(&models.User{})
				_ = r.Conflicts()
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		require.NoError(t, err)
	}
	tables := r.Tables()
	require.Len(t, tables, 6, "users, prompts, improvement_sessions, widgets, parents, children")
	require.Less(t, indexOf(tables, "users"), indexOf(tables, "prompts"))
	require.Less(t, indexOf(tables, "prompts"), indexOf(tables, "improvement_sessions"))
	require.Less(t, indexOf(tables, "parents"), indexOf(tables, "children"))
	require.Len(t, r.Conflicts(), 1, "Widget and Gadget: whichever came first wins")
}

func indexOf(s []string, v string) int {
	for i, x := range s {
		if x == v {
			return i
		}
	}
	return -1
}

func TestClone(t *testing.T) {
	src := registry.New(registry.WithLogger(slog.New(slog.DiscardHandler)))
	require.NoError(t, src.Register(&models.Prompt{}, &Widget{}, &Gadget{}, &models.User{}))

	c := src.Clone(registry.WithStrict(true))
	require.True(t, c.Strict())
	require.False(t, src.Strict())
	require.Equal(t, src.Tables(), c.Tables())
	require.Equal(t, src.Conflicts(), c.Conflicts())

	// The clone is independent of its source and applies its own strictness.
	require.ErrorIs(t, c.Register(&Gadget{}), registry.ErrConflict)
	require.NoError(t, c.Register(&Parent{}))
	_, ok := src.Lookup(&Parent{})
	require.False(t, ok)
	require.NoError(t, src.Register(&Child{}))
	_, ok = c.Lookup(&Child{})
	require.False(t, ok)
}

func TestCloneWithNamer(t *testing.T) {
	src := registry.New()
	require.NoError(t, src.Register(&Widget{}, &models.User{}))
	c := src.Clone(registry.WithNamer(schema.NamingStrategy{TablePrefix: "app_"}))
	// models.User pins its table name with TableName; Widget follows the namer.
	require.Equal(t, []string{"app_widgets", "users"}, c.Tables())
	require.Equal(t, []string{"widgets", "users"}, src.Tables())
}

// No package registers models by import side effect: this test imports models.
func TestDefaultRegistryHasNoModelOfItsOwn(t *testing.T) {
	for _, m := range models.All() {
		_, ok := registry.Default().Lookup(m)
		require.False(t, ok, "%T is registered by importing models", m)
	}
	require.NoError(t, registry.Register(&Gadget{}))
	require.NoError(t, registry.Register(&Gadget{}), "registering again is a no-op")
	_, ok := registry.Default().Lookup(&Gadget{})
	require.True(t, ok)
	require.False(t, registry.Default().Strict())
}

func TestErrorsAreDistinct(t *testing.T) {
	require.False(t, errors.Is(registry.ErrConflict, registry.ErrInvalidModel))
}
