// Package fakeservice is the machinery procoresync's fake services
// (procoretest, graphtest, and the Box and Dropbox fakes) share, so that
// they speak one vocabulary: call counts by operation and by host, one
// Fault type (status, Retry-After, connection reset, truncation, latency,
// after N calls), access tokens that expire on the fake's clock, a clock
// that moves when the code under test sleeps, and the recording of every
// request and response for contract tests.
//
// A fake serves each call through Service.Serve, which counts it, applies
// any injected fault, runs the fake's handler into a buffer, shows the
// exchange to the observer and then sends the response, or drops the
// connection as the fault says. What each vendor's API looks like (paths,
// error bodies, status codes) stays in the fake.
package fakeservice
