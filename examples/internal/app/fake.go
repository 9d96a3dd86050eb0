package app

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"path"
	"strings"
	"time"

	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/storage/box/boxtest"
	"github.com/procoresync/procoresync/storage/dropbox"
	"github.com/procoresync/procoresync/storage/dropbox/dropboxtest"
	"github.com/procoresync/procoresync/storage/graphtest"
)

// ProjectName is the name of the fake construction project.
const ProjectName = "Tower 3 - Riverside"

// Fakes are the in-process fakes of Procore and of the target: Microsoft
// Graph (SharePoint, OneDrive), Box or Dropbox; only the target's is
// started.
type Fakes struct {
	Target  Target
	Procore *procoretest.Server
	Graph   *graphtest.Server
	Box     *boxtest.Server
	Dropbox *dropboxtest.Server
	// Drive is the target drive on Graph: the SharePoint library or the
	// OneDrive.
	Drive string
	// ProjectID is the fake construction project.
	ProjectID int64
}

// StartFakes starts the Procore fake and the target's, adds the
// construction project (and on Graph a SharePoint site "sites/Projects"),
// and points c at them (the same code then talks to the fakes as it would
// to the real services): the Box fake's app and enterprise for the Client
// Credentials Grant and fresh webhook signature keys, a Dropbox app and an
// offline refresh token got through the fake's PKCE authorization.
func StartFakes(c *Config) *Fakes {
	if c.Target == "" {
		c.Target = SharePoint
	}
	f := &Fakes{
		Target: c.Target,
		// An app with the budget the engine's default limiter assumes
		// (syncengine.ProcoreBudget); the fake's own defaults follow the
		// smaller figures of Procore's current documentation.
		Procore: procoretest.New(procoretest.Options{HourlyLimit: 3600, SpikeLimit: 100}),
	}
	f.ProjectID = f.Procore.AddProject(f.Procore.CompanyID, ProjectName)
	c.ProcoreClientID, c.ProcoreClientSecret = f.Procore.ClientID, f.Procore.ClientSecret
	c.ProcoreAPIURL, c.ProcoreAuthURL = f.Procore.URL, f.Procore.URL
	c.ProcoreCompanyID, c.ProcoreProjectID = f.Procore.CompanyID, f.ProjectID
	switch c.Target {
	case Box:
		c.BoxClientID, c.BoxClientSecret, c.BoxEnterpriseID = "procoresync-example", "fake-box-secret", "900001"
		c.BoxUserID, c.BoxDeveloperToken = "", ""
		if c.BoxWebhookPrimaryKey == "" {
			c.BoxWebhookPrimaryKey, c.BoxWebhookSecondaryKey = randomHex(24), randomHex(24)
		}
		f.Box = boxtest.New(boxtest.Options{ClientID: c.BoxClientID, ClientSecret: c.BoxClientSecret, EnterpriseID: c.BoxEnterpriseID,
			PrimaryKey: c.BoxWebhookPrimaryKey, SecondaryKey: c.BoxWebhookSecondaryKey})
		c.BoxAPIURL, c.BoxUploadURL, c.BoxTokenURL = f.Box.BaseURL(), f.Box.UploadURL(), f.Box.TokenURL()
	case Dropbox:
		c.DropboxAppKey, c.DropboxAppSecret = "procoresync-example", "fake-dropbox-secret"
		f.Dropbox = dropboxtest.New(dropboxtest.Options{AppKey: c.DropboxAppKey, AppSecret: c.DropboxAppSecret})
		c.DropboxAPIURL, c.DropboxContentURL, c.DropboxNotifyURL = f.Dropbox.API.URL, f.Dropbox.Content.URL, f.Dropbox.Notify.URL
		c.DropboxTokenURL = f.Dropbox.TokenURL()
		c.DropboxRefreshToken = f.dropboxRefreshToken(c)
	default:
		f.Graph = graphtest.New(graphtest.Options{})
		site := f.Graph.AddSite(graphtest.SharePointHost, "sites/Projects", "Projects")
		c.MSTenant, c.MSClientID, c.MSClientSecret = "contoso.onmicrosoft.com", "procoresync-example", "fake-secret"
		c.MSLoginURL, c.MSGraphURL = f.Graph.LoginURL(), strings.TrimSuffix(f.Graph.BaseURL(), "/v1.0")
		if c.Target == OneDrive {
			c.OneDriveUser = graphtest.MeUPN
			f.Drive = f.Graph.MyDriveID()
		} else {
			c.SiteHost, c.SitePath = graphtest.SharePointHost, "sites/Projects"
			f.Drive = f.Graph.SiteDrives(site)[0]
		}
	}
	return f
}

