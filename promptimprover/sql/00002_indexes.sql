-- Indexes AutoMigrate cannot express. Assumes AutoMigrate has created the tables.

-- +goose Up
-- Active users looked up by email (UserRepository.FindByEmail / ListActive).
CREATE INDEX IF NOT EXISTS idx_users_active_email ON users (email) WHERE active;
-- Sessions of a prompt by status.
CREATE INDEX IF NOT EXISTS idx_improvement_sessions_prompt_status ON improvement_sessions (prompt_id, status);

-- +goose Down
DROP INDEX IF EXISTS idx_improvement_sessions_prompt_status;
DROP INDEX IF EXISTS idx_users_active_email;
