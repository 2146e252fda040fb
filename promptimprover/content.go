package promptimprover

import (
	"context"

	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/models"
	"github.com/prompt-improver/unifieddb/repos"
)

// PromptRepository is the repository of models.Prompt.
type PromptRepository struct {
	*repos.Repository[models.Prompt]
}

// NewPromptRepository returns the prompt repository on db, the Manager's DB.
func NewPromptRepository(db *gorm.DB) *PromptRepository {
	return &PromptRepository{repos.New[models.Prompt](db)}
}

// WithTx returns a copy of r whose calls all run on tx (see Repository.WithTx).
func (r *PromptRepository) WithTx(tx *gorm.DB) *PromptRepository {
	return &PromptRepository{r.Repository.WithTx(tx)}
}

// ListByUser returns one page of a user's prompts, by primary key.
func (r *PromptRepository) ListByUser(ctx context.Context, userID uint, page repos.Page) ([]models.Prompt, error) {
	return r.List(ctx, repos.ListOptions{Filters: []repos.Filter{repos.Eq("UserID", userID)}, Page: page})
}

// SessionRepository is the repository of models.ImprovementSession.
type SessionRepository struct {
	*repos.Repository[models.ImprovementSession]
}

// NewSessionRepository returns the improvement-session repository on db, the
// Manager's DB.
func NewSessionRepository(db *gorm.DB) *SessionRepository {
	return &SessionRepository{repos.New[models.ImprovementSession](db)}
}

// WithTx returns a copy of r whose calls all run on tx (see Repository.WithTx).
func (r *SessionRepository) WithTx(tx *gorm.DB) *SessionRepository {
	return &SessionRepository{r.Repository.WithTx(tx)}
}

// ListByPrompt returns one page of a prompt's improvement sessions, by
// primary key.
func (r *SessionRepository) ListByPrompt(ctx context.Context, promptID uint, page repos.Page) ([]models.ImprovementSession, error) {
	return r.List(ctx, repos.ListOptions{Filters: []repos.Filter{repos.Eq("PromptID", promptID)}, Page: page})
}
