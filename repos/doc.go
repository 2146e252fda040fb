// Package repos gives applications repositories instead of *gorm.DB: a
// generic Repository[T] (Get, FindOne, List with keyset or limit/offset
// paging, Count, Create, CreateMany through COPY, Update, Delete, WithTx for
// units of work). It imports no domain model: an application builds its
// typed repositories on it in its own packages (prompt-improver's are in
// package promptimprover).
//
// Build repositories on the Manager's DB (m.DB()). Reads use Auto mode,
// writes ReadWrite, CreateMany Batch; inside WithTx everything runs on the
// transaction. Errors are *Error values: driver errors are translated at the
// boundary into ErrNotFound, ErrDuplicate, ErrConstraint and
// ErrInvalidArgument, while the datalayer sentinels (ErrReadOnly,
// ErrPoolTimeout, ErrNoPrimary, ErrOutcomeUnknown, ErrClosed, ...) and
// context errors stay testable with errors.Is.
package repos