// dropboxRefreshToken runs the app's authorization on the Dropbox fake
// as a person would approve it (code flow with PKCE, offline access) and
// returns the refresh token ("" if the fake refused, which Connect then
// reports).
func (f *Fakes) dropboxRefreshToken(c *Config) string {
	verifier := oauth2.GenerateVerifier()
	code := f.Dropbox.Authorize(oauth2.S256ChallengeFromVerifier(verifier))
	cfg := dropbox.Config{AppKey: c.DropboxAppKey, AppSecret: c.DropboxAppSecret,
		Endpoint: &oauth2.Endpoint{AuthURL: dropbox.Endpoint.AuthURL, TokenURL: c.DropboxTokenURL}}
	tok, err := cfg.Exchange(context.Background(), code, verifier)
	if err != nil {
		return ""
	}
	return tok.RefreshToken
}

// listening tells the fakes where the service listens: the Dropbox fake
// then notifies its /dropbox/webhook, as the webhook URI registered in the
// App Console would have it.
func (f *Fakes) listening(c *Config, addr net.Addr) {
	if u, ok := defaultPublicURL(c, addr); ok && f.Dropbox != nil {
		f.Dropbox.SetWebhookURL(u + "/dropbox/webhook")
	}
}

// Close stops the fakes.
func (f *Fakes) Close() {
	f.Procore.Close()
	switch {
	case f.Graph != nil:
		f.Graph.Close()
	case f.Box != nil:
		f.Box.Close()
	case f.Dropbox != nil:
		f.Dropbox.Close()
	}
}

// A person on the target, as in its web app. Paths are slash paths from
// the account's root (the drive's root, Box's All Files, the Dropbox root).

// WebUpload writes data as file p on the target, a new file or a new
// version, creating the folders above it.
func (f *Fakes) WebUpload(p string, data []byte) error {
	var err error
	switch {
	case f.Box != nil:
		_, err = f.Box.WebUpload(p, data)
	case f.Dropbox != nil:
		_, _, err = f.Dropbox.WebPut(dropboxtest.HomeNS, "/"+p, data)
	default:
		_, err = f.Graph.WebUpload(f.Drive, p, data)
	}
	return err
}

// WebDelete deletes p on the target (to its recycle bin or trash).
func (f *Fakes) WebDelete(p string) error {
	switch {
	case f.Box != nil:
		id, ok := f.Box.Lookup(p)
		if !ok {
			return errors.New("box: " + p + ": not found")
		}
		return f.Box.WebTrash(id)
	case f.Dropbox != nil:
		return f.Dropbox.WebDelete(dropboxtest.HomeNS, "/"+p)
	}
	return f.Graph.WebDelete(f.Drive, p)
}

// WebFile returns the content of file p on the target and whether it
// exists.
func (f *Fakes) WebFile(p string) ([]byte, bool) {
	switch {
	case f.Box != nil:
		id, ok := f.Box.Lookup(p)
		if !ok {
			return nil, false
		}
		return f.Box.Content(id)
	case f.Dropbox != nil:
		return f.Dropbox.ContentOf(dropboxtest.HomeNS, "/"+p)
	}
	return f.Graph.FileContent(f.Drive, p)
}

