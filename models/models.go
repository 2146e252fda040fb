// Package models holds the domain models of prompt-improver, the library's first application.
// Importing it registers nothing: the application opts in explicitly (promptimprover.Register,
// or registry.Register(models.All()...)).
package models

import "time"

// User is a person who owns prompts.
//
// Active has no gorm default tag on purpose: GORM leaves out zero values of fields that have a
// default, so Active: false would be stored as the default.
type User struct {
	ID        uint      `gorm:"primaryKey"`
	Name      string    `gorm:"not null"`
	Email     string    `gorm:"not null;uniqueIndex:idx_users_email"`
	Active    bool      `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
	UpdatedAt time.Time `gorm:"not null"`
}

// TableName pins the table name whatever the naming strategy; SQL migrations rely on it.
func (User) TableName() string { return "users" }

// Prompt is a text a user wants improved. Deleting the user deletes its prompts.
type Prompt struct {
	ID        uint      `gorm:"primaryKey"`
	UserID    uint      `gorm:"not null;index"`
	User      *User     `gorm:"constraint:OnDelete:CASCADE"`
	Title     string    `gorm:"not null"`
	Body      string    `gorm:"not null"`
	CreatedAt time.Time `gorm:"not null"`
	UpdatedAt time.Time `gorm:"not null"`
}

// TableName pins the table name whatever the naming strategy; SQL migrations rely on it.
func (Prompt) TableName() string { return "prompts" }

// ImprovementSession is one attempt at improving a prompt. Deleting the prompt deletes its
// sessions.
type ImprovementSession struct {
	ID           uint      `gorm:"primaryKey"`
	PromptID     uint      `gorm:"not null;index"`
	Prompt       *Prompt   `gorm:"constraint:OnDelete:CASCADE"`
	Status       string    `gorm:"not null"`
	ImprovedText string    `gorm:"not null"`
	Score        float64   `gorm:"not null"`
	CreatedAt    time.Time `gorm:"not null"`
	UpdatedAt    time.Time `gorm:"not null"`
}

// TableName pins the table name whatever the naming strategy; SQL migrations rely on it.
func (ImprovementSession) TableName() string { return "improvement_sessions" }

// All returns a new zero value (a pointer) of every model, in dependency order.
func All() []any {
	return []any{&User{}, &Prompt{}, &ImprovementSession{}}
}
