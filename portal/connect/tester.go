package connect

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net/http"
	"strings"
	"time"

	"golang.org/x/oauth2"
)

// TestResult is the outcome of a connection test: OK, or the step that
// failed and a message saying exactly what is wrong (never a secret).
type TestResult struct {
	OK   bool      `json:"ok"`
	Time time.Time `json:"time"`
	// Step names the failed step: "token" (the stored token could not be
	// refreshed or read), "account" (the provider refused the token), or a
	// step of a custom Tester.
	Step    string `json:"step,omitempty"`
	Message string `json:"message"`
	// Account names who the connection acts as, when the test got that
	// far.
	Account string `json:"account,omitempty"`
}

// TestTarget is what a Tester tests.
type TestTarget struct {
	Connection Connection
	Endpoint   Endpoint
	Tokens     oauth2.TokenSource
	HTTP       *http.Client
}

// Tester tests a connection.
type Tester interface {
	Test(ctx context.Context, t TestTarget) TestResult
}

// DefaultTester gets a token (refreshing it if needed) and asks the
// provider who the token belongs to: Procore GET /rest/v1.0/me, Microsoft
// Graph GET /me/drive (the signed-in user's OneDrive, which also shows
// that files can be reached), Box GET /users/me, Dropbox POST
// /users/get_current_account.
type DefaultTester struct{}

// Test implements Tester.
func (DefaultTester) Test(ctx context.Context, t TestTarget) TestResult {
	title := t.Connection.Provider.Title()
	tok, err := t.Tokens.Token()
	if err != nil {
		return TestResult{Step: "token", Message: fmt.Sprintf("%s refused to renew the sign-in (%s); connect the account again",
			title, describeOAuthError(err))}
	}
	var req *http.Request
	switch t.Connection.Provider {
	case Procore:
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, t.Endpoint.APIURL+"/rest/v1.0/me", nil)
	case Microsoft:
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, t.Endpoint.APIURL+"/me/drive", nil)
	case Box:
		req, err = http.NewRequestWithContext(ctx, http.MethodGet, t.Endpoint.APIURL+"/users/me", nil)
	case Dropbox:
		req, err = http.NewRequestWithContext(ctx, http.MethodPost, t.Endpoint.APIURL+"/users/get_current_account",
			strings.NewReader("null"))
		if err == nil {
			req.Header.Set("Content-Type", "application/json")
		}
	default:
		return TestResult{Step: "account", Message: "unknown provider"}
	}
	if err != nil {
		return TestResult{Step: "account", Message: fmt.Sprintf("%s API address is not valid", title)}
	}
	tok.SetAuthHeader(req)
	resp, err := t.HTTP.Do(req)
	if err != nil {
		var te interface{ Timeout() bool }
		if errors.As(err, &te) && te.Timeout() {
			return TestResult{Step: "account", Message: fmt.Sprintf("%s did not answer in time", title)}
		}
		return TestResult{Step: "account", Message: fmt.Sprintf("%s could not be reached", title)}
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(io.LimitReader(resp.Body, 64<<10))
	switch {
	case resp.StatusCode == http.StatusUnauthorized:
		return TestResult{Step: "account", Message: fmt.Sprintf("%s rejected the access token (401); connect the account again", title)}
	case resp.StatusCode == http.StatusForbidden:
		return TestResult{Step: "account", Message: fmt.Sprintf("%s refused access (403): the app lacks the permission to read the signed-in account", title)}
	case resp.StatusCode == http.StatusTooManyRequests:
		return TestResult{Step: "account", Message: fmt.Sprintf("%s is rate limiting this app (429); try again later", title)}
	case resp.StatusCode/100 != 2:
		return TestResult{Step: "account", Message: fmt.Sprintf("%s answered %d to the account look-up", title, resp.StatusCode)}
	}
	who := accountName(t.Connection.Provider, body)
	msg := fmt.Sprintf("Connection test succeeded: signed in to %s", title)
	if who != "" {
		msg += " as " + who
	}
	return TestResult{OK: true, Message: msg, Account: who}
}

// accountName picks the signed-in account's name out of a who-am-I
// answer.
func accountName(p Provider, body []byte) string {
	var v map[string]any
	if jsonUnmarshal(body, &v) != nil {
		return ""
	}
	str := func(m map[string]any, k string) string {
		s, _ := m[k].(string)
		return oneLine(strings.TrimSpace(s))
	}
	switch p {
	case Procore:
		return first(str(v, "login"), str(v, "name"))
	case Microsoft:
		if o, ok := v["owner"].(map[string]any); ok {
			if u, ok := o["user"].(map[string]any); ok {
				return first(str(u, "email"), str(u, "displayName"))
			}
		}
	case Box:
		return first(str(v, "login"), str(v, "name"))
	case Dropbox:
		if e := str(v, "email"); e != "" {
			return e
		}
		if n, ok := v["name"].(map[string]any); ok {
			return str(n, "display_name")
		}
	}
	return ""
}

func first(ss ...string) string {
	for _, s := range ss {
		if s != "" {
			return s
		}
	}
	return ""
}
