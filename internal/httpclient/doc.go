// Package httpclient is the HTTP plumbing every procoresync API client
// shares (Procore, Microsoft Graph, and the connectors written on them):
// a default transport with timeouts, the retry policy on
// hashicorp/go-retryablehttp with a retry budget, Retry-After parsing on an
// injected clock, a per-tenant throttle gate, pacing through a
// storage.Pacer, URL redaction that keeps secrets out of errors, JSON
// decoding with a size limit, bounded pagination, and the rules for where a
// bearer token may go.
//
// The clients keep their own vocabulary for what is theirs (error shapes,
// endpoints, token sources); what is here behaves the same for all of them.
package httpclient
