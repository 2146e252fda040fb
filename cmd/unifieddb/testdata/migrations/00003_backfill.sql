-- +goose Up
UPDATE cli_notes SET body = trim(body) WHERE body <> trim(body);

-- +goose Down
-- Nothing to undo.
