package procore

// MapStorageError turns an error of the client (an *ErrorResponse, a
// *RateLimitError, …) into the *storage.Error of operation op on path p
// with the matching kind (storage.ErrNotFound for a 404, ErrThrottled for a
// 429, …), as the Documents and Photos storages report them. Storages over
// Procore built outside this package (procore/records) use it.
func MapStorageError(op, p string, err error) error { return mapErr(op, p, err) }
