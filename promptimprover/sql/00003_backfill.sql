-- Lower-case stored emails. Idempotent: a second run changes nothing. A row whose email only
-- differs in case from another row's is left alone (lower-casing it would break the unique
-- index idx_users_email); such pairs need a person to merge them.

-- +goose Up
UPDATE users AS u
SET email = lower(u.email)
WHERE u.email <> lower(u.email)
  AND NOT EXISTS (
    SELECT 1 FROM users AS o
    WHERE o.id <> u.id AND lower(o.email) = lower(u.email)
  );

-- +goose Down
-- Nothing to undo: the original case is not kept.