// WebExists reports whether file or folder p exists on the target.
func (f *Fakes) WebExists(p string) bool {
	switch {
	case f.Box != nil:
		_, ok := f.Box.Lookup(p)
		return ok
	case f.Dropbox != nil:
		_, _, ok := f.Dropbox.WebStat(dropboxtest.HomeNS, "/"+path.Clean(p))
		return ok
	}
	_, ok := f.Graph.Stat(f.Drive, p)
	return ok
}

// TargetCalls returns the calls the target's fake served.
func (f *Fakes) TargetCalls() int {
	switch {
	case f.Box != nil:
		return f.Box.CallCount("")
	case f.Dropbox != nil:
		return f.Dropbox.Calls("")
	}
	n := 0
	for _, c := range f.Graph.Calls() {
		n += c
	}
	return n
}

// TargetURL is the base URL of the target's fake API.
func (f *Fakes) TargetURL() string {
	switch {
	case f.Box != nil:
		return f.Box.BaseURL()
	case f.Dropbox != nil:
		return f.Dropbox.API.URL
	}
	return f.Graph.BaseURL()
}

// Docs names the fake project's Documents tool.
func (f *Fakes) Docs() procoretest.Docs { return procoretest.ProjectDocs(f.ProjectID) }

// LargeFileSize is the size of the drawing set in the seeded project:
// larger than the Graph connector's simple-upload limit, so that it goes
// through an upload session (on Box and Dropbox it is a single upload:
// their sessions start at 20 MB and 8 MiB).
const LargeFileSize = 5<<20 + 12345

// Seed fills the fake project as a construction company's would be: a
// nested Documents tree with drawings, specs, empty folders, names with
// special characters and trailing spaces, zero-byte files and a file
// larger than the upload-session threshold; photo albums, one named with
// special characters; and a company Documents folder. It returns the
// number of files and bytes seeded.
func (f *Fakes) Seed() (files int, size int64, err error) {
	docs := f.Docs()
	put := func(d procoretest.Docs, p string, b []byte) {
		if err == nil {
			_, err = f.Procore.UIPutFile(d, p, b)
			files++
			size += int64(len(b))
		}
	}
	for _, p := range []string{
		"01 Drawings/A - Architectural/A-101 Level 1 Floor Plan.pdf",
		"01 Drawings/A - Architectural/A-201 Elevations.pdf",
		"01 Drawings/S - Structural/S-001 General Notes.pdf",
		"01 Drawings/S - Structural/S-101 Foundation Plan.pdf",
		"01 Drawings/M - Mechanical/M-101 HVAC Level 1.pdf",
		"01 Drawings/E - Electrical/E-101 Lighting Level 1.pdf",
		"02 Specifications/Division 03/03 30 00 Cast-in-Place Concrete.pdf",
		"02 Specifications/Division 05/05 12 00 Structural Steel.pdf",
		"02 Specifications/Division 01 - General Requirements.docx",
		"03 RFIs/RFI 012 - Footing depth (Grid C-4).pdf",
		"03 RFIs/RFI Log (old).xlsx",
		"04 Contracts/Subcontract - Steel & Misc. Metals (Draft) .pdf",
		"04 Contracts/Owner's Agreement – AIA A101.pdf",
		"05 Meeting Minutes/OAC 2026-11-05.docx",
		"05 Meeting Minutes/Placeholder for next OAC.txt",
		"06 Reports/Geotechnical Report.pdf",
		"06 Reports/Façade Mock-up Review.pdf",
	} {
		body := pdf(p)
		if strings.HasSuffix(p, ".txt") {
			body = nil // zero bytes
		}
		put(docs, p, body)
	}
	put(docs, "01 Drawings/Full Drawing Set (IFC).pdf", bytes.Repeat([]byte("IFC drawing set "), LargeFileSize/16))
	for _, d := range []string{"07 Submittals/Pending", "08 Closeout/Warranties", "09 Punch List"} {
		if err == nil {
			_, err = f.Procore.UIMakeFolders(docs, d)
		}
	}
	company := procoretest.CompanyDocs(f.Procore.CompanyID)
	put(company, "Safety/Site Safety Plan 2026.pdf", pdf("safety plan"))
	put(company, "Templates/Daily Report Template.docx", pdf("daily report"))
	for _, ph := range []struct{ album, name string }{
		{`Site #3: "East" <Level 2>`, "IMG_0001.jpg"},
		{`Site #3: "East" <Level 2>`, "IMG_0002.jpg"},
		{"Level 2 Deck Pour", "IMG_0100.jpg"},
		{"Level 2 Deck Pour", "IMG_0101.jpg"},
	} {
		if err == nil {
			b := jpeg(ph.name)
			_, err = f.Procore.UIAddPhoto(f.ProjectID, ph.album, ph.name, b)
			files++
			size += int64(len(b))
		}
	}
	return files, size, err
}

