-- +goose Up
INSERT INTO outsider_shops (name) VALUES ('seeded');

-- +goose Down
DELETE FROM outsider_shops WHERE name = 'seeded';
