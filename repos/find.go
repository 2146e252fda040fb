package repos

import "context"

// FindOne returns one row matching every filter (any one when several do:
// filter on a unique column). No such row is an error wrapping ErrNotFound.
// Typed repositories build their lookups on it (FindByEmail).
func (r *Repository[T]) FindOne(ctx context.Context, filters ...Filter) (*T, error) {
	const op = "find_one"
	if err := r.check(op, false); err != nil {
		return nil, err
	}
	db, err := r.where(r.read(ctx), op, filters)
	if err != nil {
		return nil, err
	}
	var v T
	if err := db.Take(&v).Error; err != nil {
		return nil, r.fail(ctx, op, err)
	}
	return &v, nil
}
