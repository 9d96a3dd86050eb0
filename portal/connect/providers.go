// Package connect connects the portal to the accounts it syncs: the OAuth
// 2.0 authorization code flow with state and PKCE (S256) for Procore,
// Microsoft, Box and Dropbox, with the system's or custom client
// credentials and, for Procore, the login domain (production, sandbox,
// Federal Zone). Tokens and custom client secrets are kept encrypted at
// rest (secretbox) and are never returned once stored.
package connect

import (
	"fmt"
	"net/url"
	"strings"
)

// Provider is a service the portal connects to.
type Provider string

// Providers.
const (
	Procore   Provider = "procore"
	Microsoft Provider = "microsoft"
	Box       Provider = "box"
	Dropbox   Provider = "dropbox"
)

// Providers lists the providers in the order a portal offers them.
var Providers = []Provider{Procore, Microsoft, Box, Dropbox}

// Valid reports whether p is a known provider.
func (p Provider) Valid() bool {
	switch p {
	case Procore, Microsoft, Box, Dropbox:
		return true
	}
	return false
}

// Title is the provider's display name.
func (p Provider) Title() string {
	switch p {
	case Procore:
		return "Procore"
	case Microsoft:
		return "Microsoft 365"
	case Box:
		return "Box"
	case Dropbox:
		return "Dropbox"
	}
	return string(p)
}

// Procore login domains.
const (
	DomainProduction     = "production"      // login.procore.com, api.procore.com
	DomainSandbox        = "sandbox"         // login-sandbox.procore.com, sandbox.procore.com
	DomainMonthlySandbox = "monthly-sandbox" // login-sandbox-monthly.procore.com, api-monthly.procore.com
	DomainFederal        = "federal"         // the Federal Zone: login.procoregov.com, api.procoregov.com
)

// Microsoft clouds (the Domain of a Microsoft connection).
const (
	DomainGlobal = "global" // login.microsoftonline.com, graph.microsoft.com
	DomainUSGov  = "usgov"  // login.microsoftonline.us, graph.microsoft.us
)

// Endpoint is where a provider's OAuth pages, token endpoint and API are.
type Endpoint struct {
	AuthURL  string
	TokenURL string
	// APIURL is the base of the API the connection test calls.
	APIURL string
}

// Domains returns the login domains of provider p (the first is the
// default).
func Domains(p Provider) []string {
	switch p {
	case Procore:
		return []string{DomainProduction, DomainSandbox, DomainMonthlySandbox, DomainFederal}
	case Microsoft:
		return []string{DomainGlobal, DomainUSGov}
	case Box, Dropbox:
		return []string{DomainProduction}
	}
	return nil
}

// DefaultEndpoint returns the real service's endpoint of provider p in
// domain (""; the default) and, for Microsoft, tenant ("" is "organizations").
func DefaultEndpoint(p Provider, domain, tenant string) (Endpoint, error) {
	if domain == "" && len(Domains(p)) > 0 {
		domain = Domains(p)[0]
	}
	switch p {
	case Procore:
		hosts := map[string][2]string{
			DomainProduction:     {"https://login.procore.com", "https://api.procore.com"},
			DomainSandbox:        {"https://login-sandbox.procore.com", "https://sandbox.procore.com"},
			DomainMonthlySandbox: {"https://login-sandbox-monthly.procore.com", "https://api-monthly.procore.com"},
			DomainFederal:        {"https://login.procoregov.com", "https://api.procoregov.com"},
		}
		h, ok := hosts[domain]
		if !ok {
			return Endpoint{}, fmt.Errorf("connect: unknown Procore domain %q: %w", domain, ErrBadRequest)
		}
		return Endpoint{AuthURL: h[0] + "/oauth/authorize", TokenURL: h[0] + "/oauth/token", APIURL: h[1]}, nil
	case Microsoft:
		if tenant == "" {
			tenant = "organizations"
		}
		if !validTenant(tenant) {
			return Endpoint{}, fmt.Errorf("connect: invalid Microsoft tenant %q: %w", tenant, ErrBadRequest)
		}
		login, graph := "https://login.microsoftonline.com", "https://graph.microsoft.com"
		switch domain {
		case DomainGlobal:
		case DomainUSGov:
			login, graph = "https://login.microsoftonline.us", "https://graph.microsoft.us"
		default:
			return Endpoint{}, fmt.Errorf("connect: unknown Microsoft cloud %q: %w", domain, ErrBadRequest)
		}
		base := login + "/" + url.PathEscape(tenant) + "/oauth2/v2.0"
		return Endpoint{AuthURL: base + "/authorize", TokenURL: base + "/token", APIURL: graph + "/v1.0"}, nil
	case Box:
		return Endpoint{AuthURL: "https://account.box.com/api/oauth2/authorize", TokenURL: "https://api.box.com/oauth2/token",
			APIURL: "https://api.box.com/2.0"}, nil
	case Dropbox:
		return Endpoint{AuthURL: "https://www.dropbox.com/oauth2/authorize", TokenURL: "https://api.dropboxapi.com/oauth2/token",
			APIURL: "https://api.dropboxapi.com/2"}, nil
	}
	return Endpoint{}, fmt.Errorf("connect: unknown provider %q: %w", p, ErrBadRequest)
}

// validTenant accepts a tenant GUID, a domain name or one of the
// multi-tenant aliases.
func validTenant(t string) bool {
	if len(t) == 0 || len(t) > 256 {
		return false
	}
	for _, r := range t {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || strings.ContainsRune("-.", r)) {
			return false
		}
	}
	return true
}

// defaultScopes are the scopes asked for when the request names none.
func defaultScopes(p Provider) []string {
	switch p {
	case Microsoft:
		return []string{"offline_access", "User.Read", "Files.ReadWrite.All", "Sites.ReadWrite.All"}
	case Dropbox:
		return []string{"account_info.read", "files.metadata.read", "files.metadata.write", "files.content.read",
			"files.content.write"}
	}
	return nil
}
