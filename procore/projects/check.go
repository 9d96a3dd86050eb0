package projects

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"net/http"
	"path"
	"strconv"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/internal/httpclient"
	"github.com/procoresync/procoresync/procore"
	"github.com/procoresync/procoresync/storage"
	"github.com/procoresync/procoresync/storage/box"
	"github.com/procoresync/procoresync/storage/dropbox"
	"github.com/procoresync/procoresync/storage/msauth"
	"github.com/procoresync/procoresync/storage/msgraph"
)

// CheckStep names one step of a connection check.
type CheckStep string

// The steps of the connection checks, in the order they run.
const (
	// CheckCredentials: the service's token endpoint gives a token for the
	// credentials (or, without a token source, the target's root can be
	// read with them).
	CheckCredentials CheckStep = "credentials"
	// CheckCompany: the Procore company is visible to the app.
	CheckCompany CheckStep = "company"
	// CheckProject: the Procore project is visible in that company.
	CheckProject CheckStep = "project"
	// CheckTool: one page of a tool of the project can be listed.
	CheckTool CheckStep = "tool"
	// CheckFolder: the target folder exists and is a folder.
	CheckFolder CheckStep = "folder"
	// CheckWritable: a probe file can be created in the target folder and
	// deleted again.
	CheckWritable CheckStep = "writable"
)

// DefaultCheckTimeout bounds a whole connection check when CheckOptions
// sets no Timeout.
const DefaultCheckTimeout = 60 * time.Second

// CheckResult is the outcome of one step.
type CheckResult struct {
	Step CheckStep
	// Subject is what the step checked: "company 42", "project 1001",
	// "RFIs", "folder Procore/".
	Subject string
	// OK is true when the step passed; Skipped when an earlier step
	// failed, so that this one could not run.
	OK, Skipped bool
	// Message says what was verified or, for a failure, exactly what is
	// wrong ("Procore rejected the client credentials (401
	// invalid_client)"). It never holds a secret.
	Message string
	// Err is the error behind a failure (typed: errors.Is against the
	// storage and procore errors), nil otherwise.
	Err error `json:"-"`
}

// CheckReport is the outcome of the connection check of one service.
type CheckReport struct {
	// Service names the service checked ("Procore", "SharePoint").
	Service string
	// Results are the steps, in the order they ran.
	Results []CheckResult
}

// OK reports whether every step passed.
func (r CheckReport) OK() bool {
	for _, x := range r.Results {
		if !x.OK {
			return false
		}
	}
	return len(r.Results) > 0
}

// Failed returns the first step that failed, or nil.
func (r CheckReport) Failed() *CheckResult {
	for i := range r.Results {
		if !r.Results[i].OK && !r.Results[i].Skipped {
			return &r.Results[i]
		}
	}
	return nil
}

// String lists the steps, one a line: "ok", "FAILED" or "skipped", the
// step, its subject and its message.
func (r CheckReport) String() string {
	var b strings.Builder
	for _, x := range r.Results {
		state := "ok"
		switch {
		case x.Skipped:
			state = "skipped"
		case !x.OK:
			state = "FAILED"
		}
		fmt.Fprintf(&b, "%s %-7s %s %s: %s\n", r.Service, state, x.Step, x.Subject, x.Message)
	}
	return b.String()
}

// add appends a result.
func (r *CheckReport) add(step CheckStep, subject string, err error, format string, args ...any) bool {
	r.Results = append(r.Results, CheckResult{Step: step, Subject: subject, OK: err == nil, Err: err,
		Message: fmt.Sprintf(format, args...)})
	return err == nil
}

// skip appends a step that could not run.
func (r *CheckReport) skip(step CheckStep, subject, why string) {
	r.Results = append(r.Results, CheckResult{Step: step, Subject: subject, Skipped: true, Message: why})
}

// CheckProcoreOptions say what CheckProcore checks.
type CheckProcoreOptions struct {
	// Client is the Procore client to check; its CompanyID is the company
	// checked (required).
	Client *procore.Client
	// TokenSource is the token source the Client was made with (e.g.
	// procore.Config.ClientCredentials): the credentials step asks it for
	// a token. Without it, the company step tells whether the Client's
	// calls are authorised.
	TokenSource oauth2.TokenSource
	// ProjectID is the project checked (0: the company only).
	ProjectID int64
	// Tools are the tools whose listing is checked (one page of each);
	// CompanyDocuments needs no ProjectID.
	Tools []Tool
	// Timeout bounds the whole check (default DefaultCheckTimeout).
	Timeout time.Duration
}

