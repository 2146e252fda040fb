package unifieddb_test

import (
	"errors"
	"os/exec"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/goleak"

	"github.com/prompt-improver/unifieddb"
	"github.com/prompt-improver/unifieddb/datalayer"
	"github.com/prompt-improver/unifieddb/internal/testenv"
	"github.com/prompt-improver/unifieddb/models"
	"github.com/prompt-improver/unifieddb/repos"
)

// wireCmd runs the wire command at the version of go.mod, through the module
// proxy or the module cache, without touching go.mod or go.sum.
var wireCmd = []string{"run", "github.com/google/wire/cmd/wire@v0.7.0"}

// TestWireGenIsCurrent fails when wire_gen.go is not what Wire generates from
// wire.go and the provider sets today. Regenerate with `make generate` (go run
// github.com/google/wire/cmd/wire@v0.7.0 gen .) and commit the result.
func TestWireGenIsCurrent(t *testing.T) {
	if out, err := exec.Command("go", append(wireCmd, "help")...).CombinedOutput(); err != nil {
		t.Skipf("the wire command cannot be run here (offline, no module cache?): %v\n%s", err, out)
	}
	out, err := exec.Command("go", append(wireCmd, "diff", ".")...).CombinedOutput()
	var exit *exec.ExitError
	switch {
	case err == nil:
	case errors.As(err, &exit) && exit.ExitCode() == 1:
		t.Fatalf("wire_gen.go is stale: regenerate it (make generate, or go run github.com/google/wire/cmd/wire@v0.7.0 gen .) and commit it.\n%s", out)
	default:
		t.Fatalf("wire diff: %v\n%s", err, out)
	}
}

// The injector builds every repository on one Manager, and its cleanup
// closes every pool and stops every goroutine the Manager started.
func TestInitializeRepositoriesCleanupClosesEveryPool(t *testing.T) {
	c := testCluster(t)
	ctx := testCtx(t)
	cfg := testenv.Config(c)

	before := goleak.IgnoreCurrent()
	r, cleanup, err := unifieddb.InitializeRepositories(ctx, cfg)
	require.NoError(t, err)
	require.NotNil(t, r.Manager)
	require.NotNil(t, r.Users)
	require.NotNil(t, r.Prompts)
	require.NotNil(t, r.Sessions)
	// The injector assembles prompt-improver explicitly: its models
	// registered, its SQL migrations handed.
	assert.Equal(t, []string{"users", "prompts", "improvement_sessions"}, r.Manager.Registry().Tables())
	runner, err := r.Manager.Migrations()
	require.NoError(t, err)
	pending, err := runner.Pending(ctx)
	require.NoError(t, err)
	assert.Equal(t, 3, pending)
	require.NoError(t, runner.Close())

	// Open connections in every pool: Transactional (migration), write,
	// replica reads, Batch (CreateMany).
	require.NoError(t, r.Manager.Registry().AutoMigrate(r.Manager.Conn(ctx, datalayer.Transactional)))
	rctx := datalayer.WithReadYourWrites(ctx)
	u := models.User{Name: "wired", Email: "wired@example.com", Active: true}
	require.NoError(t, r.Users.Create(rctx, &u))
	got, err := r.Users.Get(rctx, u.ID)
	require.NoError(t, err)
	assert.Equal(t, "wired", got.Name)
	require.NoError(t, r.Prompts.CreateMany(rctx, []models.Prompt{{UserID: u.ID, Title: "t", Body: "b"}}))
	_, err = r.Users.ListActive(ctx, repos.Page{Limit: 10})
	require.NoError(t, err)
	n, err := r.Sessions.Count(ctx)
	require.NoError(t, err)
	assert.Zero(t, n)

	cleanup()
	goleak.VerifyNone(t, before)
	_, err = r.Users.Get(ctx, u.ID)
	assert.ErrorIs(t, err, datalayer.ErrClosed)
}

func TestInitializeRepositoriesRejectsABadConfig(t *testing.T) {
	cfg := datalayer.DefaultConfig() // no database name
	r, cleanup, err := unifieddb.InitializeRepositories(testCtx(t), cfg)
	require.ErrorIs(t, err, datalayer.ErrInvalidConfig)
	assert.Nil(t, r)
	assert.Nil(t, cleanup)
}
