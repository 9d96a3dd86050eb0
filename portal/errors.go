package portal

import (
	"errors"
	"fmt"
)

// Typed errors of the service layer. The HTTP API maps them to statuses
// (401, 403, 404, 400, 409, 429).
var (
	// ErrUnauthenticated: the call has no signed-in account.
	ErrUnauthenticated = errors.New("portal: not signed in")
	// ErrForbidden: the account's role does not allow the call.
	ErrForbidden = errors.New("portal: not allowed for this role")
	// ErrNotFound: the project, pair, item, account or connection does
	// not exist.
	ErrNotFound = errors.New("portal: not found")
	// ErrInvalid: the input is not valid; an *InputError says which field.
	ErrInvalid = errors.New("portal: invalid input")
	// ErrConflict: the change conflicts with the current state.
	ErrConflict = errors.New("portal: conflict")
	// ErrUnavailable: a feature the call needs is not configured (no
	// XLSX writer, no ProjectManager, no connections).
	ErrUnavailable = errors.New("portal: not available")
)

// InputError is ErrInvalid for one field.
type InputError struct {
	Field  string
	Reason string
}

func (e *InputError) Error() string { return fmt.Sprintf("portal: invalid %s: %s", e.Field, e.Reason) }

// Unwrap makes errors.Is(err, ErrInvalid) hold.
func (e *InputError) Unwrap() error { return ErrInvalid }

func invalid(field, reason string) error { return &InputError{Field: field, Reason: reason} }