// CheckProcore checks a Procore connection step by step: the credentials
// give a token (POST /oauth/token); the company is among those the app
// sees (GET /rest/v1.0/companies); the project is visible in it (GET
// /rest/v1.0/projects/{id}); and each tool lists one page (its index
// endpoint), which tells whether the app's permissions on the tool let it
// read. A step that fails says exactly what is wrong, and the steps that
// depend on it are reported skipped. The check reads only; whether the
// app may write to a two-way tool cannot be told without writing, except
// for a Documents root that Procore reports read-only.
func CheckProcore(ctx context.Context, o CheckProcoreOptions) CheckReport {
	rep := CheckReport{Service: "Procore"}
	if o.Client == nil {
		rep.add(CheckCredentials, "client", errors.New("no client"), "no Procore client was given to check")
		return rep
	}
	ctx, cancel := context.WithTimeout(ctx, cmpTimeout(o.Timeout))
	defer cancel()
	c := o.Client
	company := "company " + strconv.FormatInt(c.CompanyID, 10)
	project := "project " + strconv.FormatInt(o.ProjectID, 10)
	skipRest := func(from CheckStep, why string) {
		steps := []CheckStep{CheckCredentials, CheckCompany, CheckProject}
		past := false
		for _, s := range steps {
			if s == from {
				past = true
				continue
			}
			if !past {
				continue
			}
			switch s {
			case CheckCompany:
				rep.skip(s, company, why)
			case CheckProject:
				if o.ProjectID != 0 {
					rep.skip(s, project, why)
				}
			}
		}
		for _, t := range o.Tools {
			rep.skip(CheckTool, toolName(t), why)
		}
	}

	if o.TokenSource != nil {
		tok, err := httpclient.TokenFor(ctx, o.TokenSource)
		if err == nil && (tok == nil || tok.AccessToken == "") {
			err = errors.New("empty access token")
		}
		if !rep.add(CheckCredentials, "app", err, "%s", credentialsMessage("Procore", err)) {
			skipRest(CheckCredentials, "the credentials were refused")
			return rep
		}
	}

	name, err := findCompany(ctx, c)
	if !rep.add(CheckCompany, company, err, "%s", companyMessage(c.CompanyID, name, err)) {
		skipRest(CheckCompany, "the company is not reachable")
		return rep
	}

	if o.ProjectID != 0 {
		p, _, err := c.Projects.Get(ctx, c.CompanyID, o.ProjectID)
		var msg string
		switch {
		case err == nil:
			msg = fmt.Sprintf("project %d %q is visible in company %d", o.ProjectID, p.Name, c.CompanyID)
		case errors.Is(err, storage.ErrNotFound):
			msg = fmt.Sprintf("project %d is not visible to this app in company %d: it does not exist there, or the app's "+
				"service account is not permitted on it (%s)", o.ProjectID, c.CompanyID, statusOf(err))
		case errors.Is(err, storage.ErrPermissionDenied):
			msg = fmt.Sprintf("project %d of company %d refuses this app (%s): add the app's service account to the project",
				o.ProjectID, c.CompanyID, statusOf(err))
		default:
			msg = apiMessage("Procore", "reading project "+strconv.FormatInt(o.ProjectID, 10), err)
		}
		if !rep.add(CheckProject, project, err, "%s", msg) {
			skipRest(CheckProject, "the project is not reachable")
			return rep
		}
	}

	for _, t := range o.Tools {
		if !t.Known() {
			rep.add(CheckTool, string(t), fmt.Errorf("unknown tool %q", t), "%q is not a tool this package knows", t)
			continue
		}
		if !t.CompanyLevel() && o.ProjectID == 0 {
			rep.skip(CheckTool, toolName(t), "no project was given")
			continue
		}
		readOnly, err := listTool(ctx, c, o.ProjectID, t)
		var msg string
		switch {
		case err == nil && readOnly:
			msg = fmt.Sprintf("%s can be listed, but Procore reports its root folder read-only for this app: "+
				"changes made in the target cannot be written back", toolName(t))
		case err == nil:
			msg = fmt.Sprintf("%s can be listed", toolName(t))
		case errors.Is(err, storage.ErrPermissionDenied):
			msg = fmt.Sprintf("this app has no permission on the %s tool of %s (%s): give its service account at least "+
				"read-only access to %s (standard for two-way tools)", toolName(t), toolScope(t, o.ProjectID, c.CompanyID),
				statusOf(err), toolName(t))
		case errors.Is(err, storage.ErrNotFound):
			msg = fmt.Sprintf("the %s tool of %s is not enabled or not visible to this app (%s)", toolName(t),
				toolScope(t, o.ProjectID, c.CompanyID), statusOf(err))
		default:
			msg = apiMessage("Procore", "listing "+toolName(t), err)
		}
		if readOnly && err == nil {
			// A warning, not a failure, for a one-way tool.
			if t.TwoWay() {
				err = fmt.Errorf("%s: %w", toolName(t), storage.ErrPermissionDenied)
			}
		}
		rep.add(CheckTool, toolName(t), err, "%s", msg)
	}
	return rep
}

