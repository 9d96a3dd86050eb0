package msauth

import (
	"testing"

	"github.com/procoresync/procoresync/storage/internal/msidentity"
	"github.com/stretchr/testify/require"
)

// The public clouds and scopes are the ones the Graph client uses.
func TestSameAsGraph(t *testing.T) {
	require.Equal(t, []msidentity.Cloud{msidentity.Global, msidentity.USGov, msidentity.USGovDoD, msidentity.Germany, msidentity.China},
		[]msidentity.Cloud{Global.id(), USGov.id(), USGovDoD.id(), Germany.id(), China.id()})
	require.Equal(t, msidentity.DefaultDelegatedScopes, DefaultDelegatedScopes)
}
