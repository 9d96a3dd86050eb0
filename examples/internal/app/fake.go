package app

import (
	"bytes"
	"fmt"
	"strings"

	"github.com/procoresync/procoresync/procore/procoretest"
	"github.com/procoresync/procoresync/storage/graphtest"
)

// ProjectName is the name of the fake construction project.
const ProjectName = "Tower 3 - Riverside"

// Fakes are the in-process Procore and Microsoft Graph fakes.
type Fakes struct {
	Procore *procoretest.Server
	Graph   *graphtest.Server
	// Drive is the target drive: the SharePoint library or the OneDrive.
	Drive string
	// ProjectID is the fake construction project.
	ProjectID int64
}

// StartFakes starts both fakes, adds the construction project and a
// SharePoint site "sites/Projects", and points c at them (the same code
// then talks to the fakes as it would to the real services).
func StartFakes(c *Config) *Fakes {
	f := &Fakes{
		// An app with the budget the engine's default limiter assumes
		// (syncengine.ProcoreBudget); the fake's own defaults follow the
		// smaller figures of Procore's current documentation.
		Procore: procoretest.New(procoretest.Options{HourlyLimit: 3600, SpikeLimit: 100}),
		Graph:   graphtest.New(graphtest.Options{}),
	}
	f.ProjectID = f.Procore.AddProject(f.Procore.CompanyID, ProjectName)
	site := f.Graph.AddSite(graphtest.SharePointHost, "sites/Projects", "Projects")
	c.ProcoreClientID, c.ProcoreClientSecret = f.Procore.ClientID, f.Procore.ClientSecret
	c.ProcoreAPIURL, c.ProcoreAuthURL = f.Procore.URL, f.Procore.URL
	c.ProcoreCompanyID, c.ProcoreProjectID = f.Procore.CompanyID, f.ProjectID
	c.MSTenant, c.MSClientID, c.MSClientSecret = "contoso.onmicrosoft.com", "procoresync-example", "fake-secret"
	c.MSLoginURL, c.MSGraphURL = f.Graph.LoginURL(), strings.TrimSuffix(f.Graph.BaseURL(), "/v1.0")
	switch c.Target {
	case OneDrive:
		c.OneDriveUser = graphtest.MeUPN
		f.Drive = f.Graph.MyDriveID()
	default:
		c.SiteHost, c.SitePath = graphtest.SharePointHost, "sites/Projects"
		f.Drive = f.Graph.SiteDrives(site)[0]
	}
	return f
}

// Close stops both fakes.
func (f *Fakes) Close() {
	f.Procore.Close()
	f.Graph.Close()
}

// Docs names the fake project's Documents tool.
func (f *Fakes) Docs() procoretest.Docs { return procoretest.ProjectDocs(f.ProjectID) }

// LargeFileSize is the size of the drawing set in the seeded project:
// larger than the Graph connector's simple-upload limit, so that it goes
// through an upload session.
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

func pdf(text string) []byte {
	return []byte("%PDF-1.7\n% " + text + "\n" + strings.Repeat("stream of drawing data\n", 2000) + "%%EOF\n")
}

func jpeg(name string) []byte {
	return append([]byte{0xFF, 0xD8, 0xFF, 0xE0}, bytes.Repeat([]byte(fmt.Sprint(name, " pixels ")), 4000)...)
}