// cmpTimeout returns d, or DefaultCheckTimeout when d is not positive.
func cmpTimeout(d time.Duration) time.Duration {
	if d <= 0 {
		return DefaultCheckTimeout
	}
	return d
}

// toolName is the tool's folder name ("RFIs", "Daily Log").
func toolName(t Tool) string {
	if f := t.Folder(); f != "" {
		return f
	}
	return string(t)
}

// toolScope says whose tool t is.
func toolScope(t Tool, projectID, companyID int64) string {
	if t.CompanyLevel() {
		return "company " + strconv.FormatInt(companyID, 10)
	}
	return "project " + strconv.FormatInt(projectID, 10)
}

// findCompany looks for the client's company among those the app sees and
// returns its name; a company not listed is an error matching
// storage.ErrNotFound.
func findCompany(ctx context.Context, c *procore.Client) (string, error) {
	var seen []string
	for co, err := range c.Companies.All(ctx) {
		if err != nil {
			return "", err
		}
		if co.ID == c.CompanyID {
			return co.Name, nil
		}
		if len(seen) < 5 {
			seen = append(seen, fmt.Sprintf("%q (%d)", co.Name, co.ID))
		}
	}
	return strings.Join(seen, ", "), storage.NewError("stat", "", storage.ErrNotFound,
		fmt.Errorf("company %d is not among the companies the app sees", c.CompanyID))
}

// companyMessage says what the company step found.
func companyMessage(id int64, name string, err error) string {
	var nf *storage.Error
	switch {
	case err == nil:
		return fmt.Sprintf("company %d %q is visible to this app", id, name)
	case errors.As(err, &nf) && errors.Is(err, storage.ErrNotFound):
		if name == "" {
			return fmt.Sprintf("company %d is not visible to this app: the app sees no company (install it in the "+
				"company's App Management)", id)
		}
		return fmt.Sprintf("company %d is not visible to this app (it sees %s): install the app in that company", id, name)
	case errors.Is(err, storage.ErrNotFound):
		return fmt.Sprintf("company %d is not visible to this app (%s): check the company ID and that the app is "+
			"installed in the company", id, statusOf(err))
	case errors.Is(err, storage.ErrPermissionDenied):
		return fmt.Sprintf("company %d refuses this app (%s): the app is not installed or not connected in the company",
			id, statusOf(err))
	case errors.Is(err, procore.ErrUnauthorized):
		return credentialsMessage("Procore", err)
	}
	return apiMessage("Procore", "listing companies", err)
}

