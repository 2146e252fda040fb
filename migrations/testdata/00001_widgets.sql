-- A table of the runner's own tests (the package ships no migration).

-- +goose Up
CREATE TABLE widgets (id bigserial PRIMARY KEY, name text NOT NULL, active boolean NOT NULL);

-- +goose Down
DROP TABLE widgets;
