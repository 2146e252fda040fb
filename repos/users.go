package repos

import (
	"context"

	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/models"
)

// UserRepository is the repository of models.User with the user queries.
type UserRepository struct {
	*Repository[models.User]
}

// NewUserRepository returns the user repository on db, the Manager's DB.
func NewUserRepository(db *gorm.DB) *UserRepository {
	return &UserRepository{New[models.User](db)}
}

// WithTx returns a copy of r whose calls all run on tx (see Repository.WithTx).
func (r *UserRepository) WithTx(tx *gorm.DB) *UserRepository {
	return &UserRepository{r.Repository.WithTx(tx)}
}

// FindByEmail returns the user with that email (exact match). None is an
// error wrapping ErrNotFound.
func (r *UserRepository) FindByEmail(ctx context.Context, email string) (*models.User, error) {
	const op = "find_by_email"
	if err := r.check(op, false); err != nil {
		return nil, err
	}
	db, err := r.where(r.read(ctx), op, []Filter{Eq("Email", email)})
	if err != nil {
		return nil, err
	}
	var u models.User
	if err := db.Take(&u).Error; err != nil {
		return nil, r.fail(ctx, op, err)
	}
	return &u, nil
}

// ListActive returns one page of active users, by primary key.
func (r *UserRepository) ListActive(ctx context.Context, page Page) ([]models.User, error) {
	return r.List(ctx, ListOptions{Filters: []Filter{Eq("Active", true)}, Page: page})
}

// Deactivate sets Active to false on the user with that id. No such user is
// an error wrapping ErrNotFound.
func (r *UserRepository) Deactivate(ctx context.Context, id uint) error {
	return r.Update(ctx, &models.User{ID: id}, "Active")
}
