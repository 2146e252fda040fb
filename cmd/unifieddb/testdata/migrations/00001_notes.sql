-- Migrations of the CLI tests (migrations_dir): the tool knows no Go model.

-- +goose Up
CREATE TABLE cli_notes (id bigserial PRIMARY KEY, body text NOT NULL, done boolean NOT NULL DEFAULT false);

-- +goose Down
DROP TABLE cli_notes;
