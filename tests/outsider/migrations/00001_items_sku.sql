-- The outsider's own SQL migration: a partial index AutoMigrate cannot express.

-- +goose Up
CREATE UNIQUE INDEX idx_outsider_items_sku ON outsider_items (sku) WHERE NOT retired;

-- +goose Down
DROP INDEX idx_outsider_items_sku;
