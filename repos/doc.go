// Package repos gives applications repositories instead of *gorm.DB: a
// generic Repository[T] (Get, List with keyset or limit/offset paging,
// Count, Create, CreateMany through COPY, Update, Delete, WithTx for units of
// work) and the concrete UserRepository, PromptRepository and
// SessionRepository, with a Wire ProviderSet.
//
// Build repositories on the Manager's DB (m.DB()). Reads use Auto mode,
// writes ReadWrite, CreateMany Batch; inside WithTx everything runs on the
// transaction. Errors are *Error values: driver errors are translated at the
// boundary into ErrNotFound, ErrDuplicate, ErrConstraint and
// ErrInvalidArgument, while the datalayer sentinels (ErrReadOnly,
// ErrPoolTimeout, ErrNoPrimary, ErrOutcomeUnknown, ErrClosed, ...) and
// context errors stay testable with errors.Is.
package repos
