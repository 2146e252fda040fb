package repos

import (
	"context"

	"gorm.io/gorm"

	"github.com/prompt-improver/unifieddb/models"
)

// PromptRepository is the repository of models.Prompt.
type PromptRepository struct {
	*Repository[models.Prompt]
}

// NewPromptRepository returns the prompt repository on db, the Manager's DB.
func NewPromptRepository(db *gorm.DB) *PromptRepository {
	return &PromptRepository{New[models.Prompt](db)}
}

// WithTx returns a copy of r whose calls all run on tx (see Repository.WithTx).
func (r *PromptRepository) WithTx(tx *gorm.DB) *PromptRepository {
	return &PromptRepository{r.Repository.WithTx(tx)}
}

// ListByUser returns one page of a user's prompts, by primary key.
func (r *PromptRepository) ListByUser(ctx context.Context, userID uint, page Page) ([]models.Prompt, error) {
	return r.List(ctx, ListOptions{Filters: []Filter{Eq("UserID", userID)}, Page: page})
}

// SessionRepository is the repository of models.ImprovementSession.
type SessionRepository struct {
	*Repository[models.ImprovementSession]
}

// NewSessionRepository returns the improvement-session repository on db, the
// Manager's DB.
func NewSessionRepository(db *gorm.DB) *SessionRepository {
	return &SessionRepository{New[models.ImprovementSession](db)}
}

// WithTx returns a copy of r whose calls all run on tx (see Repository.WithTx).
func (r *SessionRepository) WithTx(tx *gorm.DB) *SessionRepository {
	return &SessionRepository{r.Repository.WithTx(tx)}
}

// ListByPrompt returns one page of a prompt's improvement sessions, by
// primary key.
func (r *SessionRepository) ListByPrompt(ctx context.Context, promptID uint, page Page) ([]models.ImprovementSession, error) {
	return r.List(ctx, ListOptions{Filters: []Filter{Eq("PromptID", promptID)}, Page: page})
}
