package promptimprover

import (
	"context"

	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/models"
	"github.com/prompt-improver/unifieddb/repos"
)

// UserRepository is the repository of models.User with the user queries.
type UserRepository struct {
	*repos.Repository[models.User]
}

// NewUserRepository returns the user repository on db, the Manager's DB.
func NewUserRepository(db *gorm.DB) *UserRepository {
	return &UserRepository{repos.New[models.User](db)}
}

// WithTx returns a copy of r whose calls all run on tx (see Repository.WithTx).
func (r *UserRepository) WithTx(tx *gorm.DB) *UserRepository {
	return &UserRepository{r.Repository.WithTx(tx)}
}

// FindByEmail returns the user with that email (exact match). None is an
// error wrapping repos.ErrNotFound.
func (r *UserRepository) FindByEmail(ctx context.Context, email string) (*models.User, error) {
	return r.FindOne(ctx, repos.Eq("Email", email))
}

// ListActive returns one page of active users, by primary key.
func (r *UserRepository) ListActive(ctx context.Context, page repos.Page) ([]models.User, error) {
	return r.List(ctx, repos.ListOptions{Filters: []repos.Filter{repos.Eq("Active", true)}, Page: page})
}

// Deactivate sets Active to false on the user with that id. No such user is
// an error wrapping repos.ErrNotFound.
func (r *UserRepository) Deactivate(ctx context.Context, id uint) error {
	return r.Update(ctx, &models.User{ID: id}, "Active")
}
