package main

import (
	"github.com/procoresync/procoresync/examples/internal/app"
	"github.com/procoresync/procoresync/portal/connect"
)

// fakeEndpoints point the connections at the in-process fakes: their
// sign-in pages, token endpoints and APIs stand where the real services'
// are.
func fakeEndpoints(f *app.Fakes, c *app.Config) map[connect.Provider]connect.Endpoint {
	m := map[connect.Provider]connect.Endpoint{
		connect.Procore: {AuthURL: f.Procore.URL + "/oauth/authorize", TokenURL: f.Procore.URL + "/oauth/token", APIURL: f.Procore.URL},
	}
	switch {
	case f.Graph != nil:
		base := f.Graph.LoginURL() + "/" + c.MSTenant + "/oauth2/v2.0"
		m[connect.Microsoft] = connect.Endpoint{AuthURL: base + "/authorize", TokenURL: base + "/token", APIURL: f.Graph.BaseURL()}
	case f.Box != nil:
		m[connect.Box] = connect.Endpoint{AuthURL: f.Box.AuthorizeURL(), TokenURL: f.Box.TokenURL(), APIURL: f.Box.BaseURL()}
	case f.Dropbox != nil:
		m[connect.Dropbox] = connect.Endpoint{AuthURL: f.Dropbox.AuthorizeURL(), TokenURL: f.Dropbox.TokenURL(),
			APIURL: f.Dropbox.API.URL + "/2"}
	}
	return m
}
