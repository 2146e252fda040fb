-- Extensions the schema relies on. pgcrypto is a trusted extension in PostgreSQL 13+, so a
-- database owner can create it without superuser rights.

-- +goose Up
CREATE EXTENSION IF NOT EXISTS pgcrypto;

-- +goose Down
DROP EXTENSION IF EXISTS pgcrypto;
