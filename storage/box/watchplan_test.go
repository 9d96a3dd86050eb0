package box_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"golang.org/x/oauth2"

	"github.com/procoresync/procoresync/storage/box"
	"github.com/procoresync/procoresync/storage/box/boxtest"
)

// fp is folder id with ancestors anc (the root "0" first).
func fp(id string, anc ...string) box.FolderPath {
	return box.FolderPath{ID: id, Ancestors: append([]string{"0"}, anc...)}
}

func TestWebhookFolders(t *testing.T) {
	// Many pairs below a project folder each: P<i>/<tool>.
	projects := func(n int, tools ...string) []box.FolderPath {
		var out []box.FolderPath
		for i := range n {
			for _, tl := range tools {
				out = append(out, fp(fmt.Sprintf("P%d-%s", i, tl), "R", fmt.Sprintf("P%d", i)))
			}
		}
		return out
	}
	for _, tc := range []struct {
		name    string
		folders []box.FolderPath
		budget  int
		want    []string
		err     string
	}{
		{name: "none", want: []string{}},
		{name: "each pair within budget", folders: []box.FolderPath{fp("a", "R"), fp("b", "R"), fp("c", "S")}, budget: 3,
			want: []string{"a", "b", "c"}},
		{name: "a nested pair needs no webhook of its own", folders: []box.FolderPath{fp("a", "R"), fp("a1", "R", "a"), fp("a2", "R", "a", "x", "y")}, budget: 3,
			want: []string{"a"}},
		{name: "nested, the inner listed first", folders: []box.FolderPath{fp("a2", "R", "a", "x"), fp("a", "R")}, budget: 1,
			want: []string{"a"}},
		{name: "the same pair twice", folders: []box.FolderPath{fp("a", "R"), fp("a", "R")}, budget: 1, want: []string{"a"}},
		{name: "siblings under one parent, over budget: the parent", folders: []box.FolderPath{fp("a", "R", "P"), fp("b", "R", "P"), fp("c", "R", "P")}, budget: 2,
			want: []string{"P"}},
		{name: "siblings, over budget by one: one parent for two projects' pairs, the fewest extra",
			folders: projects(3, "Documents", "Photos"), budget: 5,
			want: []string{"P0", "P1-Documents", "P1-Photos", "P2-Documents", "P2-Photos"}},
		{name: "over budget by more: one common ancestor rather than three project folders", folders: projects(3, "Documents", "Photos"), budget: 3,
			want: []string{"R"}},
		{name: "two top folders over budget: one extra each", folders: append(projects(3, "D", "F"), fp("x", "S", "X"), fp("y", "S", "Y"), fp("z", "S", "Z")), budget: 2,
			want: []string{"R", "S"}},
		{name: "the deeper of two single ancestors", folders: []box.FolderPath{fp("a", "T", "R", "P"), fp("b", "T", "R", "P")}, budget: 1,
			want: []string{"P"}},
		{name: "pairs directly under the root", folders: []box.FolderPath{fp("a"), fp("b"), fp("c")}, budget: 3,
			want: []string{"a", "b", "c"}},
		{name: "pairs directly under the root, over budget", folders: []box.FolderPath{fp("a"), fp("b"), fp("c")}, budget: 2,
			err: "the 3 folders lie below 3 folders just under the root, more than the budget of 2 webhooks"},
		{name: "over budget: no common ancestor but the root", folders: []box.FolderPath{fp("a", "R"), fp("b", "S"), fp("c", "T", "U")}, budget: 2,
			err: "more than the budget of 2 webhooks"},
		{name: "a pair at the root", folders: []box.FolderPath{{ID: "0"}}, budget: 3, err: `folder "0" is the root`},
		{name: "a budget met by mixing pairs and ancestors", folders: append(projects(2, "D", "F", "G"), fp("x", "R", "X"), fp("y", "S")), budget: 5,
			want: []string{"R", "y"}},
		{name: "path_collection not from the root (a shared folder)", folders: []box.FolderPath{{ID: "a", Ancestors: []string{"Sh"}}, {ID: "b", Ancestors: []string{"Sh"}}}, budget: 1,
			want: []string{"Sh"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := box.WebhookFolders(tc.folders, tc.budget)
			if tc.err != "" {
				require.ErrorContains(t, err, tc.err)
				return
			}
			require.NoError(t, err)
			if tc.want != nil {
				require.Equal(t, tc.want, got)
			}
			requireCovered(t, tc.folders, got, tc.budget)
		})
	}
}

// requireCovered checks that every folder lies in or below a chosen one,
// none is "0", and there are at most budget (0: the default).
func requireCovered(t *testing.T, folders []box.FolderPath, chosen []string, budget int) {
	t.Helper()
	if budget <= 0 {
		budget = box.DefaultWebhookBudget
	}
	require.LessOrEqual(t, len(chosen), budget)
	set := map[string]bool{}
	for _, c := range chosen {
		require.NotEqual(t, "0", c)
		require.False(t, set[c], "%s chosen twice", c)
		set[c] = true
	}
	for _, f := range folders {
		ok := set[f.ID]
		for _, a := range f.Ancestors {
			ok = ok || set[a]
		}
		require.True(t, ok, "folder %s not covered by %v", f.ID, chosen)
	}
}

func TestWebhookFoldersDefaultBudget(t *testing.T) {
	var folders []box.FolderPath
	for i := range 500 {
		for _, tl := range []string{"D", "F"} {
			folders = append(folders, fp(fmt.Sprintf("P%d-%s", i, tl), fmt.Sprintf("P%d", i)))
		}
	}
	// 500 project folders just under the root, no common ancestor.
	got, err := box.WebhookFolders(folders, 0)
	require.NoError(t, err)
	// 1000 pairs, 900 webhooks: 100 project folders stand for 200 pairs.
	require.Len(t, got, box.DefaultWebhookBudget)
	extra := 0
	for _, g := range got {
		if len(g) < 4 || g[len(g)-2] != '-' {
			extra++
		}
	}
	require.Equal(t, 100, extra)
}

// TestFolderPath reads a folder's ancestors from its path_collection.
func TestFolderPath(t *testing.T) {
	srv := boxtest.NewServer(t, boxtest.Options{})
	c := newClient(t, srv, oauth2.StaticTokenSource(&oauth2.Token{AccessToken: srv.Token(), Expiry: time.Now().Add(time.Hour)}))
	id, err := srv.WebMkdir("Procore/Project/Documents")
	require.NoError(t, err)
	top, _ := srv.Lookup("Procore")
	proj, _ := srv.Lookup("Procore/Project")
	got, err := c.FolderPath(context.Background(), id)
	require.NoError(t, err)
	require.Equal(t, box.FolderPath{ID: id, Ancestors: []string{"0", top, proj}}, got)
}
