package msauth_test

import (
	"context"
	"log"
	"os"

	"github.com/procoresync/procoresync/storage/msauth"
	"github.com/procoresync/procoresync/storage/msgraph"
)

// ExampleAppOnlyContentTokens configures app-only access with a
// certificate credential: Graph tokens, and SharePoint tokens for the
// download URLs of tenants whose content URLs are not pre-authenticated.
func ExampleAppOnlyContentTokens() {
	ctx := context.Background()
	certPEM, err := os.ReadFile("/etc/procoresync/graph-app.crt")
	if err != nil {
		log.Fatal(err)
	}
	keyPEM, err := os.ReadFile("/etc/procoresync/graph-app.key")
	if err != nil {
		log.Fatal(err)
	}
	cert, err := msauth.ParseCertificate(certPEM, keyPEM)
	if err != nil {
		log.Fatal(err)
	}
	const tenant, appID = "contoso.onmicrosoft.com", "00000000-0000-0000-0000-000000000000"
	c, err := msgraph.NewClient(msgraph.Options{
		TokenSource:   msauth.AppOnlyCertSource(ctx, msauth.Global, tenant, appID, cert),
		ContentTokens: msauth.AppOnlyContentTokens(ctx, msauth.Global, tenant, appID, cert),
	})
	if err != nil {
		log.Fatal(err)
	}
	_ = c
}