// SeedRecords fills the project's one-way record tools: RFIs with questions, answers and attachments, submittals with
// reviews, drawings in two areas, an observation, an inspection, and the
// last three days of the Daily Log.
func (f *Fakes) SeedRecords() error {
	pc, pid := f.Procore, f.ProjectID
	type rec struct {
		tool                  procoretest.RecordTool
		number, title, status string
		slot, file            string
	}
	for _, r := range []rec{
		{procoretest.ToolRFIs, "12", "Footing depth at grid C-4", "open", procoretest.SlotQuestion, "C-4 footing sketch.pdf"},
		{procoretest.ToolRFIs, "13", "Ø 12 rebar at the east stair", "open", procoretest.SlotAnswer, "Stair rebar detail.pdf"},
		{procoretest.ToolRFIs, "14", "Curtain wall anchor spacing", "closed", procoretest.SlotQuestion, "Anchor layout.pdf"},
		{procoretest.ToolSubmittals, "03 30 00-1", "Concrete mix design 5000 psi", "Open", procoretest.SlotApprover, "Mix design.pdf"},
		{procoretest.ToolSubmittals, "05 12 00-2", "Structural steel shop drawings", "Open", procoretest.SlotRecord, "Shop drawings.pdf"},
		{procoretest.ToolObservations, "1", "Missing guardrail at level 2 deck", "Initiated", procoretest.SlotRecord, "guardrail.jpg"},
		{procoretest.ToolInspections, "1", "Pre-pour inspection level 2", "Open", procoretest.SlotItem, "rebar check.jpg"},
	} {
		id, err := pc.UICreateRecord(pid, r.tool, r.number, r.title, r.status)
		if err != nil {
			return err
		}
		if _, err := pc.UIAddAttachment(pid, r.tool, id, r.slot, r.file, pdf(r.file)); err != nil {
			return err
		}
	}
	tower := pc.UIAddDrawingArea(pid, "Tower")
	podium := pc.UIAddDrawingArea(pid, "Podium")
	for _, d := range []struct {
		area                      int64
		discipline, number, title string
	}{
		{tower, "Architectural", "A-101", "Level 1 Floor Plan"},
		{tower, "Architectural", "A-201", "Elevations"},
		{tower, "Structural", "S-101", "Foundation Plan"},
		{podium, "Architectural", "A-501", "Podium Plan"},
		{podium, "Mechanical", "M-101", "HVAC Level 1"},
	} {
		if _, _, err := pc.UIAddDrawing(pid, d.area, d.discipline, d.number, d.title, nil); err != nil {
			return err
		}
	}
	_, err := pc.SeedDailyLogs(pid, time.Now().UTC().Format("2006-01-02"), 3)
	return err
}

func pdf(text string) []byte {
	return []byte("%PDF-1.7\n% " + text + "\n" + strings.Repeat("stream of drawing data\n", 2000) + "%%EOF\n")
}

func jpeg(name string) []byte {
	return append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte(fmt.Sprint(name, " pixels ")), 4000)...)
}