// listTool lists one page of tool t and reports whether Procore says the
// app may only read it (a Documents root marked read_only).
func listTool(ctx context.Context, c *procore.Client, projectID int64, t Tool) (readOnly bool, err error) {
	one := procore.ListOptions{Page: 1, PerPage: 1}
	rec := &procore.RecordListOptions{ListOptions: one}
	first := func(seq func(func(struct{}, error) bool)) error {
		for _, err := range seq {
			return err
		}
		return nil
	}
	switch t {
	case Documents, CompanyDocuments:
		sc := procore.ProjectScope(projectID)
		if t == CompanyDocuments {
			sc = procore.CompanyScope(c.CompanyID)
		}
		f, _, err := c.Folders.Root(ctx, sc, &procore.FolderOptions{ExcludeFiles: true})
		if err != nil {
			return false, err
		}
		return f.ReadOnly, nil
	case Photos:
		_, _, err = c.ImageCategories.List(ctx, projectID, &one)
	case Drawings:
		_, _, err = c.Drawings.ListAreas(ctx, projectID, &one)
	case DailyLog:
		day := time.Now().UTC().Format(time.DateOnly)
		_, _, err = c.DailyLogs.List(ctx, projectID, procore.DailyLogTypes[0],
			&procore.DailyLogListOptions{ListOptions: one, LogDate: day})
	case RFIs:
		err = first(drop(c.RFIs.List(ctx, projectID, rec)))
	case Submittals:
		err = first(drop(c.Submittals.List(ctx, projectID, rec)))
	case Forms:
		err = first(drop(c.Forms.List(ctx, projectID, rec)))
	case Observations:
		err = first(drop(c.Observations.List(ctx, projectID, rec)))
	case Inspections:
		err = first(drop(c.Inspections.List(ctx, projectID, rec)))
	case Incidents:
		err = first(drop(c.Incidents.List(ctx, projectID, rec)))
	case Commitments:
		err = first(drop(c.Commitments.List(ctx, procore.PurchaseOrderContracts, projectID,
			&procore.CommitmentListOptions{RecordListOptions: *rec})))
	default:
		err = fmt.Errorf("unknown tool %q", t)
	}
	return false, err
}

// drop turns an iterator of records into one of their errors only.
func drop[T any](seq func(func(T, error) bool)) func(func(struct{}, error) bool) {
	return func(yield func(struct{}, error) bool) {
		for _, err := range seq {
			if !yield(struct{}{}, err) {
				return
			}
		}
	}
}

// CheckTargetOptions say what CheckTarget checks.
type CheckTargetOptions struct {
	// Target is the target to check (required); its Name labels the
	// report.
	Target Target
	// TokenSource, when set, is the token source of the target's
	// connector (msauth, box.Config, dropbox.Config): the credentials step
	// asks it for a token. Without it, the credentials step reads the
	// target's root.
	TokenSource oauth2.TokenSource
	// Folder is the target folder, relative to the target's root (e.g.
	// "Procore"; "" is the root itself).
	Folder string
	// Timeout bounds the whole check (default DefaultCheckTimeout).
	Timeout time.Duration
}

// ProbePrefix starts the name of the probe files CheckTarget creates (and
// deletes) in a target folder.
const ProbePrefix = ".procoresync-probe-"

