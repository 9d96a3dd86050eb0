package msauth

import (
	"testing"

	"github.com/procoresync/procoresync/storage/internal/graph"
	"github.com/stretchr/testify/require"
)

// The public clouds and scopes are the ones the Graph client uses.
func TestSameAsGraph(t *testing.T) {
	require.Equal(t, []graph.Cloud{graph.Global, graph.USGov, graph.USGovDoD, graph.Germany, graph.China},
		[]graph.Cloud{Global.graph(), USGov.graph(), USGovDoD.graph(), Germany.graph(), China.graph()})
	require.Equal(t, graph.DefaultDelegatedScopes, DefaultDelegatedScopes)
}
