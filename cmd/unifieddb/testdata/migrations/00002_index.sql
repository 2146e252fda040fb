-- +goose Up
CREATE INDEX idx_cli_notes_open ON cli_notes (id) WHERE NOT done;

-- +goose Down
DROP INDEX idx_cli_notes_open;
