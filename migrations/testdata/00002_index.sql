-- +goose Up
CREATE INDEX idx_widgets_active_name ON widgets (name) WHERE active;

-- +goose Down
DROP INDEX idx_widgets_active_name;
