-- +goose Up
UPDATE widgets SET name = lower(name) WHERE name <> lower(name);

-- +goose Down
-- Nothing to undo.