// CheckTarget checks a target step by step: its credentials (a token from
// TokenSource, and its root can be read); that Folder exists and is a
// folder; and that it is writable: a uniquely named probe file
// (ProbePrefix plus random hex) is created in it and deleted again, the
// delete conditional on the version that was created, so that nothing but
// the probe is ever removed. A step that fails says exactly what is wrong
// and the steps that depend on it are reported skipped.
func CheckTarget(ctx context.Context, o CheckTargetOptions) CheckReport {
	if o.Target == nil {
		rep := CheckReport{Service: "target"}
		rep.add(CheckCredentials, "target", errors.New("no target"), "no target was given to check")
		return rep
	}
	svc := o.Target.Name()
	rep := CheckReport{Service: svc}
	ctx, cancel := context.WithTimeout(ctx, cmpTimeout(o.Timeout))
	defer cancel()
	folder := strings.Trim(path.Clean("/"+o.Folder), "/")
	subject := "folder " + folder + "/"
	if folder == "" {
		subject = "the root folder"
	}
	skipRest := func(from CheckStep, why string) {
		if from == CheckCredentials {
			rep.skip(CheckFolder, subject, why)
		}
		rep.skip(CheckWritable, subject, why)
	}

	if o.TokenSource != nil {
		tok, err := httpclient.TokenFor(ctx, o.TokenSource)
		if err == nil && (tok == nil || tok.AccessToken == "") {
			err = errors.New("empty access token")
		}
		if !rep.add(CheckCredentials, "account", err, "%s", credentialsMessage(svc, err)) {
			skipRest(CheckCredentials, "the credentials were refused")
			return rep
		}
	}
	root, err := o.Target.Open(ctx, "")
	var rootEntry storage.Entry
	if err == nil {
		rootEntry, err = root.Stat(ctx, "")
	}
	var msg string
	switch {
	case err == nil:
		msg = fmt.Sprintf("%s accepts the credentials and its root can be read", svc)
	case isAuthError(err):
		msg = credentialsMessage(svc, err)
	case errors.Is(err, storage.ErrNotFound):
		msg = fmt.Sprintf("the root of %s does not exist (%s): check the site, library, drive or folder it names",
			svc, statusOf(err))
	case errors.Is(err, storage.ErrPermissionDenied):
		msg = fmt.Sprintf("the root of %s cannot be read with these credentials (%s): grant the account access to it",
			svc, statusOf(err))
	default:
		msg = apiMessage(svc, "reading the root", err)
	}
	if o.TokenSource == nil || err != nil {
		if !rep.add(CheckCredentials, "account", err, "%s", msg) {
			skipRest(CheckCredentials, "the target cannot be read")
			return rep
		}
	}

	dir := rootEntry
	if folder != "" {
		dir, err = root.Stat(ctx, folder)
		if err == nil && !dir.IsDir {
			err = storage.NewError("stat", folder, storage.ErrNotDir, nil)
		}
	}
	switch {
	case err == nil:
		msg = fmt.Sprintf("%s exists in %s", subject, svc)
	case errors.Is(err, storage.ErrNotDir):
		msg = fmt.Sprintf("%s is a file in %s, not a folder", strings.TrimPrefix(subject, "folder "), svc)
	case errors.Is(err, storage.ErrNotFound):
		msg = fmt.Sprintf("%s does not exist in %s (or this account cannot see it): create it or correct the path",
			subject, svc)
	case errors.Is(err, storage.ErrPermissionDenied):
		msg = fmt.Sprintf("%s cannot be read by this account in %s (%s)", subject, svc, statusOf(err))
	default:
		msg = apiMessage(svc, "reading "+subject, err)
	}
	if !rep.add(CheckFolder, subject, err, "%s", msg) {
		skipRest(CheckFolder, "the folder is not there")
		return rep
	}

	err = probe(ctx, root, dir)
	var pe *probeError
	switch {
	case err == nil:
		msg = fmt.Sprintf("%s is writable: a probe file was created and deleted", subject)
	case errors.As(err, &pe) && pe.created:
		msg = fmt.Sprintf("%s is writable, but the probe file %s could not be deleted (%s): delete it by hand",
			subject, pe.name, describe(pe.err))
	case errors.Is(err, storage.ErrPermissionDenied):
		msg = fmt.Sprintf("%s is read-only for this account in %s (%s)", subject, svc, statusOf(err))
	case errors.Is(err, storage.ErrQuotaExceeded):
		msg = fmt.Sprintf("%s cannot take new files: the storage quota of %s is exhausted (%s)", subject, svc, statusOf(err))
	case errors.Is(err, storage.ErrLocked):
		msg = fmt.Sprintf("%s is locked in %s (%s)", subject, svc, statusOf(err))
	default:
		msg = apiMessage(svc, "writing a probe file into "+subject, err)
	}
	rep.add(CheckWritable, subject, err, "%s", msg)
	return rep
}

// probeError is a failure of the writable probe.
type probeError struct {
	name    string
	created bool // the probe exists: its deletion failed
	err     error
}

func (e *probeError) Error() string {
	if e.created {
		return "deleting probe file " + e.name + ": " + e.err.Error()
	}
	return "creating probe file " + e.name + ": " + e.err.Error()
}

func (e *probeError) Unwrap() error { return e.err }

// probe creates a uniquely named file in dir and deletes exactly it: the
// delete carries the ID and version the creation returned, so that a file
// someone replaced it with meanwhile is not deleted.
func probe(ctx context.Context, root storage.Storage, dir storage.Entry) error {
	var rnd [12]byte
	_, _ = rand.Read(rnd[:])
	name := ProbePrefix + hex.EncodeToString(rnd[:]) + ".txt"
	body := "procoresync connection check: this file is deleted at once; delete it if it is left here\n"
	e, err := root.Put(ctx, dir, name, strings.NewReader(body), int64(len(body)), storage.PutOptions{NoOverwrite: true})
	if err != nil {
		return &probeError{name: name, err: err}
	}
	// Delete with a context of its own, so that a deadline hit by the
	// creation does not leave the probe behind.
	dctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 30*time.Second)
	defer cancel()
	if err := root.Delete(dctx, e); err != nil && !errors.Is(err, storage.ErrNotFound) {
		return &probeError{name: name, created: true, err: err}
	}
	return nil
}

// isAuthError reports whether err says the credentials or the token were
// refused.
func isAuthError(err error) bool {
	if _, _, ok := tokenRefusal(err); ok {
		return true
	}
	return statusCode(err) == http.StatusUnauthorized || errors.Is(err, procore.ErrUnauthorized)
}

// tokenRefusal returns the status and OAuth code of a refusal by a token
// endpoint.
func tokenRefusal(err error) (status int, code string, ok bool) {
	var pe *procore.OAuthError
	var me *msauth.TokenError
	var be *box.AuthError
	var re *oauth2.RetrieveError
	switch {
	case errors.As(err, &pe):
		return pe.StatusCode, pe.Code, true
	case errors.As(err, &me):
		return me.StatusCode, me.Code, true
	case errors.As(err, &be):
		return be.StatusCode, be.Code, true
	case errors.As(err, &re):
		st := 0
		if re.Response != nil {
			st = re.Response.StatusCode
		}
		return st, re.ErrorCode, true
	}
	return 0, "", false
}

// statusCode returns the HTTP status an API error carries (0: none).
func statusCode(err error) int {
	var pe *procore.ErrorResponse
	var ge *msgraph.Error
	var be *box.Error
	var de *dropbox.APIError
	switch {
	case errors.As(err, &pe):
		return pe.StatusCode
	case errors.As(err, &ge):
		return ge.StatusCode
	case errors.As(err, &be):
		return be.StatusCode
	case errors.As(err, &de):
		return de.Status
	}
	return 0
}

// apiCode returns the service's error code an API error carries.
func apiCode(err error) string {
	var pe *procore.ErrorResponse
	var ge *msgraph.Error
	var be *box.Error
	var de *dropbox.APIError
	switch {
	case errors.As(err, &pe):
		return pe.Code
	case errors.As(err, &ge):
		return ge.Code
	case errors.As(err, &be):
		return be.Code
	case errors.As(err, &de):
		return strings.Join(de.Tags, "/")
	}
	return ""
}

// statusOf says "403 forbidden", "404", or the error's kind when it
// carries no status.
func statusOf(err error) string {
	var pe *probeError
	if errors.As(err, &pe) {
		err = pe.err
	}
	if st, code, ok := tokenRefusal(err); ok {
		return strings.TrimSpace(strconv.Itoa(st) + " " + code)
	}
	if st := statusCode(err); st != 0 {
		return strings.TrimSpace(strconv.Itoa(st) + " " + apiCode(err))
	}
	var se *storage.Error
	if errors.As(err, &se) && se.Kind != nil {
		return se.Kind.Error()
	}
	return describe(err)
}

// credentialsMessage says what the credentials step of svc found.
func credentialsMessage(svc string, err error) string {
	if err == nil {
		return svc + " accepts the credentials: a token was issued"
	}
	if st, code, ok := tokenRefusal(err); ok {
		what := "the credentials"
		switch code {
		case "invalid_client", "unauthorized_client":
			what = "the client credentials"
		case "invalid_grant":
			what = "the grant (refresh token, authorization code or assertion); sign in again"
		}
		return fmt.Sprintf("%s rejected %s (%s)", svc, what, strings.TrimSpace(strconv.Itoa(st)+" "+code))
	}
	if statusCode(err) == http.StatusUnauthorized || errors.Is(err, procore.ErrUnauthorized) {
		return fmt.Sprintf("%s rejected the access token (%s): the app was disconnected, or the token was revoked",
			svc, statusOf(err))
	}
	return apiMessage(svc, "getting a token", err)
}

// apiMessage describes a failure that is none of the expected refusals.
func apiMessage(svc, doing string, err error) string {
	switch {
	case errors.Is(err, context.DeadlineExceeded):
		return fmt.Sprintf("%s did not answer in time while %s", svc, doing)
	case errors.Is(err, context.Canceled):
		return fmt.Sprintf("the check was cancelled while %s", doing)
	case errors.Is(err, storage.ErrThrottled):
		return fmt.Sprintf("%s is throttling this app (%s) while %s: try again later", svc, statusOf(err), doing)
	}
	if st := statusCode(err); st != 0 {
		return fmt.Sprintf("%s answered %s while %s", svc, statusOf(err), doing)
	}
	return fmt.Sprintf("%s could not be reached while %s: %s", svc, doing, describe(err))
}

// describe is the error's text without URLs' query strings or userinfo.
func describe(err error) string {
	if err == nil {
		return ""
	}
	return httpclient.RedactError(err, true).Error()
}
